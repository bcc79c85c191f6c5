/* metrics.c - gathers the counters of every module into one Prometheus text file. */
#include "metrics.h"

#include <errno.h>
#include <stdio.h>

#include "core/prom.h"
#include "decide/policy.h"
#include "queue/procstat.h"

#define QLABEL(buf, w) snprintf(buf, sizeof(buf), "queue=\"%u\"", worker_queue(w))

static void per_queue(struct prom *p, const struct metrics_sources *s, const char *name, const char *type,
		      const char *help, uint64_t (*get)(const struct worker_stats *st))
{
	char lab[32];
	prom_family(p, name, type, help);
	for (size_t i = 0; i < s->nworkers; i++) {
		struct worker_stats st;
		worker_get_stats(s->workers[i], &st);
		QLABEL(lab, s->workers[i]);
		prom_sample(p, name, lab, get(&st));
	}
}

static uint64_t g_packets(const struct worker_stats *s) { return s->packets; }
static uint64_t g_accepted(const struct worker_stats *s) { return s->accepted; }
static uint64_t g_dropped(const struct worker_stats *s) { return s->dropped; }
static uint64_t g_malformed(const struct worker_stats *s) { return s->malformed; }
static uint64_t g_enobufs(const struct worker_stats *s) { return s->enobufs; }
static uint64_t g_gaps(const struct worker_stats *s) { return s->id_gaps; }
static uint64_t g_verdict_err(const struct worker_stats *s) { return s->verdict_errors; }
static uint64_t g_requests(const struct worker_stats *s) { return s->ban_requests; }
static uint64_t g_banq_full(const struct worker_stats *s) { return s->banq_full; }

