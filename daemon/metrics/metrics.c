/* metrics.c - see metrics.h. */
#include "metrics/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/detector.h"
#include "core/prom.h"
#include "queue/procstat.h"

static json_t *family(json_t *root, const char *name, const char *type, const char *help)
{
	json_t *samples = json_array();
	json_object_set_new(root, name, json_pack("{ss ss so}", "type", type, "help", help, "samples", samples));
	return samples;
}

/* @labels is taken; may be NULL. */
static void sample(json_t *samples, const char *name, json_t *labels, json_t *value)
{
	json_t *s = json_pack("{so}", "value", value);
	if (!s)
		return;
	if (name)
		json_object_set_new(s, "name", json_string(name));
	if (labels)
		json_object_set_new(s, "labels", labels);
	json_array_append_new(samples, s);
}

static void single(json_t *root, const char *name, const char *type, const char *help, uint64_t v)
{
	sample(family(root, name, type, help), NULL, NULL, json_integer((json_int_t)v));
}

static json_t *queue_label(struct worker *w)
{
	char q[8];
	snprintf(q, sizeof(q), "%u", worker_queue(w));
	return json_pack("{ss}", "queue", q);
}

static void per_queue(json_t *root, const struct daemon_view *s, const char *name, const char *type,
		      const char *help, size_t off)
{
	json_t *f = family(root, name, type, help);
	for (size_t i = 0; i < s->nworkers; i++) {
		struct worker_stats st;
		uint64_t v;
		worker_get_stats(s->workers[i], &st);
		memcpy(&v, (const char *)&st + off, sizeof(v));
		sample(f, NULL, queue_label(s->workers[i]), json_integer((json_int_t)v));
	}
}

/* Prometheus wants seconds and cumulative buckets. @bucket: counts per bucket. */
static void histogram(json_t *root, const char *name, const char *help, const uint64_t *le_us, const uint64_t *bucket,
		      unsigned nb, uint64_t sum_us, uint64_t count, json_t *labels)
{
	json_t *f = json_object_get(root, name);
	json_t *samples = f ? json_object_get(f, "samples") : family(root, name, "histogram", help);
	char bname[128], le[32];
	uint64_t cum = 0;
	for (unsigned b = 0; b < nb; b++) {
		cum += bucket[b];
		if (b < nb - 1)
			snprintf(le, sizeof(le), "%g", (double)le_us[b] / 1e6);
		else
			snprintf(le, sizeof(le), "+Inf");
		json_t *l = labels ? json_deep_copy(labels) : json_object();
		json_object_set_new(l, "le", json_string(le));
		snprintf(bname, sizeof(bname), "%s_bucket", name);
		sample(samples, bname, l, json_integer((json_int_t)cum));
	}
	snprintf(bname, sizeof(bname), "%s_sum", name);
	sample(samples, bname, labels ? json_deep_copy(labels) : NULL, json_real((double)sum_us / 1e6));
	snprintf(bname, sizeof(bname), "%s_count", name);
	sample(samples, bname, labels, json_integer((json_int_t)count));
}

#define WOFF(f) offsetof(struct worker_stats, f)

static void queues(json_t *m, const struct daemon_view *s)
{
	per_queue(m, s, "nfsentry_queue_packets_total", "counter", "Packets received from the queue.", WOFF(packets));
	per_queue(m, s, "nfsentry_queue_accepted_total", "counter", "Packets given an accept verdict.", WOFF(accepted));
	per_queue(m, s, "nfsentry_queue_dropped_total", "counter", "Packets given a drop verdict.", WOFF(dropped));
	per_queue(m, s, "nfsentry_queue_decode_errors_total", "counter", "Malformed packets (verdicted all the same).",
		  WOFF(malformed));
	per_queue(m, s, "nfsentry_queue_enobufs_total", "counter", "ENOBUFS on the queue socket (messages lost).",
		  WOFF(enobufs));
	per_queue(m, s, "nfsentry_queue_id_gaps_total", "counter", "Packets missing from the id sequence (lost).",
		  WOFF(id_gaps));
	per_queue(m, s, "nfsentry_queue_verdict_errors_total", "counter", "Verdicts that could not be sent.",
		  WOFF(verdict_errors));
	per_queue(m, s, "nfsentry_queue_ban_requests_total", "counter", "Ban requests raised from this queue.",
		  WOFF(ban_requests));
	per_queue(m, s, "nfsentry_queue_ban_requests_lost_total", "counter",
		  "Ban requests lost: the ban queue was full (the source asks again after its hold).", WOFF(banq_full));
	for (size_t i = 0; i < s->nworkers; i++) {
		struct worker_stats st;
		worker_get_stats(s->workers[i], &st);
		histogram(m, "nfsentry_verdict_latency_seconds",
			  "From reading a queued packet to sending its verdict (userspace's share of the delay).",
			  worker_latency_le_us, st.verdict_bucket, WORKER_LATENCY_BUCKETS, st.verdict_sum_us,
			  st.verdict_count, queue_label(s->workers[i]));
	}

	/* The kernel's view of the same queues. */
	static const char *const kn[] = { "nfsentry_kernel_queue_waiting", "nfsentry_kernel_queue_dropped_total",
					  "nfsentry_kernel_queue_user_dropped_total", "nfsentry_kernel_queue_id_sequence" };
	static const char *const kt[] = { "gauge", "counter", "counter", "counter" };
	static const char *const kh[] = { "Packets waiting in the kernel queue (queue_total).",
					  "Packets the kernel dropped: queue full (queue_dropped).",
					  "Packets the kernel dropped: sending to us failed (user_dropped).",
					  "Last packet id the kernel handed out (id_sequence)." };
	json_t *kf[4];
	for (int k = 0; k < 4; k++)
		kf[k] = family(m, kn[k], kt[k], kh[k]);
	for (size_t i = 0; i < s->nworkers; i++) {
		struct nfq_procstat ps;
		if (nfq_procstat_read(NULL, worker_queue(s->workers[i]), &ps) < 0)
			continue;
		uint64_t v[] = { ps.waiting, ps.queue_dropped, ps.user_dropped, ps.id_sequence };
		for (int k = 0; k < 4; k++)
			sample(kf[k], NULL, queue_label(s->workers[i]), json_integer((json_int_t)v[k]));
	}
}

