/* writer.c - see writer.h. The thread: the ban queue, retries, timers, and what follows from
 * the planner's decisions (ban/plan.h): logs, events, offences, the ban table and the stats.
 * The sets are reached through a backend (ban/backend.h). Bans are kernel set elements with a
 * timeout; the kernel expires them, so the writer never has to remember to unban. */
#include "ban/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ban/active.h"
#include "ban/backend.h"
#include "ban/bantable.h"
#include "ban/offences.h"
#include "ban/plan.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/histogram.h"
#include "core/log.h"
#include "core/netlist.h"
#include "core/thread.h"
#include "decide/protect.h"
#include "decide/report.h"
#include "detect/tracker.h"
#include "detect/trkcounts.h"
#include "nft/setelem.h"
#include "nft/setlookup.h"

/* A batch that failed as a whole (table inet nfsentry or its sets gone, or the netlink
 * conversation broken) is tried again after 1, 2, 4, 8 and 16 s; a request is given up after
 * RETRY_MAX tries, about half a minute. The sources that keep scanning ask again anyway. */
#define RETRY_FIRST_MS 1000
#define RETRY_LAST_MS 16000
#define RETRY_MAX 6
/* How often the writer checks that table inet nfsentry is still the one it fills. */
#define TABLE_CHECK_MS 1000
/* A full set refuses every ban until elements expire: said at once, then at most this often. */
#define FULL_LOG_MS 10000
/* A full set makes room for a new ban by deleting the one that expires soonest; a candidate
 * the kernel has already let go (it expired, or was deleted by hand, before the minute's
 * sync) is forgotten and the next one tried, this many times at most. */
#define DISPLACE_TRIES 8
/* The saved ban table follows the kernel: re-read every minute (hand-made bans and unbans),
 * written at most every 5 s when it changed, and at the end. */
#define BANS_SYNC_MS 60000
#define BANS_SAVE_MS 5000

/* Who may touch what. Four kinds of fields:
 * - fixed: set by banwriter_new() (evidence: before the start), then only read;
 * - thread: the writer thread's while it runs, its owner's before the start and after the
 *   stop (banwriter_restore(), banwriter_stop(), banwriter_finish()); never locked, except
 *   the two that other threads read: changed under @lock, read by the thread without it;
 * - locked: under @lock, from any thread;
 * - owner: the thread that starts and stops the writer (main's).
 * Only the writer thread changes the ban table; other threads hand it operations: requests
 * through the ban queue, tokens through @tokens, settings through @next. */
struct banwriter {
	/* fixed */
	struct banq *q;
	struct event_sink *events; /* not owned */
	struct evidence *evidence; /* not owned; may be NULL */
	struct ban_backend *be;    /* the sets; used by the thread only */
	bool own_be;               /* made by banwriter_new(): freed with the writer */
	char history_path[PATH_MAX + 16];
	char bans_path[PATH_MAX + 16];
	uint32_t max_bans;
	uint8_t key[16];

	pthread_mutex_t lock; /* guards the locked fields below */

	/* thread, but changed under @lock: what the sets hold, for restoring after a reboot. The
	 * thread reads it without the lock (no one else changes it); banwriter_list() reads it under
	 * the lock. A put from another thread while the thread walks the LRU list would move a node
	 * to the head, end the walk early, and state_dir/bans was written short (issue 12). */
	struct bantable *bans;
	/* thread, but changed under @lock: the settings in use, copied by banwriter_allow() and
	 * banwriter_set_protected() under the lock. Never changed in place: replaced by @next. */
	struct ban_settings *cur;
	/* locked */
	struct ban_settings *next;   /* set by reconfigure, taken by the thread */
	struct banwriter_stats stats;
	/* Evidence tokens of bans (banwriter_set_token()), put into the table by the thread: only
	 * addr and token are set. A table of its own, so that a token sent twice is kept once. */
	struct bantable *tokens;
	bool started; /* the thread exists: settings go through @next (read by its owner without the lock) */

	/* owner (thread_running() from any thread): started and stopped the one way (core/thread.h) */
	struct nfs_thread thread;
	bool stopped; /* the thread ran and was stopped: banwriter_finish() saves */

	/* thread, from here on */
	struct offences *offences;
	bool bans_dirty;
	int64_t bans_saved_ms, bans_synced_ms; /* clock_mono_ms(), as every interval below */
	/* The offence history changed since it was last written. It is saved like the ban table,
	 * at most every BANS_SAVE_MS: rewriting and fsyncing up to max_history lines after every
	 * batch stalled the writer in a storm until the ban queue overflowed (docs/benchmarks.md,
	 * "Ban path"). */
	bool offences_dirty;
	int64_t offences_saved_ms;
	struct ban_request req[NFTSET_BATCH_MAX];
	struct ban_plan plan;                 /* of the burst being handled */
	struct ban_active act[NFTSET_BATCH_MAX]; /* what the ruleset saw of its sources */
	/* Requests of failed batches, tried again together at retry_due_ms; the backoff doubles
	 * with each failed round. again: the round being tried. */
	struct ban_request retry[NFTSET_BATCH_MAX], again[NFTSET_BATCH_MAX];
	size_t nretry;
	unsigned retry_round;
	int64_t retry_due_ms;
	bool final; /* stopping: a failed batch is given up, not kept */
	/* The table we fill (its kernel handle), and whether we saw it gone. */
	uint64_t table_handle;
	bool table_gone;
	int64_t table_checked_ms;
	/* Bans a full set refused since the last line about it. */
	uint64_t full_refused;
	int64_t full_logged_ms;
	struct nfs_addr full_last;
	const char *full_set, *displaced_set; /* the sets those were in (static names) */
	/* Bans that gave way to new ones in a full set since the last line about it, and the last
	 * of them: which ban left, how long it had to run, and which came in. */
	uint64_t displaced;
	int64_t displaced_logged_ms, displaced_left_ms;
	struct nfs_addr displaced_out, displaced_in;
	struct ban_active_asker asker; /* the questions about active peers of one burst */
};

