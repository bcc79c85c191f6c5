/* apply.c - what follows from the planner's decisions (ban/plan.h), once each: a burst's
 * elements committed through the backend, the kernel's answers sorted, and for each request
 * the log line, the event, the offence, the ban table entry and the stats. Also the lifting of
 * bans that hold a peer protected since (the planner picks them). Writer thread only. */
#include "ban/writer-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ban/feed.h"
#include "core/clock.h"
#include "core/detector.h"
#include "core/duration.h"
#include "core/histogram.h"
#include "core/log.h"
#include "decide/protect.h"
#include "detect/trkcounts.h"

/* A scan ban's reason in its log line: what the tracker counted, so that the line alone tells
 * why (the same words as the scan's event). */
static void describe(const struct trk_report *rep, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "%u closed ports in %us (", rep->ports, rep->last_seen - rep->first_seen);
	if (o < len)
		o += trk_counts_format(rep->counts, buf + o, len - o);
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, ")");
	if (rep->sources && o < len) /* a distributed scan */
		snprintf(buf + o, len - o, " from at least %u of its sources", rep->sources);
}

/* What a ban's detector counted, for the feed: a scan's attempts (every class of closed-port
 * packet the tracker counted), or 0 for a detection of one connection. */
static uint32_t attempts(const struct trk_report *rep)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < TRK_CLASSES; i++)
		n += rep->counts[i];
	return n ? n : rep->ports;
}

/* A ban's record holds the packets its source sent (the ring is keyed as the ban is), and
 * its token comes back to the ban table. */
struct report_dest banwriter_ban_dest(struct banwriter *w, const struct nfs_addr *addr)
{
	struct report_dest d = { .events = w->events, .evidence = w->evidence };
	pktring_source_key(&d.ctx.ring, addr);
	d.ctx.ban = true;
	d.ctx.ban_addr = *addr;
	return d;
}

/* A scan request carries its event, written here with what was done (once: a retried request
 * does not write it again). */
static void scan_outcome(struct banwriter *w, struct ban_request *rq, const char *action, const char *reason)
{
	if (!rq->scan_event)
		return;
	rq->scan_event = false;
	struct pkt p = { .src = rq->host, .dst = rq->dst, .sport = rq->sport, .dport = rq->dport, .proto = rq->proto };
	struct report_dest to = { .events = w->events, .evidence = w->evidence };
	pktring_source_key(&to.ctx.ring, &rq->addr);
	report_scan_outcome(&to, &rq->t_packet, &p, &rq->addr, &rq->report, action, reason);
}

/* A ban not made: the scan's event says so, or, for a detection whose event is already out (a
 * backdoor), a ban event with action "refused". */
static void refused(struct banwriter *w, struct ban_request *rq, const struct nfs_addr *addr, const char *reason)
{
	if (rq->scan_event) {
		scan_outcome(w, rq, "refused", reason);
		return;
	}
	if (rq->det == DET_SCAN)
		return; /* a source that kept scanning after a refusal: its event was written then */
	struct report_dest to = { .events = w->events, .evidence = w->evidence };
	pktring_source_key(&to.ctx.ring, addr);
	report_ban_refused(&to, &rq->t_packet, addr, detector_name(rq->det), reason);
}

/* One request's outcome that needs no kernel: the narrowing, the duplicates and the skips,
 * logged and reported here, once. Manual requests are answered here too, in their turn. */