static void bans(json_t *m, const struct daemon_view *s)
{
	struct banwriter_stats bs;
	banwriter_get_stats(s->writer, &bs);
	single(m, "nfsentry_bans_added_total", "counter", "Bans added to the kernel sets.", bs.added);
	single(m, "nfsentry_bans_expired_total", "counter", "Bans that timed out.", bs.expired);
	single(m, "nfsentry_bans_removed_total", "counter", "Bans deleted by hand before their time.", bs.removed);
	single(m, "nfsentry_bans_active", "gauge", "Bans in the sets at the last look.", bs.active);
	json_t *f = family(m, "nfsentry_bans_refused_total", "counter", "Bans not made, by reason.");
	static const char *const why[] = { "kernel", "allowlisted", "protected", "already_banned", "given_up", "active" };
	uint64_t v[] = { bs.refused_by_kernel, bs.not_banned_allowed, bs.not_banned_protected, bs.already_banned,
			 bs.given_up, bs.not_banned_active };
	for (int i = 0; i < 6; i++)
		sample(f, NULL, json_pack("{ss}", "reason", why[i]), json_integer((json_int_t)v[i]));
	single(m, "nfsentry_bans_displaced_total", "counter",
	       "Bans deleted before their time to make room for a new one in a full set (the soonest to expire).",
	       bs.displaced);
	single(m, "nfsentry_ban_batches_total", "counter",
	       "Ban transactions sent to the kernel (up to 256 bans each).", bs.batches);
	single(m, "nfsentry_ban_batch_errors_total", "counter",
	       "Ban batches that failed as a whole (table or sets gone, or outcome unknown); retried.", bs.batch_errors);
	single(m, "nfsentry_ban_retries_total", "counter", "Ban requests tried again after their batch failed.",
	       bs.retried);
	single(m, "nfsentry_bans_restored_total", "counter",
	       "Bans put back into the sets: saved ones at start, or after the table was loaded again.", bs.restored);
	json_t *fl = family(m, "nfsentry_fleet_decisions_total", "counter",
			    "Decisions of the fleet (nfsentry-crowdsec) by outcome.");
	for (int k = 0; k < BAN_FLEET_OUTCOMES; k++)
		sample(fl, NULL, json_pack("{ss}", "outcome", ban_fleet_outcome_name((enum ban_fleet_outcome)k)),
		       json_integer((json_int_t)bs.fleet[k]));
	single(m, "nfsentry_fleet_bans_active", "gauge", "Bans of the fleet held ([fleet] max_bans at most).",
	       bs.fleet_active);
	histogram(m, "nfsentry_ban_latency_seconds", "From the packet that decided a ban to the kernel's ack of it.",
		  banwriter_latency_le_us, bs.latency_bucket, BANWRITER_LATENCY_BUCKETS, bs.latency_sum_us,
		  bs.latency_count, NULL);
}