const uint64_t banwriter_latency_le_us[BANWRITER_LATENCY_BUCKETS - 1] = { 100, 250, 500, 1000, 2500,
									      5000, 10000, 50000, 250000 };

static struct ban_settings *settings_from(const struct nfs_config *c, const struct netlist *protect,
				      const struct protect_ends *ends)
{
	struct ban_settings *s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	s->duration = c->duration;
	s->max_duration = c->max_duration;
	s->forget = c->forget;
	s->ipv6_prefix = c->ipv6_prefix;
	s->active_peers = c->active_peers;
	s->factor = c->factor;
	s->allow = c->allow;
	if (protect)
		s->protect = *protect;
	else
		s->protect.n = 0;
	s->ends = ends ? *ends : (struct protect_ends){ s->protect.n, s->protect.n };
	return s;
}

int banwriter_new(struct banwriter **out, const struct nfs_config *c, struct banq *q, struct event_sink *events,
		  const uint8_t key16[16])
{
	struct ban_backend *be;
	struct banwriter *w;
	int r = ban_backend_nft_new(&be);

	if (r < 0) {
		log_err("ban writer: cannot open a netfilter netlink socket: %s", strerror(-r));
		return r;
	}
	r = banwriter_new_backend(&w, c, q, events, key16, be);
	if (r < 0) {
		ban_backend_free(be);
		return r;
	}
	w->own_be = true;
	*out = w;
	return 0;
}

static void writer_wake(void *arg);

int banwriter_new_backend(struct banwriter **out, const struct nfs_config *c, struct banq *q,
			  struct event_sink *events, const uint8_t key16[16], struct ban_backend *be)
{
	struct banwriter *w = calloc(1, sizeof(*w));
	unsigned bad = 0;
	int r;

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	r = thread_init(&w->thread, writer_wake, w);
	if (r < 0) {
		log_err("ban writer: cannot make its stop descriptor: %s", strerror(-r));
		goto fail;
	}
	w->be = be;
	w->q = q;
	w->events = events;
	snprintf(w->history_path, sizeof(w->history_path), "%s/offences", c->state_dir);
	snprintf(w->bans_path, sizeof(w->bans_path), "%s/bans", c->state_dir);
	memcpy(w->key, key16, sizeof(w->key));
	w->max_bans = (uint32_t)c->max_history;
	/* Every timer due at once, as it was on the wall clock: the monotonic one may be young. */
	w->bans_saved_ms = w->bans_synced_ms = w->offences_saved_ms = w->table_checked_ms =
		clock_mono_ms() - BANS_SYNC_MS;
	w->cur = settings_from(c, NULL, NULL);
	offences_new(&w->offences, (uint32_t)c->max_history, key16);
	bantable_new(&w->bans, w->max_bans, key16);
	bantable_new(&w->tokens, w->max_bans, key16);
	if (!w->cur || !w->offences || !w->bans || !w->tokens) {
		log_err("ban writer: out of memory");
		r = -ENOMEM;
		goto fail;
	}
	r = offences_load(w->offences, w->history_path, &bad);
	if (r < 0)
		log_warn("%s: cannot read offence history (%s); escalation starts afresh", w->history_path, strerror(-r));
	else if (r > 0)
		log_info("%s: %d offenders remembered", w->history_path, r);
	if (bad)
		log_warn("%s: %u unreadable lines skipped", w->history_path, bad);
	*out = w;
	return 0;
fail:
	banwriter_free(w);
	return r;
}

struct sync_ctx {
	struct banwriter *w;
	struct bantable *fresh;
	struct bantable *saved; /* at start: the saved bans, for what the kernel does not keep */
	int64_t now;
	unsigned n;
	uint64_t expired, removed;
};

/* A ban we knew that the kernel no longer holds: it timed out, or someone deleted it. */
static int gone_cb(const struct ban_entry *e, void *data)
{
	struct sync_ctx *c = data;
	if (bantable_get(c->fresh, &e->addr))
		return 0;
	if (e->until_ms <= c->now + 2000)
		c->expired++;
	else
		c->removed++;
	return 0;
}