static void step_apply(struct banwriter *w, struct ban_request *rq, const struct ban_step *st,
		       const struct ban_active *act, struct banwriter_stats *d)
{
	const struct ban_settings *s = w->cur;
	char a[NFS_ADDR_STRLEN], nb[NFS_ADDR_STRLEN], why[NFS_ADDR_STRLEN + 24];

	if (st->verdict == BAN_VERDICT_MANUAL) {
		if (rq->op == BAN_OP_FLEET)
			banwriter_fleet_handle(w, rq->fleet);
		else
			banwriter_manual_handle(w, rq);
		return;
	}
	nfs_addr_format(&st->addr, a, sizeof(a));
	if (st->narrowed)
		log_info("narrowing the ban of %s to %s: the prefix holds %s", nfs_addr_format(&rq->addr, nb, sizeof(nb)),
			 a, st->narrowed == BAN_NARROW_LISTED ? "allowed or protected addresses" : "an active peer");
	switch (st->verdict) {
	case BAN_VERDICT_DUP:
		scan_outcome(w, rq, "ban", NULL);
		break;
	case BAN_VERDICT_ALLOWED:
		nfs_addr_format(&s->allow.net[st->net], nb, sizeof(nb));
		log_notice("not banning %s (crossed the threshold: %u closed ports): allowlisted by %s", a,
			   rq->report.ports, nb);
		d->not_banned_allowed++;
		snprintf(why, sizeof(why), "allowlisted %s", nb);
		refused(w, rq, &st->addr, why);
		break;
	case BAN_VERDICT_PROTECTED: {
		const char *kind = protect_kind(&s->ends, st->net);
		log_notice("not banning %s (crossed the threshold: %u closed ports): protected peer %s (%s)", a,
			   rq->report.ports, nfs_addr_format(&s->protect.net[st->net], nb, sizeof(nb)), kind);
		d->not_banned_protected++;
		snprintf(why, sizeof(why), "protected peer (%s)", kind);
		refused(w, rq, &st->addr, why);
		break;
	}
	case BAN_VERDICT_ACTIVE:
		log_notice("not banning %s (crossed the threshold: %u closed ports): active peer (exchanged data "
			   "with this host %llus ago); a scan does not prove who sent it", a, rq->report.ports,
			   (unsigned long long)act->age_s);
		d->not_banned_active++;
		refused(w, rq, &st->addr, "active peer");
		break;
	case BAN_VERDICT_ACTIVE_PREFIX:
		nfs_addr_format(&act->peer, nb, sizeof(nb));
		log_notice("not banning %s (crossed the threshold: %u closed ports from at least %u of its "
			   "sources): holds active peer %s (exchanged data with this host %llus ago); forged "
			   "sources do not prove who scanned", a, rq->report.ports, rq->report.sources,
			   nb, (unsigned long long)act->age_s);
		d->not_banned_active++;
		snprintf(why, sizeof(why), "holds active peer %s", nb);
		refused(w, rq, &st->addr, why);
		break;
	default: /* BAN_VERDICT_BAN: once the kernel has answered */
		break;
	}
}