static void evidence(json_t *m, const struct daemon_view *s)
{
	struct evidence_stats es = { 0 };
	struct pktring_stats rs = { 0 };
	if (s->evidence)
		evidence_get_stats(s->evidence, &es);
	if (s->ring)
		pktring_get_stats(s->ring, &rs);
	single(m, "nfsentry_evidence_records_total", "counter", "Evidence records saved.", es.saved);
	single(m, "nfsentry_evidence_records_lost_total", "counter",
	       "Events that went out without a record: the queue was full, or writing failed.", es.dropped + es.failed);
	single(m, "nfsentry_evidence_records", "gauge", "Evidence records on disk.", es.store.records);
	single(m, "nfsentry_evidence_bytes", "gauge", "Bytes of evidence records on disk.", es.store.bytes);
	single(m, "nfsentry_evidence_pruned_total", "counter", "Oldest records removed to stay under [evidence] max_mb.",
	       es.store.pruned);
	single(m, "nfsentry_evidence_ring_bytes", "gauge", "Memory held by the recent-packet rings.", rs.bytes);
	single(m, "nfsentry_evidence_rings", "gauge", "Sources and connections whose recent packets are kept.", rs.rings);
	single(m, "nfsentry_attribution_lookups_total", "counter", "Process attribution lookups.", es.attrib_lookups);
	single(m, "nfsentry_attribution_found_total", "counter", "Lookups that found the socket.", es.attrib_found);
	single(m, "nfsentry_attribution_microseconds_total", "counter", "Time spent in process attribution.",
	       es.attrib_us);
}

json_t *metrics_collect(const struct daemon_view *s)
{
	json_t *m = json_object();
	if (!m)
		return NULL;
	single(m, "nfsentry_uptime_seconds", "gauge", "Seconds since the daemon started.", (uint64_t)difftime(time(NULL), s->started));
	queues(m, s);
	json_t *f = family(m, "nfsentry_detections_total", "counter", "Events raised, per detector.");
	for (int d = 0; d < DET_COUNT; d++)
		sample(f, NULL, json_pack("{ss}", "detector", detector_key(d)),
		       json_integer((json_int_t)atomic_load(&s->engine->detections[d])));
	bans(m, s);

	struct tracker_stats ts;
	struct flow_stats fs;
	tracker_get_stats(s->tracker, &ts);
	flowtab_get_stats(s->flows, &fs);
	single(m, "nfsentry_sources_tracked", "gauge", "Sources with closed-port attempts being tracked.", ts.sources);
	json_t *ev = family(m, "nfsentry_sources_evicted_total", "counter",
			    "Tracked sources pushed out to make room, per stage (probation: one port so far).");
	sample(ev, NULL, json_pack("{ss}", "stage", "probation"), json_integer((json_int_t)ts.evicted_probation));
	sample(ev, NULL, json_pack("{ss}", "stage", "main"), json_integer((json_int_t)ts.evicted_main));
	single(m, "nfsentry_sources_probation", "gauge", "Tracked sources on probation (one port so far).", ts.probation);
	single(m, "nfsentry_sources_promoted_total", "counter", "Sources promoted from probation by a second port.",
	       ts.promoted);
	single(m, "nfsentry_flows_inspected", "gauge", "Connections under inspection.", fs.flows);
	single(m, "nfsentry_flows_evicted_total", "counter", "Connections pushed out to make room.", fs.evicted);
	evidence(m, s);
	single(m, "nfsentry_events_lost_total", "counter",
	       "Events that could not be written to the events file (a full disk, an I/O error); they were logged.",
	       event_sink_lost(s->events));
	return m;
}

/* k="v",k="v" */
static void labels_text(const json_t *labels, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t o = 0;
	buf[0] = '\0';
	json_object_foreach((json_t *)labels, k, v) {
		int n = snprintf(buf + o, len - o, "%s%s=\"%s\"", o ? "," : "", k, json_string_value(v));
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
}

int metrics_write(const char *path, const struct daemon_view *s)
{
	json_t *m = metrics_collect(s), *fam, *smp;
	const char *name;
	struct prom p;
	char lab[256];
	size_t i;
	int r;

	if (!m)
		return -ENOMEM;
	r = prom_begin(&p);
	if (r < 0) {
		json_decref(m);
		return r;
	}
	json_object_foreach(m, name, fam) {
		prom_family(&p, name, json_string_value(json_object_get(fam, "type")),
			    json_string_value(json_object_get(fam, "help")));
		json_array_foreach(json_object_get(fam, "samples"), i, smp) {
			const json_t *n = json_object_get(smp, "name"), *l = json_object_get(smp, "labels");
			const json_t *v = json_object_get(smp, "value");
			const char *sn = n ? json_string_value(n) : name;
			if (l)
				labels_text(l, lab, sizeof(lab));
			if (json_is_real(v))
				prom_sample_real(&p, sn, l ? lab : NULL, json_real_value(v));
			else
				prom_sample(&p, sn, l ? lab : NULL, (uint64_t)json_integer_value(v));
		}
	}
	json_decref(m);
	return prom_commit(&p, path);
}