int metrics_write(const char *path, const struct metrics_sources *s)
{
	struct prom p;
	char lab[64];
	int r = prom_begin(&p);

	if (r < 0)
		return r;
	prom_single(&p, "nfsentry_uptime_seconds", "gauge", "Seconds since the daemon started.", (uint64_t)s->uptime_s);

	per_queue(&p, s, "nfsentry_queue_packets_total", "counter", "Packets received from the queue.", g_packets);
	per_queue(&p, s, "nfsentry_queue_accepted_total", "counter", "Packets given an accept verdict.", g_accepted);
	per_queue(&p, s, "nfsentry_queue_dropped_total", "counter", "Packets given a drop verdict.", g_dropped);
	per_queue(&p, s, "nfsentry_queue_decode_errors_total", "counter", "Malformed packets (verdicted all the same).",
		  g_malformed);
	per_queue(&p, s, "nfsentry_queue_enobufs_total", "counter", "ENOBUFS on the queue socket (messages lost).",
		  g_enobufs);
	per_queue(&p, s, "nfsentry_queue_id_gaps_total", "counter", "Packets missing from the id sequence (lost).", g_gaps);
	per_queue(&p, s, "nfsentry_queue_verdict_errors_total", "counter", "Verdicts that could not be sent.",
		  g_verdict_err);
	per_queue(&p, s, "nfsentry_queue_ban_requests_total", "counter", "Ban requests raised from this queue.",
		  g_requests);
	per_queue(&p, s, "nfsentry_queue_ban_requests_lost_total", "counter",
		  "Ban requests lost: the ban queue was full (the source asks again after its hold).", g_banq_full);

	/* The kernel's view of the same queues. */
	static const char *const kn[] = { "nfsentry_kernel_queue_waiting", "nfsentry_kernel_queue_dropped_total",
					  "nfsentry_kernel_queue_user_dropped_total", "nfsentry_kernel_queue_id_sequence" };
	static const char *const kt[] = { "gauge", "counter", "counter", "counter" };
	static const char *const kh[] = { "Packets waiting in the kernel queue (queue_total).",
					  "Packets the kernel dropped: queue full (queue_dropped).",
					  "Packets the kernel dropped: sending to us failed (user_dropped).",
					  "Last packet id the kernel handed out (id_sequence)." };
	for (int k = 0; k < 4; k++) {
		prom_family(&p, kn[k], kt[k], kh[k]);
		for (size_t i = 0; i < s->nworkers; i++) {
			struct nfq_procstat ps;
			if (nfq_procstat_read(NULL, worker_queue(s->workers[i]), &ps) < 0)
				continue;
			uint64_t v[] = { ps.waiting, ps.queue_dropped, ps.user_dropped, ps.id_sequence };
			QLABEL(lab, s->workers[i]);
			prom_sample(&p, kn[k], lab, v[k]);
		}
	}

	prom_family(&p, "nfsentry_detections_total", "counter", "Events raised, per detector.");
	for (int d = 0; d < DET_COUNT; d++) {
		snprintf(lab, sizeof(lab), "detector=\"%s\"", policy_det_key(d));
		prom_sample(&p, "nfsentry_detections_total", lab, atomic_load(&s->engine->detections[d]));
	}

	struct banwriter_stats bs;
	banwriter_get_stats(s->writer, &bs);
	prom_single(&p, "nfsentry_bans_added_total", "counter", "Bans added to the kernel sets.", bs.added);
	prom_single(&p, "nfsentry_bans_expired_total", "counter", "Bans that timed out.", bs.expired);
	prom_single(&p, "nfsentry_bans_removed_total", "counter", "Bans deleted by hand before their time.", bs.removed);
	prom_single(&p, "nfsentry_bans_active", "gauge", "Bans in the sets at the last look.", bs.active);
	prom_family(&p, "nfsentry_bans_refused_total", "counter", "Bans not made, by reason.");
	prom_sample(&p, "nfsentry_bans_refused_total", "reason=\"kernel\"", bs.refused_by_kernel);
	prom_sample(&p, "nfsentry_bans_refused_total", "reason=\"allowlisted\"", bs.not_banned_allowed);
	prom_sample(&p, "nfsentry_bans_refused_total", "reason=\"protected\"", bs.not_banned_protected);
	prom_sample(&p, "nfsentry_bans_refused_total", "reason=\"already_banned\"", bs.already_banned);
	prom_single(&p, "nfsentry_ban_batch_errors_total", "counter", "Ban batches whose outcome is unknown.", bs.transport_errors);

	/* A histogram in seconds, as Prometheus wants; buckets are cumulative. */
	prom_family(&p, "nfsentry_ban_latency_seconds", "histogram",
		    "From the packet that decided a ban to the kernel's ack of it.");
	uint64_t cum = 0;
	for (int b = 0; b < BANWRITER_LATENCY_BUCKETS; b++) {
		cum += bs.latency_bucket[b];
		if (b < BANWRITER_LATENCY_BUCKETS - 1)
			snprintf(lab, sizeof(lab), "le=\"%g\"", (double)banwriter_latency_le_us[b] / 1e6);
		else
			snprintf(lab, sizeof(lab), "le=\"+Inf\"");
		prom_sample(&p, "nfsentry_ban_latency_seconds_bucket", lab, cum);
	}
	fprintf(p.f, "nfsentry_ban_latency_seconds_sum %.6f\n", (double)bs.latency_sum_us / 1e6);
	prom_sample(&p, "nfsentry_ban_latency_seconds_count", NULL, bs.latency_count);

	struct tracker_stats ts;
	struct flow_stats fs;
	tracker_get_stats(s->tracker, &ts);
	flowtab_get_stats(s->flows, &fs);
	prom_single(&p, "nfsentry_sources_tracked", "gauge", "Sources with closed-port attempts being tracked.", ts.sources);
	prom_single(&p, "nfsentry_sources_evicted_total", "counter", "Tracked sources pushed out to make room.", ts.evicted);
	prom_single(&p, "nfsentry_flows_inspected", "gauge", "Connections under inspection.", fs.flows);
	prom_single(&p, "nfsentry_flows_evicted_total", "counter", "Connections pushed out to make room.", fs.evicted);
	return prom_commit(&p, path);
}