/* One element of the kernel sets into the fresh table. Offence numbers come from what we
 * knew; a ban we never made (added by hand, or history lost) is adopted as an offence. At
 * start we know nothing yet but the saved table: the kernel keeps only address and time, so
 * the detector, offence and token of a ban that outlived a restart come from there. */
static int sync_cb(const struct nftset_elem *e, void *data)
{
	struct sync_ctx *c = data;
	const struct ban_entry *old = bantable_get(c->w->bans, &e->addr);
	if (!old && c->saved)
		old = bantable_get(c->saved, &e->addr);
	uint32_t offence = old ? old->offence : offences_count(c->w->offences, &e->addr, c->now / 1000, c->w->cur->forget);

	if (offence == 0) {
		offence = 1;
		if (offences_record(c->w->offences, &e->addr, 1, c->now / 1000) == 0)
			c->w->offences_dirty = true;
	}
	/* A prefix found in bannet4 or bannet6 is a distributed scan's ban, whoever made it. */
	struct ban_entry b = {
		.addr = e->addr, .offence = offence, .det = old ? old->det : e->net ? DET_DSCAN : DET_MANUAL,
		.timeout_s = e->timeout_ms ? e->timeout_ms / 1000 : 365ULL * 86400,
		.until_ms = c->now + (int64_t)(e->expires_ms ? e->expires_ms : 365ULL * 86400000),
	};
	if (old)
		memcpy(b.token, old->token, sizeof(b.token));
	bantable_put(c->fresh, &b);
	c->n++;
	return 0;
}

/* The sets are re-read at the writer's next turn, not a minute later. */
static void sync_soon(struct banwriter *w)
{
	w->bans_synced_ms = clock_mono_ms() - BANS_SYNC_MS;
}

/* Rebuilds the ban table from the kernel sets: bans added by hand are adopted, bans removed
 * by hand are forgotten (and counted as expired or removed when @count_gone). @saved (may be
 * NULL; borrowed) tells what the kernel does not about bans the table does not hold yet.
 * Returns 0 and the count per family, or -errno. */
static int sync_from_kernel(struct banwriter *w, struct bantable *saved, unsigned *n4, unsigned *n6,
			    bool count_gone)
{
	struct sync_ctx c = { .w = w, .now = clock_wall_ms(), .saved = saved };
	int r;

	if (bantable_new(&c.fresh, w->max_bans, w->key) < 0)
		return -ENOMEM;
	r = w->be->ops->dump(w->be, NFTSET_BAN4, sync_cb, &c);
	if (r == 0)
		r = w->be->ops->dump(w->be, NFTSET_BANNET4, sync_cb, &c);
	unsigned four = c.n;
	if (r == 0) {
		c.n = 0;
		r = w->be->ops->dump(w->be, NFTSET_BAN6, sync_cb, &c);
	}
	if (r == 0)
		r = w->be->ops->dump(w->be, NFTSET_BANNET6, sync_cb, &c);
	if (r < 0) {
		bantable_free(c.fresh);
		return r;
	}
	pthread_mutex_lock(&w->lock);
	if (count_gone)
		bantable_foreach(w->bans, gone_cb, &c);
	bantable_free(w->bans);
	w->bans = c.fresh;
	w->bans_synced_ms = clock_mono_ms();
	w->stats.expired += c.expired;
	w->stats.removed += c.removed;
	w->stats.active = bantable_size(w->bans);
	pthread_mutex_unlock(&w->lock);
	w->bans_dirty = true;
	if (n4)
		*n4 = four;
	if (n6)
		*n6 = c.n;
	return 0;
}

struct readd_ctx {
	struct banwriter *w;
	int64_t now;
	struct nftset_elem elems[NFTSET_BATCH_MAX];
	struct ban_entry from[NFTSET_BATCH_MAX];
	size_t n;
	unsigned restored, expired, failed;
	int err;
};

static void readd_flush(struct readd_ctx *c)
{
	int res[NFTSET_BATCH_MAX];
	int r;

	if (c->n == 0)
		return;
	r = c->w->be->ops->commit(c->w->be, BAN_BACKEND_ADD, c->elems, c->n, res);
	for (size_t i = 0; i < c->n; i++) {
		if (r >= 0 && (res[i] == 0 || res[i] == -EEXIST)) {
			pthread_mutex_lock(&c->w->lock);
			bantable_put(c->w->bans, &c->from[i]);
			pthread_mutex_unlock(&c->w->lock);
			c->restored++;
		} else {
			c->failed++;
			if (!c->err)
				c->err = r < 0 ? r : res[i];
		}
	}
	c->n = 0;
}

/* A saved ban the kernel lost (a reboot, a flushed ruleset): back in, with the time left. */
static int readd_cb(const struct ban_entry *e, void *data)
{
	struct readd_ctx *c = data;

	pthread_mutex_lock(&c->w->lock);
	bool in_kernel = bantable_get(c->w->bans, &e->addr) != NULL;
	pthread_mutex_unlock(&c->w->lock);
	if (in_kernel)
		return 0; /* the kernel has it: it knows best */
	if (e->until_ms <= c->now + 1000) {
		c->expired++;
		return 0;
	}
	c->elems[c->n] = (struct nftset_elem){
		.addr = e->addr, .net = e->det == DET_DSCAN, .timeout_ms = e->timeout_s * 1000,
		.expires_ms = (uint64_t)(e->until_ms - c->now),
	};
	c->from[c->n++] = *e;
	if (c->n == NFTSET_BATCH_MAX)
		readd_flush(c);
	return 0;
}

