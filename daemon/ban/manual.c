/* manual.c - bans and unbans asked for on the control socket (nfsentryctl ban, unban): one
 * transaction each, answered at once through the request's reply. Writer thread only, in the
 * order of the ban queue, so a ban by hand and the automatic bans see the same table. */
#include "ban/writer-int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/detector.h"
#include "core/log.h"
#include "decide/protect.h"

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

struct find_ctx {
	const struct nfs_addr *host;
	struct ban_entry found;
	bool ok;
};

static int find_cb(const struct ban_entry *e, void *data)
{
	struct find_ctx *c = data;
	if (nfs_addr_equal(&e->addr, c->host) || nfs_addr_in(&e->addr, c->host)) {
		c->found = *e;
		c->ok = true;
		return 1;
	}
	return 0;
}

/* A ban or unban asked for on the control socket: one transaction, answered at once. The
 * same rules as for automatic bans: allowlisted and protected addresses are refused, and in
 * a full set the automatic ban that expires soonest gives way. */
void banwriter_manual_handle(struct banwriter *w, struct ban_request *rq)
{
	struct ban_settings *s = w->cur;
	struct nftset_elem e = { .addr = rq->host };
	char a[NFS_ADDR_STRLEN], nb[NFS_ADDR_STRLEN];
	size_t net;
	int res, r;

	if (rq->op == BAN_OP_MANUAL_UNBAN) {
		struct find_ctx f = { .host = &rq->host };
		bantable_foreach(w->bans, find_cb, &f);
		if (f.ok) {
			e.addr = f.found.addr;
			e.net = f.found.det == DET_DSCAN;
		}
		else if (e.addr.family == AF_INET6 && e.addr.plen == 128)
			e.addr = nfs_addr_prefix(&e.addr, (unsigned)s->ipv6_prefix);
		r = w->be->ops->commit(w->be, BAN_BACKEND_DEL, &e, 1, &res);
		nfs_addr_format(&e.addr, a, sizeof(a));
		if (r < 0 || res < 0) {
			int err = r < 0 ? r : res;
			reply(rq->reply, err, &e.addr, 0, "%s", err == -ENOENT ? "not banned" : strerror(-err));
			return;
		}
		log_notice("unbanned %s (by hand: uid %u, through the control socket)", a, (unsigned)rq->by_uid);
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		report_unban(w->events, &now, &e.addr, "manual");
		banwriter_sync_soon(w); /* the table follows */
		reply(rq->reply, 0, &e.addr, 0, "unbanned");
		return;
	}
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
	pthread_mutex_lock(&w->lock);
	bantable_put(w->bans, &(struct ban_entry){ .addr = e.addr, .offence = 1, .timeout_s = secs,
						   .until_ms = clock_wall_ms() + (int64_t)secs * 1000,
						   .det = DET_MANUAL });
	w->stats.added++;
	w->stats.displaced += d.displaced;
	w->stats.active = bantable_size(w->bans);
	pthread_mutex_unlock(&w->lock);
	w->bans_dirty = true;
	log_notice("banned %s for %llus (by hand: uid %u, through the control socket)", a, (unsigned long long)secs,
		   (unsigned)rq->by_uid);
	struct report_dest to = banwriter_ban_dest(w, &e.addr);
	report_ban(&to, &now, &e.addr, "manual", secs, 1, -1);
	reply(rq->reply, 0, &e.addr, secs, "banned");
}