/* Plans, commits and reports one burst of requests. */
void banwriter_burst_handle(struct banwriter *w, struct ban_request *req, size_t n)
{
	struct ban_plan *p = &w->plan;
	struct nftset_elem *elems = p->elems;
	const uint32_t *offence = p->offence;
	const size_t *from = p->from;
	size_t no_set[NFTSET_BATCH_MAX];
	int res[NFTSET_BATCH_MAX];
	size_t m, n_no_set = 0;
	int64_t now = clock_wall_ms(); /* the bans' ends and the offences' times: stored */
	char a[NFS_ADDR_STRLEN];
	struct banwriter_stats d = { 0 };

	w->asker.be = w->be;
	w->asker.s = w->cur;
	ban_active_ask(&w->asker, req, n, w->act);
	ban_plan_burst(p, req, n, w->act, w->cur, w->offences, now / 1000);
	for (size_t i = 0; i < n; i++)
		step_apply(w, &req[i], &p->step[i], &w->act[i], &d);
	m = p->m;
	if (m == 0)
		goto stats;

	int r = w->be->ops->commit(w->be, BAN_BACKEND_ADD, elems, m, res);
	struct timespec acked;
	clock_gettime(CLOCK_REALTIME, &acked);
	d.batches++;
	if (r < 0) {
		/* The outcome is unknown: tried again (a ban that did land comes back EEXIST). The
		 * scans' events say the ban that is being made; the log says what became of it. */
		for (size_t k = 0; k < m; k++)
			scan_outcome(w, &req[from[k]], "ban", NULL);
		banwriter_batch_fail(w, req, from, m, r, &d);
		goto stats;
	}
	for (size_t k = 0; k < m; k++) {
		struct ban_request *rq = &req[from[k]];
		char why[256], dur[32];
		enum ban_answer ans = ban_plan_answer(res[k]);
		nfs_addr_format(&elems[k].addr, a, sizeof(a));
		if (ans == BAN_ANSWER_FULL && banwriter_full_displace(w, &elems[k], &d) == 0)
			ans = BAN_ANSWER_ADDED; /* the ban that expired soonest gave way to this one */
		switch (ans) {
		case BAN_ANSWER_ALREADY:
			/* The kernel set is the truth: banned by hand, or packets that were queued
			 * before an earlier ban took effect. Not a new offence. */
			log_info("%s is already in set %s; not counted as an offence", a, nftset_elem_set(&elems[k]));
			d.already_banned++;
			scan_outcome(w, rq, "ban", NULL);
			continue;
		case BAN_ANSWER_NO_SET:
			no_set[n_no_set++] = from[k];
			scan_outcome(w, rq, "ban", NULL);
			continue;
		case BAN_ANSWER_FULL: /* the set is at its size; one line for a flood of these */
			d.refused_by_kernel++;
			w->full_refused++;
			w->full_last = elems[k].addr;
			w->full_set = nftset_elem_set(&elems[k]);
			/* Issue 10, item 8: the event says what happened. */
			refused(w, rq, &elems[k].addr, "set full (only bans made by hand, which never give way)");
			continue;
		case BAN_ANSWER_REFUSED: {
			char kr[96];
			log_err("kernel refused ban of %s in set %s: %s", a, nftset_elem_set(&elems[k]), strerror(-res[k]));
			d.refused_by_kernel++;
			snprintf(kr, sizeof(kr), "kernel: %s", strerror(-res[k]));
			refused(w, rq, &elems[k].addr, kr);
			continue;
		}
		case BAN_ANSWER_ADDED:
			break;
		}
		scan_outcome(w, rq, "ban", NULL); /* after the commit: the ban first */
		int64_t lat_us = ((int64_t)acked.tv_sec - rq->t_packet.tv_sec) * 1000000 +
				 (acked.tv_nsec - rq->t_packet.tv_nsec) / 1000;
		if (rq->det == DET_SCAN || rq->det == DET_DSCAN)
			describe(&rq->report, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", detector_name(rq->det));
		duration_format(elems[k].timeout_ms / 1000, dur, sizeof(dur));
		struct ban_entry b = { .addr = elems[k].addr, .offence = offence[k], .timeout_s = elems[k].timeout_ms / 1000,
				       .until_ms = now + (int64_t)elems[k].timeout_ms, .det = rq->det,
				       .origin = BAN_ORIGIN_DETECTOR };
		pthread_mutex_lock(&w->lock);
		bantable_put(w->bans, &b);
		pthread_mutex_unlock(&w->lock);
		w->bans_dirty = true;
		banwriter_feed_ban(w, &b, attempts(&rq->report));
		log_notice("banned %s for %s (offence %u): %s; in the kernel %lld us after the threshold packet %s", a,
			   dur, offence[k], why, (long long)lat_us, rq->t_kernel ? "arrived" : "was received");
		struct report_dest to = banwriter_ban_dest(w, &elems[k].addr);
		report_ban(&to, &acked, &elems[k].addr, detector_name(rq->det), elems[k].timeout_ms / 1000,
			   offence[k], lat_us);
		if (offences_record(w->offences, &elems[k].addr, offence[k], now / 1000) == 0)
			w->offences_dirty = true;
		d.added++;
		d.last_latency_us = lat_us > 0 ? (uint64_t)lat_us : 0;
		d.latency_bucket[histogram_bucket(banwriter_latency_le_us, BANWRITER_LATENCY_BUCKETS - 1,
						  d.last_latency_us)]++;
		d.latency_sum_us += d.last_latency_us;
		d.latency_count++;
	}
	if (n_no_set)
		banwriter_batch_fail(w, req, no_set, n_no_set, -ENOENT, &d);
	banwriter_full_report(w, clock_mono_ms());
stats:
	pthread_mutex_lock(&w->lock);
	w->stats.added += d.added;
	w->stats.refused_by_kernel += d.refused_by_kernel;
	w->stats.displaced += d.displaced;
	w->stats.not_banned_allowed += d.not_banned_allowed;
	w->stats.not_banned_protected += d.not_banned_protected;
	w->stats.not_banned_active += d.not_banned_active;
	w->stats.already_banned += d.already_banned;
	w->stats.batches += d.batches;
	w->stats.batch_errors += d.batch_errors;
	w->stats.given_up += d.given_up;
	if (d.added)
		w->stats.last_latency_us = d.last_latency_us;
	for (unsigned b = 0; b < BANWRITER_LATENCY_BUCKETS; b++)
		w->stats.latency_bucket[b] += d.latency_bucket[b];
	w->stats.latency_sum_us += d.latency_sum_us;
	w->stats.latency_count += d.latency_count;
	w->stats.active = bantable_size(w->bans);
	pthread_mutex_unlock(&w->lock);
}

/* The bans of @table (this host's, or with @fleet the fleet's) that hold a protected peer now
 * (ban_plan_protected() picks them) are lifted here, and said. */
static void protected_unban_table(struct banwriter *w, struct bantable *table, bool fleet)
{
	struct ban_lift *c = malloc(sizeof(*c)); /* NFTSET_BATCH_MAX elements: off the thread's stack */
	const struct ban_settings *s = w->cur;
	int res[NFTSET_BATCH_MAX];
	char a[NFS_ADDR_STRLEN], nb[NFS_ADDR_STRLEN];

	if (!c)
		return;
	pthread_mutex_lock(&w->lock);
	ban_plan_protected(c, table, s);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < c->n && fleet; i++)
		c->e[i].fleet = true; /* fleet4/fleet6, or fleetnet4/fleetnet6 by its prefix */
	int r = c->n ? w->be->ops->commit(w->be, BAN_BACKEND_DEL, c->e, c->n, res) : 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < c->n; i++) {
		const struct nfs_addr *net = &s->protect.net[c->net[i]];
		const char *kind = protect_kind(&s->ends, c->net[i]);
		nfs_addr_format(&c->e[i].addr, a, sizeof(a));
		nfs_addr_format(net, nb, sizeof(nb));
		if (r < 0 || (res[i] < 0 && res[i] != -ENOENT)) {
			log_err("%s is banned%s but now holds a protected peer %s (%s); cannot lift the ban: %s", a,
				fleet ? " by the fleet" : "", nb, kind, strerror(-(r < 0 ? r : res[i])));
			continue;
		}
		if (fleet) {
			pthread_mutex_lock(&w->lock);
			bantable_del(table, &c->e[i].addr);
			pthread_mutex_unlock(&w->lock);
		}
		if (res[i] == -ENOENT)
			continue; /* expired meanwhile */
		log_notice("unbanned %s%s: it holds a protected peer %s (%s) now", a, fleet ? " (a ban of the fleet)" : "",
			   nb, kind);
		report_unban(w->events, &now, &c->e[i].addr, "protected");
		if (fleet) {
			banwriter_feed_unban(w, &c->e[i].addr, BAN_ORIGIN_FLEET, BAN_FEED_WHY_PROTECTED);
		} else {
			pthread_mutex_lock(&w->lock);
			const struct ban_entry *old = bantable_get(table, &c->e[i].addr);
			uint8_t origin = old ? old->origin : BAN_ORIGIN_DETECTOR;
			pthread_mutex_unlock(&w->lock);
			banwriter_feed_unban(w, &c->e[i].addr, origin, BAN_FEED_WHY_PROTECTED);
		}
	}
	if (c->n && !fleet)
		banwriter_sync_soon(w); /* the table follows */
	free(c);
}

/* The planner picks the bans that hold a protected peer now (ban_plan_protected()); they are
 * lifted here, and said: this host's bans, then the fleet's. */
void banwriter_protected_unban(struct banwriter *w)
{
	protected_unban_table(w, w->bans, false);
	protected_unban_table(w, w->fleet, true);
}