struct readd_result {
	unsigned restored, expired, failed;
	int err; /* why the first failed one failed */
};

/* Puts the bans of @known that the ban table (just read from the kernel) lacks back into the
 * sets, with their time left. Returns 0 and the counts in @out, or -ENOMEM. */
static int readd_missing(struct banwriter *w, struct bantable *known, struct readd_result *out)
{
	struct readd_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->w = w;
	c->now = clock_wall_ms();
	bantable_foreach(known, readd_cb, c);
	readd_flush(c);
	out->restored = c->restored;
	out->expired = c->expired;
	out->failed = c->failed;
	out->err = c->err;
	free(c);
	pthread_mutex_lock(&w->lock);
	w->stats.restored += out->restored;
	w->stats.active = bantable_size(w->bans);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int banwriter_restore(struct banwriter *w, struct banwriter_restored *out)
{
	struct bantable *saved = NULL;
	unsigned bad = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (bantable_new(&saved, w->max_bans, w->key) < 0)
		return -ENOMEM;
	r = bantable_load(saved, w->bans_path, &bad);
	if (r < 0)
		log_warn("%s: cannot read the saved bans (%s); only the kernel's are known", w->bans_path, strerror(-r));
	if (bad)
		log_warn("%s: %u unreadable lines skipped", w->bans_path, bad);
	r = sync_from_kernel(w, saved, &out->in_kernel4, &out->in_kernel6, true);
	if (r < 0) {
		bantable_free(saved);
		return r;
	}
	if (w->be->ops->table_handle(w->be, &w->table_handle) < 0)
		w->table_handle = 0; /* learnt at the first check */
	struct readd_result c;
	r = readd_missing(w, saved, &c);
	bantable_free(saved);
	if (r < 0)
		return r;
	out->restored = c.restored;
	out->expired = c.expired;
	out->failed = c.failed;
	if (c.failed)
		log_err("%u saved bans could not be restored: %s", c.failed, strerror(-c.err));
	r = bantable_save(w->bans, w->bans_path, clock_wall_ms());
	if (r < 0)
		log_err("%s: cannot save the bans: %s (they will not survive a reboot)", w->bans_path, strerror(-r));
	w->bans_dirty = false;
	w->bans_saved_ms = clock_mono_ms();
	return 0;
}

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

/* A ban's record holds the packets its source sent (the ring is keyed as the ban is), and
 * its token comes back to the ban table. */
static struct report_dest ban_dest(struct banwriter *w, const struct nfs_addr *addr)
{
	struct report_dest d = { .events = w->events, .evidence = w->evidence };
	pktring_source_key(&d.ctx.ring, addr);
	d.ctx.ban = true;
	d.ctx.ban_addr = *addr;
	return d;
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

static int set_full_displace(struct banwriter *w, const struct nftset_elem *in, struct banwriter_stats *d);

/* A ban or unban asked for on the control socket: one transaction, answered at once. The
 * same rules as for automatic bans: allowlisted and protected addresses are refused, and in
 * a full set the automatic ban that expires soonest gives way. */
static void handle_manual(struct banwriter *w, struct ban_request *rq)
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
		sync_soon(w); /* the table follows */
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
	if (r >= 0 && res == -ENFILE && set_full_displace(w, &e, &d) == 0)
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
	struct report_dest to = ban_dest(w, &e.addr);
	report_ban(&to, &now, &e.addr, "manual", secs, 1, -1);
	reply(rq->reply, 0, &e.addr, secs, "banned");
}

static int64_t retry_delay_ms(unsigned round)
{
	int64_t d = (int64_t)RETRY_FIRST_MS << (round < 8 ? round : 8);
	return d < RETRY_LAST_MS ? d : RETRY_LAST_MS;
}

/* Keeps @rq for the next round of retries. Returns false when it is given up instead: it
 * has had RETRY_MAX tries, the list is full, or the writer is stopping. */
static bool retry_keep(struct banwriter *w, const struct ban_request *rq, int64_t now)
{
	if (w->final || rq->retries + 1 >= RETRY_MAX || w->nretry == NFTSET_BATCH_MAX)
		return false;
	if (w->nretry == 0)
		w->retry_due_ms = now + retry_delay_ms(w->retry_round);
	w->retry[w->nretry] = *rq;
	w->retry[w->nretry++].retries++;
	return true;
}

/* The @n requests at @idx of @req had no outcome: their batch failed as a whole (@err from
 * the conversation), or the kernel had no set to put them in (-ENOENT). One line says what
 * happens to them: another try later, or given up. */
static void batch_failed(struct banwriter *w, const struct ban_request *req, const size_t *idx, size_t n, int err,
			 struct banwriter_stats *d)
{
	int64_t now = clock_mono_ms();
	size_t kept = 0;
	unsigned tries = 0;
	char a[NFS_ADDR_STRLEN], what[160];

	for (size_t i = 0; i < n; i++) {
		const struct ban_request *rq = &req[idx[i]];
		if (rq->retries + 1u > tries)
			tries = rq->retries + 1u;
		kept += retry_keep(w, rq, now);
	}
	d->batch_errors++;
	d->given_up += n - kept;
	if (err == -ENOENT)
		w->table_gone = true; /* its bans go back in when it is loaded again */
	long long in_s = (w->retry_due_ms - now + 999) / 1000;
	if (w->final)
		snprintf(what, sizeof(what), "giving up on them: nfsentry is stopping");
	else if (kept == n)
		snprintf(what, sizeof(what), "retrying in %llds (attempt %u of %d failed)", in_s, tries, RETRY_MAX);
	else if (kept == 0)
		snprintf(what, sizeof(what), "giving up on them after %u attempts", tries);
	else
		snprintf(what, sizeof(what), "retrying %zu in %llds, giving up on %zu after %d attempts", kept, in_s,
			 n - kept, RETRY_MAX);
	log_err("ban batch of %zu (%s%s) failed: %s%s; %s", n, nfs_addr_format(&req[idx[0]].addr, a, sizeof(a)),
		n > 1 ? ", ..." : "", strerror(-err),
		err == -ENOENT ? " (table inet nfsentry or its sets are gone: run nfsentry load-ruleset)" : "", what);
}

/* Says that a set is full, at once and then at most once per FULL_LOG_MS with the count. */
static void full_report(struct banwriter *w, int64_t now)
{
	char a[NFS_ADDR_STRLEN];

	if (!w->full_refused || (w->full_logged_ms && now - w->full_logged_ms < FULL_LOG_MS))
		return;
	log_err("set %s is full (its size in nfsentry.nft): %llu bans refused%s, the last of %s; they are not in the "
		"kernel (nfsentry_bans_refused_total{reason=\"kernel\"})", w->full_set,
		(unsigned long long)w->full_refused, w->full_logged_ms ? " since the last report" : "",
		nfs_addr_format(&w->full_last, a, sizeof(a)));
	w->full_refused = 0;
	w->full_logged_ms = now;
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

/* Says that bans gave way in a full set, at once and then at most once per FULL_LOG_MS. */
static void displace_report(struct banwriter *w, int64_t now)
{
	char o[NFS_ADDR_STRLEN], i[NFS_ADDR_STRLEN], left[32];

	if (!w->displaced || (w->displaced_logged_ms && now - w->displaced_logged_ms < FULL_LOG_MS))
		return;
	duration_format((uint64_t)(w->displaced_left_ms > 0 ? w->displaced_left_ms / 1000 : 0), left, sizeof(left));
	log_warn("set %s is full (its size in nfsentry.nft): %llu bans gave way to new ones%s, the ones that expired "
		 "soonest; the last was %s (%s left), for %s (nfsentry_bans_displaced_total)",
		 w->displaced_set, (unsigned long long)w->displaced,
		 w->displaced_logged_ms ? " since the last report" : "", nfs_addr_format(&w->displaced_out, o, sizeof(o)),
		 left, nfs_addr_format(&w->displaced_in, i, sizeof(i)));
	w->displaced = 0;
	w->displaced_logged_ms = now;
}

struct soonest_ctx {
	const struct nftset_elem *in;
	struct ban_entry found;
	bool ok;
};

/* The ban of @in's set that expires soonest. Bans made by hand (through the control socket,
 * or with nft and adopted) are the operator's and never give way. */
static int soonest_cb(const struct ban_entry *e, void *data)
{
	struct soonest_ctx *c = data;

	/* Only a ban of the same set makes room: ban4/ban6 hold sources, bannet4/bannet6 prefixes. */
	if (e->addr.family != c->in->addr.family || (e->det == DET_DSCAN) != c->in->net || e->det == DET_MANUAL ||
	    nfs_addr_equal(&e->addr, &c->in->addr))
		return 0;
	if (!c->ok || e->until_ms < c->found.until_ms) {
		c->found = *e;
		c->ok = true;
	}
	return 0;
}

/* The set of @in is full (the kernel said ENFILE): the ban that expires soonest gives way to
 * @in, in one transaction. A set filled with bans of forged sources thus cannot keep the next
 * real scanner out, and the long bans of repeat offenders are the last to go (docs/security.md,
 * "Item 10"). Returns 0 when @in is in the set, or the -errno of the last try (-ENFILE: no
 * ban could give way). */
static int set_full_displace(struct banwriter *w, const struct nftset_elem *in, struct banwriter_stats *d)
{
	int r = -ENFILE;

	for (int tries = 0; tries < DISPLACE_TRIES; tries++) {
		struct soonest_ctx c = { .in = in };
		int res[2] = { 0, 0 };

		bantable_foreach(w->bans, soonest_cb, &c);
		if (!c.ok)
			return -ENFILE;
		r = w->be->ops->swap(w->be, &(struct nftset_elem){ .addr = c.found.addr, .net = c.found.det == DET_DSCAN },
				     in, res);
		if (r == -ENOENT && res[0] == -ENOENT) { /* already gone from the kernel: not a ban */
			pthread_mutex_lock(&w->lock);
			bantable_del(w->bans, &c.found.addr);
			pthread_mutex_unlock(&w->lock);
			r = -ENFILE;
			continue;
		}
		if (r < 0)
			return r;
		int64_t now = clock_mono_ms();
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		pthread_mutex_lock(&w->lock);
		bantable_del(w->bans, &c.found.addr);
		pthread_mutex_unlock(&w->lock);
		w->bans_dirty = true;
		d->displaced++;
		w->displaced++;
		w->displaced_out = c.found.addr;
		w->displaced_in = in->addr;
		w->displaced_set = nftset_elem_set(in);
		w->displaced_left_ms = c.found.until_ms - clock_wall_ms();
		report_unban(w->events, &t, &c.found.addr, "displaced");
		displace_report(w, now);
		return 0;
	}
	return r;
}

/* One request's outcome that needs no kernel: the narrowing, the duplicates and the skips,
 * logged and reported here, once. Manual requests are answered here too, in their turn. */
static void step_apply(struct banwriter *w, struct ban_request *rq, const struct ban_step *st,
		       const struct ban_active *act, struct banwriter_stats *d)
{
	const struct ban_settings *s = w->cur;
	char a[NFS_ADDR_STRLEN], nb[NFS_ADDR_STRLEN], why[NFS_ADDR_STRLEN + 24];

	if (st->verdict == BAN_VERDICT_MANUAL) {
		handle_manual(w, rq);
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
static void handle_burst(struct banwriter *w, struct ban_request *req, size_t n)
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
		batch_failed(w, req, from, m, r, &d);
		goto stats;
	}
	for (size_t k = 0; k < m; k++) {
		struct ban_request *rq = &req[from[k]];
		char why[256], dur[32];
		enum ban_answer ans = ban_plan_answer(res[k]);
		nfs_addr_format(&elems[k].addr, a, sizeof(a));
		if (ans == BAN_ANSWER_FULL && set_full_displace(w, &elems[k], &d) == 0)
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
		pthread_mutex_lock(&w->lock);
		bantable_put(w->bans, &(struct ban_entry){ .addr = elems[k].addr, .offence = offence[k],
							   .timeout_s = elems[k].timeout_ms / 1000,
							   .until_ms = now + (int64_t)elems[k].timeout_ms, .det = rq->det });
		pthread_mutex_unlock(&w->lock);
		w->bans_dirty = true;
		log_notice("banned %s for %s (offence %u): %s; in the kernel %lld us after the threshold packet %s", a,
			   dur, offence[k], why, (long long)lat_us, rq->t_kernel ? "arrived" : "was received");
		struct report_dest to = ban_dest(w, &elems[k].addr);
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
		batch_failed(w, req, no_set, n_no_set, -ENOENT, &d);
	full_report(w, clock_mono_ms());
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

/* The requests of failed batches, once their time has come (@final: now, for the last time). */
static void retry_run(struct banwriter *w, bool final)
{
	size_t n = w->nretry;

	if (n == 0 || (!final && clock_mono_ms() < w->retry_due_ms))
		return;
	memcpy(w->again, w->retry, n * sizeof(*w->again));
	w->nretry = 0;
	w->final = final;
	w->retry_round++; /* what failures now wait for; back to 0 once a round goes through */
	pthread_mutex_lock(&w->lock);
	w->stats.retried += n;
	pthread_mutex_unlock(&w->lock);
	handle_burst(w, w->again, n);
	if (w->nretry == 0)
		w->retry_round = 0;
}

static int copy_cb(const struct ban_entry *e, void *data)
{
	(void)bantable_put(data, e);
	return 0;
}

/* Notices table inet nfsentry gone, and back (a new table: a new handle, empty sets). The
 * bans it lost go back in with their time left, and the bans waiting for it are retried. */
static void check_table(struct banwriter *w, int64_t now)
{
	uint64_t h;
	int r;

	if (now - w->table_checked_ms < TABLE_CHECK_MS)
		return;
	w->table_checked_ms = now;
	r = w->be->ops->table_handle(w->be, &h);
	if (r == -ENOENT) {
		if (!w->table_gone)
			log_err("table inet nfsentry is gone: nothing is queued or banned until it is loaded again "
				"(nfsentry load-ruleset); its %zu bans go back in then", bantable_size(w->bans));
		w->table_gone = true;
		return;
	}
	if (r < 0 || (!w->table_gone && (!w->table_handle || h == w->table_handle))) {
		if (r == 0)
			w->table_handle = h;
		return;
	}
	struct bantable *known = NULL;
	if (bantable_new(&known, w->max_bans, w->key) < 0)
		return;
	pthread_mutex_lock(&w->lock);
	bantable_foreach(w->bans, copy_cb, known);
	pthread_mutex_unlock(&w->lock);
	/* A table without ban4 or ban6 is not back yet: the batches say so, and this waits. */
	struct readd_result c;
	if (sync_from_kernel(w, NULL, NULL, NULL, false) < 0 || readd_missing(w, known, &c) < 0) {
		bantable_free(known);
		return;
	}
	bantable_free(known);
	log_notice("table inet nfsentry was loaded again: %u bans put back with their time left (%u had expired "
		   "meanwhile)", c.restored, c.expired);
	if (c.failed)
		log_err("%u bans could not be put back: %s", c.failed, strerror(-c.err));
	w->table_gone = false;
	w->table_handle = h;
	w->retry_due_ms = now; /* what waited for the table goes in now */
}

static void keep_bans(struct banwriter *w, bool final)
{
	int64_t now = clock_mono_ms();
	int r;

	check_table(w, now);
	full_report(w, now);
	displace_report(w, now);
	if (now - w->bans_synced_ms >= BANS_SYNC_MS || final) {
		r = sync_from_kernel(w, NULL, NULL, NULL, true);
		if (r < 0) {
			w->bans_synced_ms = now; /* retried in a minute; logged once per try */
			log_warn("cannot re-read the ban sets: %s", strerror(-r));
		}
	}
	if (w->bans_dirty && (now - w->bans_saved_ms >= BANS_SAVE_MS || final)) {
		r = bantable_save(w->bans, w->bans_path, clock_wall_ms()); /* the bans' ends are wall time */
		if (r < 0)
			log_err("%s: cannot save the bans: %s (they will not survive a reboot)", w->bans_path, strerror(-r));
		w->bans_dirty = false;
		w->bans_saved_ms = now;
	}
	if (w->offences_dirty && (now - w->offences_saved_ms >= BANS_SAVE_MS || final)) {
		r = offences_save(w->offences, w->history_path);
		if (r < 0)
			log_err("%s: cannot save offence history: %s (escalation will not survive a restart)",
				w->history_path, strerror(-r));
		w->offences_dirty = false;
		w->offences_saved_ms = now;
	}
}

struct protected_ctx {
	const struct ban_settings *s;
	struct nftset_elem e[NFTSET_BATCH_MAX];
	size_t net[NFTSET_BATCH_MAX]; /* the protected entry inside each */
	size_t n;
};

static int protected_cb(const struct ban_entry *e, void *data)
{
	struct protected_ctx *c = data;
	const struct nfs_addr *net = netlist_overlap(&c->s->protect, &e->addr);

	if (!net)
		return 0;
	c->e[c->n] = (struct nftset_elem){ .addr = e->addr };
	c->net[c->n++] = (size_t)(net - c->s->protect.net);
	return c->n == NFTSET_BATCH_MAX; /* the rest at the next change; more is not a real case */
}

/* A peer that became protected while banned (a new gateway or resolver that a forged scan had
 * already got banned) would stay cut off until the ban expires: its ban is lifted, and said. */
static void unban_protected(struct banwriter *w)
{
	struct protected_ctx *c = calloc(1, sizeof(*c));
	int res[NFTSET_BATCH_MAX];
	char a[NFS_ADDR_STRLEN], nb[NFS_ADDR_STRLEN];

	if (!c)
		return;
	c->s = w->cur;
	pthread_mutex_lock(&w->lock);
	bantable_foreach(w->bans, protected_cb, c);
	pthread_mutex_unlock(&w->lock);
	int r = c->n ? w->be->ops->commit(w->be, BAN_BACKEND_DEL, c->e, c->n, res) : 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < c->n; i++) {
		const struct nfs_addr *net = &c->s->protect.net[c->net[i]];
		const char *kind = protect_kind(&c->s->ends, c->net[i]);
		nfs_addr_format(&c->e[i].addr, a, sizeof(a));
		nfs_addr_format(net, nb, sizeof(nb));
		if (r < 0 || (res[i] < 0 && res[i] != -ENOENT)) {
			log_err("%s is banned but now holds a protected peer %s (%s); cannot lift the ban: %s", a, nb, kind,
				strerror(-(r < 0 ? r : res[i])));
			continue;
		}
		if (res[i] == -ENOENT)
			continue; /* expired meanwhile */
		log_notice("unbanned %s: it holds a protected peer %s (%s) now", a, nb, kind);
		report_unban(w->events, &now, &c->e[i].addr, "protected");
	}
	if (c->n)
		sync_soon(w); /* the table follows */
	free(c);
}

/* Only noted here: the writer thread walks the table without the lock (see bans). */
void banwriter_set_token(struct banwriter *w, const struct nfs_addr *addr, const char *token)
{
	struct ban_entry e = { .addr = *addr };

	snprintf(e.token, sizeof(e.token), "%s", token);
	pthread_mutex_lock(&w->lock);
	int r = bantable_put(w->tokens, &e);
	pthread_mutex_unlock(&w->lock);
	if (r < 0)
		log_err("ban writer: out of memory; the evidence token of a ban is not kept in state_dir/bans");
}

static int token_cb(const struct ban_entry *t, void *data)
{
	struct banwriter *w = data;
	const struct ban_entry *old = bantable_get(w->bans, &t->addr);

	if (old) { /* else gone meanwhile */
		struct ban_entry e = *old;
		memcpy(e.token, t->token, sizeof(e.token));
		bantable_put(w->bans, &e);
		w->bans_dirty = true;
	}
	return 0;
}

/* The writer thread's side of banwriter_set_token(): the tokens into the table. */
static void tokens_take(struct banwriter *w)
{
	pthread_mutex_lock(&w->lock);
	bantable_foreach(w->tokens, token_cb, w);
	bantable_clear(w->tokens);
	pthread_mutex_unlock(&w->lock);
}

/* thread_stop()'s wake: the thread sleeps in banq_pop(), which banq_close() ends under the
 * queue's lock; what was queued is still popped, and the thread stops once the queue is empty. */
static void writer_wake(void *arg)
{
	struct banwriter *w = arg;

	banq_close(w->q);
}

static void *writer_main(void *arg)
{
	struct banwriter *w = arg;
	size_t n;

	unban_protected(w);
	for (;;) {
		int wait_ms = 1000;
		if (w->nretry) {
			int64_t d = w->retry_due_ms - clock_mono_ms();
			wait_ms = d <= 0 ? 0 : d < wait_ms ? (int)d : wait_ms;
		}
		n = banq_pop(w->q, w->req, NFTSET_BATCH_MAX, wait_ms);
		pthread_mutex_lock(&w->lock);
		bool changed = w->next != NULL;
		if (w->next) {
			free(w->cur);
			w->cur = w->next;
			w->next = NULL;
		}
		pthread_mutex_unlock(&w->lock);
		if (changed)
			unban_protected(w);
		if (n > 0)
			handle_burst(w, w->req, n);
		else if (!thread_running(&w->thread))
			break;
		tokens_take(w);
		keep_bans(w, false);
		retry_run(w, false);
	}
	return NULL;
}

void banwriter_set_evidence(struct banwriter *w, struct evidence *ev)
{
	w->evidence = ev;
}

int banwriter_start(struct banwriter *w)
{
	int r = thread_start(&w->thread, writer_main, w);
	if (r < 0)
		return r;
	pthread_mutex_lock(&w->lock);
	w->started = true;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* Hands @s to the thread (taken before its next request), or applies it now before the start. */
static void settings_swap(struct banwriter *w, struct ban_settings *s)
{
	free(w->next);
	w->next = s;
	if (!w->started) { /* not running yet: apply now */
		free(w->cur);
		w->cur = s;
		w->next = NULL;
	}
}

void banwriter_reconfigure(struct banwriter *w, const struct nfs_config *c, const struct netlist *protect,
			   const struct protect_ends *ends)
{
	struct ban_settings *s = settings_from(c, protect, ends);
	if (!s) {
		log_err("ban writer: out of memory; keeping the previous ban settings");
		return;
	}
	pthread_mutex_lock(&w->lock);
	settings_swap(w, s);
	pthread_mutex_unlock(&w->lock);
}

int banwriter_set_protected(struct banwriter *w, const struct netlist *protect, const struct protect_ends *ends)
{
	struct ban_settings *s = malloc(sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&w->lock);
	*s = w->next ? *w->next : *w->cur;
	s->protect = *protect;
	s->ends = *ends;
	settings_swap(w, s);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void banwriter_stop(struct banwriter *w)
{
	if (!w || !w->started)
		return;
	thread_stop(&w->thread); /* it drains what is queued (writer_wake()), then sees the state */
	pthread_mutex_lock(&w->lock);
	w->started = false;
	pthread_mutex_unlock(&w->lock);
	w->stopped = true;
	retry_run(w, true); /* one last try; what fails now is given up, and said so */
}

/* The thread is gone: this one is the writer thread now. */
void banwriter_finish(struct banwriter *w)
{
	if (!w || !w->stopped)
		return;
	w->stopped = false;
	tokens_take(w);
	keep_bans(w, true);
}

void banwriter_free(struct banwriter *w)
{
	if (!w)
		return;
	banwriter_stop(w);
	banwriter_finish(w);
	if (w->own_be)
		ban_backend_free(w->be);
	offences_free(w->offences);
	bantable_free(w->bans);
	sodium_memzero(w->key, sizeof(w->key));
	free(w->cur);
	free(w->next);
	bantable_free(w->tokens);
	thread_deinit(&w->thread);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void banwriter_list(struct banwriter *w, int (*cb)(const struct ban_entry *e, void *data), void *data)
{
	pthread_mutex_lock(&w->lock);
	bantable_foreach(w->bans, cb, data);
	pthread_mutex_unlock(&w->lock);
}

int banwriter_allow(struct banwriter *w, const struct nfs_addr *net)
{
	struct ban_settings *s = malloc(sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	/* Settings are never changed in place: a new copy goes to the thread, which takes it
	 * before its next request (cur and next only change under this lock). */
	pthread_mutex_lock(&w->lock);
	*s = w->next ? *w->next : *w->cur;
	r = netlist_add(&s->allow, net);
	if (r == 0) {
		free(w->next);
		w->next = s;
		if (!w->started) {
			free(w->cur);
			w->cur = s;
			w->next = NULL;
		}
	} else {
		free(s);
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

void banwriter_get_stats(struct banwriter *w, struct banwriter_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}
