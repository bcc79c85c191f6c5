/* manual.c - bans and unbans asked for on the control socket (nfsentryctl ban, unban): one
 * transaction each, answered at once through the request's reply. Writer thread only, in the
 * order of the ban queue, so a ban by hand and the automatic bans see the same table. */
#include "ban/writer-int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ban/feed.h"
#include "core/clock.h"
#include "core/detector.h"
#include "core/log.h"
#include "decide/protect.h"

/* The control server waits on @r (a bounded wait: docs/control.md) and reads it under its
 * lock: the answer is written and signalled under that lock. */
static void reply(struct ban_reply *r, int rc, const struct nfs_addr *addr, uint64_t seconds, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void reply(struct ban_reply *r, int rc, const struct nfs_addr *addr, uint64_t seconds, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&r->lock);
	r->rc = rc;
	if (addr)
		r->addr = *addr;
	r->seconds = seconds;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->done = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* The fleet's ban of @rq->host (the address, or a fleet range that holds it), lifted too: an
 * operator's unban means the address gets through, whoever banned it. The fleet may send the
 * decision again (nfsentry-crowdsec's next start): `cscli decisions delete` lifts it for good.
 * Returns 0 when one was lifted, -ENOENT when the fleet had none, or -errno (@e: which). */
static int manual_unban_fleet(struct banwriter *w, struct ban_request *rq, struct nftset_elem *e)
{
	int res, r;

	ban_plan_unban(rq, w->fleet, w->cur, e);
	if (!bantable_get(w->fleet, &e->addr)) /* the thread's: read without the lock */
		return -ENOENT;
	e->fleet = true;
	e->net = false; /* fleet4/fleet6 or fleetnet4/fleetnet6 by its length */
	r = w->be->ops->commit(w->be, BAN_BACKEND_DEL, e, 1, &res);
	if (r < 0 || (res < 0 && res != -ENOENT))
		return r < 0 ? r : res;
	pthread_mutex_lock(&w->lock);
	bantable_del(w->fleet, &e->addr);
	w->stats.fleet_active = bantable_size(w->fleet);
	pthread_mutex_unlock(&w->lock);
	return res; /* -ENOENT: it had expired meanwhile */
}

/* An unban: the element the planner picks (ban_plan_unban()) is deleted, and the fleet's ban of
 * the address if it has one; the ban table follows at the writer's next turn, as it does for a
 * ban deleted with nft. */
static void manual_unban(struct banwriter *w, struct ban_request *rq)
{
	struct nftset_elem e, fe;
	char a[NFS_ADDR_STRLEN];
	int res, r, rf;

	ban_plan_unban(rq, w->bans, w->cur, &e);
	const struct ban_entry *old = bantable_get(w->bans, &e.addr); /* the thread's: read without the lock */
	uint8_t origin = old ? old->origin : BAN_ORIGIN_MANUAL;
	r = w->be->ops->commit(w->be, BAN_BACKEND_DEL, &e, 1, &res);
	int err = r < 0 ? r : res;
	rf = manual_unban_fleet(w, rq, &fe);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (rf == 0) {
		nfs_addr_format(&fe.addr, a, sizeof(a));
		log_notice("unbanned %s, a ban of the fleet (by hand: uid %u, through the control socket)", a,
			   (unsigned)rq->by_uid);
		report_unban(w->events, &now, &fe.addr, "manual");
		banwriter_feed_unban(w, &fe.addr, BAN_ORIGIN_FLEET, BAN_FEED_WHY_MANUAL);
	}
	if (err < 0) {
		if (rf == 0 && err == -ENOENT)
			reply(rq->reply, 0, &fe.addr, 0, "unbanned (a ban of the fleet)");
		else if (err == -ENOENT && rf != -ENOENT)
			reply(rq->reply, rf, &fe.addr, 0, "%s", strerror(-rf));
		else
			reply(rq->reply, err, &e.addr, 0, "%s", err == -ENOENT ? "not banned" : strerror(-err));
		return;
	}
	nfs_addr_format(&e.addr, a, sizeof(a));
	log_notice("unbanned %s (by hand: uid %u, through the control socket)", a, (unsigned)rq->by_uid);
	report_unban(w->events, &now, &e.addr, "manual");
	banwriter_feed_unban(w, &e.addr, origin, BAN_FEED_WHY_MANUAL);
	banwriter_sync_soon(w); /* the table follows */
	reply(rq->reply, 0, &e.addr, 0, "unbanned");
}

/* A ban: the same rules as for automatic bans (ban_plan_manual()): allowlisted and protected
 * addresses are refused, and in a full set the automatic ban that expires soonest gives way.
 * Its offence is 1 and nothing escalates it: the operator chose its length. */
static void manual_ban(struct banwriter *w, struct ban_request *rq)
{
	struct ban_settings *s = w->cur;
	struct nftset_elem e;
	char a[NFS_ADDR_STRLEN], nb[NFS_ADDR_STRLEN];
	size_t net;
	int res, r;

	switch (ban_plan_manual(rq, s, &e, &net)) {
	case BAN_VERDICT_ALLOWED:
		reply(rq->reply, -EPERM, &e.addr, 0, "allowlisted (%s)", nfs_addr_format(&s->allow.net[net], nb, sizeof(nb)));
		return;
	case BAN_VERDICT_PROTECTED:
		reply(rq->reply, -EPERM, &e.addr, 0, "protected (%s: %s)",
		      nfs_addr_format(&s->protect.net[net], nb, sizeof(nb)), protect_kind(&s->ends, net));
		return;
	default:
		break;
	}
	nfs_addr_format(&e.addr, a, sizeof(a));
	uint64_t secs = e.timeout_ms / 1000;
	struct banwriter_stats d = { 0 };
	r = w->be->ops->commit(w->be, BAN_BACKEND_ADD, &e, 1, &res);
	if (r >= 0 && res == -ENFILE && banwriter_full_displace(w, &e, &d) == 0)
		res = 0;
	if (r < 0 || res < 0) {
		int err = r < 0 ? r : res;
		reply(rq->reply, err, &e.addr, 0, "%s", err == -EEXIST ? "already banned" : strerror(-err));
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct ban_entry b = { .addr = e.addr, .offence = 1, .timeout_s = secs,
			       .until_ms = clock_wall_ms() + (int64_t)secs * 1000, .det = DET_MANUAL,
			       .origin = BAN_ORIGIN_MANUAL };
	pthread_mutex_lock(&w->lock);
	bantable_put(w->bans, &b);
	w->stats.added++;
	w->stats.displaced += d.displaced;
	w->stats.active = bantable_size(w->bans);
	pthread_mutex_unlock(&w->lock);
	w->bans_dirty = true;
	banwriter_feed_ban(w, &b, 0);
	log_notice("banned %s for %llus (by hand: uid %u, through the control socket)", a, (unsigned long long)secs,
		   (unsigned)rq->by_uid);
	struct report_dest to = banwriter_ban_dest(w, &e.addr);
	report_ban(&to, &now, &e.addr, "manual", secs, 1, -1);
	reply(rq->reply, 0, &e.addr, secs, "banned");
}

void banwriter_manual_handle(struct banwriter *w, struct ban_request *rq)
{
	if (rq->op == BAN_OP_MANUAL_UNBAN)
		manual_unban(w, rq);
	else
		manual_ban(w, rq);
}
