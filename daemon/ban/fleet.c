/* fleet.c - the fleet's decisions (CrowdSec's, handed over by nfsentry-crowdsec through the
 * control socket's `fleet` command: docs/crowdsec.md). The asker's side (banwriter_fleet())
 * queues a refcounted job and waits for it, bounded; the writer thread's side checks each
 * decision with the same protection as a local ban, commits them NFTSET_BATCH_MAX to a
 * transaction in the fleet's own sets, and keeps the fleet table. A decision is untrusted input
 * from other hosts (docs/security.md, "The fleet"): too wide, protected, allowed and over-bound
 * ones are refused here, never by the bridge alone. */
#include "ban/writer-int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban/feed.h"
#include "core/clock.h"
#include "core/detector.h"
#include "core/duration.h"
#include "core/log.h"
#include "decide/protect.h"

/* A request of protected or allowed addresses says each, up to this many lines; the rest are
 * counted in the request's line (a forged stream must not flood the log). */
#define FLEET_WARN_MAX 16
/* A decision for an address the fleet has banned already extends the ban when it ends this much
 * later: a longer decision that overlaps a shorter one must not leave the address unbanned when
 * the shorter one ends (the bridge unbans only when the LAPI reports the value deleted, which
 * crowdsec 1.4.6 does once the value has no decision left). Repeats of
 * the same decision (the whole stream at the bridge's start) end within seconds of the ban and
 * change nothing. */
#define FLEET_EXTEND_MS 60000

/* Sources no scanner on the Internet has, which a forged decision could use to cut this host off
 * from its own network: "this network" (DHCP clients send from 0.0.0.0), loopback, link-local
 * (the cloud metadata service is 169.254.169.254; IPv6 neighbour discovery runs on fe80::/10),
 * multicast and the reserved rest of IPv4, and IPv4-mapped IPv6. Refused as protected, whatever
 * [allow] networks says. */
static const char *const special_text[] = {
	"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3",
	"::/128", "::1/128", "::ffff:0:0/96", "fe80::/10", "ff00::/8",
};
#define SPECIAL_N (sizeof(special_text) / sizeof(special_text[0]))
static struct nfs_addr special_net[SPECIAL_N];
static pthread_once_t special_once = PTHREAD_ONCE_INIT;

static void special_init(void)
{
	for (size_t i = 0; i < SPECIAL_N; i++)
		nfs_addr_parse(special_text[i], true, &special_net[i]); /* constants: they parse */
}

/* The special-purpose network @p overlaps, or NULL. */
static const struct nfs_addr *special(const struct nfs_addr *p)
{
	pthread_once(&special_once, special_init);
	for (size_t i = 0; i < SPECIAL_N; i++) {
		const struct nfs_addr *net = &special_net[i];
		unsigned plen = net->plen < p->plen ? net->plen : p->plen;
		struct nfs_addr x = nfs_addr_prefix(net, plen), y = nfs_addr_prefix(p, plen);
		if (net->family == p->family && !memcmp(x.a, y.a, 16))
			return net;
	}
	return NULL;
}

const char *ban_fleet_outcome_name(enum ban_fleet_outcome o)
{
	static const char *const names[BAN_FLEET_OUTCOMES] = {
		"banned", "already", "unbanned", "absent", "protected", "allowed", "too_wide", "full", "refused", "invalid",
	};
	return (unsigned)o < BAN_FLEET_OUTCOMES ? names[o] : "?";
}

void banwriter_fleet_job_put(struct ban_fleet_job *job)
{
	pthread_mutex_lock(&job->lock);
	bool last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->cond);
	free(job);
}

/* The asker's side: one request in the ban queue carries the job; a full queue is tried again
 * until @timeout_ms, a closed one means the writer stopped. */
int banwriter_fleet(struct banwriter *w, struct ban_fleet_item *items, size_t n, int timeout_ms)
{
	struct ban_fleet_job *job;
	int r = 0;

	if (n > BAN_FLEET_ITEMS_MAX)
		return -E2BIG;
	job = calloc(1, sizeof(*job) + n * sizeof(*items));
	if (!job)
		return -ENOMEM;
	pthread_mutex_init(&job->lock, NULL);
	clock_cond_init(&job->cond);
	job->refs = 2; /* the asker's and the request's */
	job->n = n;
	if (n)
		memcpy(job->items, items, n * sizeof(*items));
	struct timespec until = clock_mono_after(timeout_ms);
	struct ban_request rq = { .op = BAN_OP_FLEET, .fleet = job };
	for (;;) {
		pthread_mutex_lock(&w->lock);
		bool started = w->started;
		pthread_mutex_unlock(&w->lock);
		if (!started) {
			r = -ESHUTDOWN;
			break;
		}
		if (banq_push(w->q, &rq) == 0)
			break;
		/* Full (a storm of local bans) or closed (stopping): looked at again every 10 ms. */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec)) {
			r = -ETIMEDOUT;
			break;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10000000L }, NULL);
	}
	if (r < 0) {
		job->refs = 1; /* never queued: the request's reference is not held by anyone */
		banwriter_fleet_job_put(job);
		return r;
	}
	int wr = 0;
	pthread_mutex_lock(&job->lock);
	while (!job->done && wr != ETIMEDOUT)
		wr = pthread_cond_timedwait(&job->cond, &job->lock, &until);
	bool done = job->done;
	pthread_mutex_unlock(&job->lock);
	if (done) /* the thread is done with the items: they are ours to read */
		for (size_t i = 0; i < n; i++)
			items[i].outcome = job->items[i].outcome;
	banwriter_fleet_job_put(job);
	return done ? 0 : -ETIMEDOUT;
}

/* What one request did, for its log line. */
struct fleet_run {
	struct banwriter *w;
	const struct ban_settings *s;
	unsigned count[BAN_FLEET_OUTCOMES];
	unsigned warned; /* protected and allowed lines written */
	int64_t now;     /* wall clock at the start of the request */
	int kernel_err;  /* the first refusal's errno, for the line */
	/* the chunk being built */
	size_t n;
	struct nftset_elem e[NFTSET_BATCH_MAX];
	struct ban_fleet_item *from[NFTSET_BATCH_MAX];
	int res[NFTSET_BATCH_MAX];
	/* ranges of the chunk that overlap narrower fleet ranges: widened after it (widen()) */
	size_t nw;
	struct nftset_elem we[NFTSET_BATCH_MAX];
	struct ban_fleet_item *wfrom[NFTSET_BATCH_MAX];
	struct nftset_elem narrow[NFTSET_BATCH_MAX];
	struct ban_entry narrow_b[NFTSET_BATCH_MAX]; /* their entries, put back if the wider ones fail */
};

/* The element of @it, or false when it is not an address or prefix. */
static bool fleet_elem(const struct ban_fleet_item *it, struct nftset_elem *e)
{
	unsigned bits = it->addr.family == AF_INET ? 32 : it->addr.family == AF_INET6 ? 128 : 0;

	if (!bits || it->addr.plen > bits)
		return false;
	*e = (struct nftset_elem){ .addr = nfs_addr_prefix(&it->addr, it->addr.plen), .fleet = true,
				   .net = it->addr.plen != bits };
	return true;
}

static void set_missing(struct fleet_run *c, const struct nftset_elem *e)
{
	if (c->w->fleet_sets_missing)
		return;
	c->w->fleet_sets_missing = true;
	log_err("set %s is missing from table inet nfsentry: the fleet's bans are refused until the shipped ruleset "
		"is loaded again (nfsentry load-ruleset)", nftset_elem_set(e));
}

static void outcome(struct fleet_run *c, struct ban_fleet_item *it, enum ban_fleet_outcome o)
{
	it->outcome = (uint8_t)o;
	c->count[o]++;
}

/* Commits the chunk of unbans, and sorts the kernel's answers. */
static void unban_flush(struct fleet_run *c)
{
	struct banwriter *w = c->w;
	int r;

	if (c->n == 0)
		return;
	r = w->be->ops->commit(w->be, BAN_BACKEND_DEL, c->e, c->n, c->res);
	for (size_t i = 0; i < c->n; i++) {
		int res = r < 0 ? r : c->res[i];
		if (res == 0 || res == -ENOENT) { /* gone either way (no such set reads as not in it) */
			pthread_mutex_lock(&w->lock);
			bantable_del(w->fleet, &c->e[i].addr);
			pthread_mutex_unlock(&w->lock);
		}
		if (res == 0) {
			outcome(c, c->from[i], BAN_FLEET_UNBANNED);
			banwriter_feed_unban(w, &c->e[i].addr, BAN_ORIGIN_FLEET, BAN_FEED_WHY_FLEET);
		} else if (res == -ENOENT) {
			outcome(c, c->from[i], BAN_FLEET_ABSENT);
		} else {
			outcome(c, c->from[i], BAN_FLEET_REFUSED);
			if (!c->kernel_err)
				c->kernel_err = res;
		}
	}
	c->n = 0;
}

/* A fleet ban went in: into the table, the outcome, the feed. */
static void banned(struct fleet_run *c, struct ban_fleet_item *it, const struct nftset_elem *e, int64_t now)
{
	struct ban_entry b = { .addr = e->addr, .offence = 1, .timeout_s = e->timeout_ms / 1000,
			       .until_ms = now + (int64_t)e->timeout_ms, .det = DET_MANUAL, .origin = BAN_ORIGIN_FLEET };
	pthread_mutex_lock(&c->w->lock);
	bantable_put(c->w->fleet, &b);
	pthread_mutex_unlock(&c->w->lock);
	outcome(c, it, BAN_FLEET_BANNED);
	banwriter_feed_ban(c->w, &b, 0);
}

/* The fleet holds @e's range or a wider one that holds it (ranges are kept as prefixes: one
 * lookup per shorter length). */
static bool covered(struct fleet_run *c, const struct nftset_elem *e)
{
	for (int q = e->addr.plen; q >= 0; q--) {
		struct nfs_addr p = nfs_addr_prefix(&e->addr, (unsigned)q);
		const struct ban_entry *b = bantable_get(c->w->fleet, &p);
		if (b && b->until_ms > c->now)
			return true;
	}
	return false;
}

struct narrow_ctx {
	struct fleet_run *c;
	size_t n;
};

/* A fleet range inside one of the ranges to widen to. */
static int narrow_cb(const struct ban_entry *e, void *data)
{
	struct narrow_ctx *x = data;
	struct fleet_run *c = x->c;

	if (e->addr.plen == (e->addr.family == AF_INET ? 32 : 128))
		return 0; /* an address: fleet4/fleet6, which no range overlaps */
	for (size_t k = 0; k < c->nw; k++) {
		struct nfs_addr p = nfs_addr_prefix(&e->addr, c->we[k].addr.plen);
		if (e->addr.plen > c->we[k].addr.plen && nfs_addr_equal(&p, &c->we[k].addr)) {
			int64_t left = e->until_ms - c->now;
			c->narrow_b[x->n] = *e;
			c->narrow[x->n++] = (struct nftset_elem){ .addr = e->addr, .fleet = true,
								  .timeout_ms = e->timeout_s * 1000,
								  .expires_ms = left > 0 ? (uint64_t)left : 1 };
			return x->n == NFTSET_BATCH_MAX;
		}
	}
	return 0;
}

/* The narrower ranges went out for wider ones that did not all go in: they go back, with the
 * time they had left (those a wider one holds now are refused as overlapping, and stay out). */
static void narrow_restore(struct fleet_run *c, size_t n)
{
	struct banwriter *w = c->w;
	int res[NFTSET_BATCH_MAX];
	int r = w->be->ops->commit(w->be, BAN_BACKEND_ADD, c->narrow, n, res);

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < n && r >= 0; i++)
		if (res[i] == 0)
			bantable_put(w->fleet, &c->narrow_b[i]);
	pthread_mutex_unlock(&w->lock);
}

/* The kernel refused ranges that hold narrower fleet ranges (an interval set refuses an
 * overlap): the narrower ones give way to the wider, which holds them. Two transactions: the
 * narrower addresses are out of the set for one round trip. One walk of the table per chunk. */
static void widen(struct fleet_run *c)
{
	struct banwriter *w = c->w;
	struct narrow_ctx x = { .c = c };
	int res[NFTSET_BATCH_MAX];
	bool failed = false;

	bantable_foreach(w->fleet, narrow_cb, &x); /* the thread's table: read without the lock */
	int r = x.n ? w->be->ops->commit(w->be, BAN_BACKEND_DEL, c->narrow, x.n, res) : 0;
	if (r >= 0) {
		pthread_mutex_lock(&w->lock);
		for (size_t i = 0; i < x.n; i++)
			bantable_del(w->fleet, &c->narrow[i].addr);
		pthread_mutex_unlock(&w->lock);
		r = w->be->ops->commit(w->be, BAN_BACKEND_ADD, c->we, c->nw, res);
		failed = r < 0;
	}
	int64_t now = clock_wall_ms();
	for (size_t k = 0; k < c->nw; k++) {
		int e = r < 0 ? r : res[k];
		if (e == 0)
			banned(c, c->wfrom[k], &c->we[k], now);
		else if (e == -EEXIST) { /* what overlaps it is not the fleet's (nft by hand) */
			outcome(c, c->wfrom[k], BAN_FLEET_ALREADY);
			failed = true;
		} else {
			outcome(c, c->wfrom[k], BAN_FLEET_REFUSED);
			failed = true;
			if (!c->kernel_err)
				c->kernel_err = e;
		}
	}
	if (failed && x.n)
		narrow_restore(c, x.n);
	c->nw = 0;
}

/* Commits the chunk of bans, and sorts the kernel's answers: the fleet table and the feed get
 * the ones that went in. */
static void ban_flush(struct fleet_run *c)
{
	struct banwriter *w = c->w;
	int64_t now = clock_wall_ms();
	int r;

	if (c->n == 0)
		return;
	r = w->be->ops->commit(w->be, BAN_BACKEND_ADD, c->e, c->n, c->res);
	for (size_t i = 0; i < c->n; i++) {
		int res = r < 0 ? r : c->res[i];
		switch (res) {
		case 0:
			banned(c, c->from[i], &c->e[i], now);
			break;
		case -EEXIST: /* in the set already, or for a range one that overlaps it */
			if (c->e[i].net && !covered(c, &c->e[i])) {
				c->we[c->nw] = c->e[i];
				c->wfrom[c->nw++] = c->from[i];
			} else {
				outcome(c, c->from[i], BAN_FLEET_ALREADY);
			}
			break;
		case -ENFILE:
			outcome(c, c->from[i], BAN_FLEET_FULL);
			break;
		case -ENOENT:
			set_missing(c, &c->e[i]);
			/* fall through */
		default:
			outcome(c, c->from[i], BAN_FLEET_REFUSED);
			if (!c->kernel_err)
				c->kernel_err = res;
			break;
		}
	}
	c->n = 0;
	if (c->nw)
		widen(c);
}

/* A refusal of a protected or allowed address: said as for a local ban, at most FLEET_WARN_MAX
 * times per request. */
static void refuse_listed(struct fleet_run *c, struct ban_fleet_item *it, const struct nftset_elem *e,
			  enum ban_fleet_outcome o, const struct nfs_addr *net, size_t idx)
{
	char a[NFS_ADDR_STRLEN], nb[NFS_ADDR_STRLEN];

	outcome(c, it, o);
	if (c->warned++ >= FLEET_WARN_MAX)
		return;
	nfs_addr_format(&e->addr, a, sizeof(a));
	nfs_addr_format(net, nb, sizeof(nb));
	if (o == BAN_FLEET_ALLOWED)
		log_warn("not banning %s (a decision of the fleet): allowlisted by %s", a, nb);
	else if (idx == SIZE_MAX)
		log_warn("not banning %s (a decision of the fleet): special-purpose network %s, never a scanner's", a,
			 nb);
	else
		log_warn("not banning %s (a decision of the fleet): protected peer %s (%s)", a, nb,
			 protect_kind(&c->s->ends, idx));
}

/* The fleet's ban of @e->addr, replaced by @e (its longer length) in one transaction, so that it
 * is never out of the set (outcome banned, or refused). One the kernel no longer had (it expired,
 * or was deleted by hand) goes into the chunk as a new ban. */
static void extend(struct fleet_run *c, struct ban_fleet_item *it, const struct nftset_elem *e)
{
	struct banwriter *w = c->w;
	struct nftset_elem out = { .addr = e->addr, .fleet = true };
	int res[2] = { 0, 0 };
	int r = w->be->ops->swap(w->be, &out, e, res);

	if (r == -ENOENT && res[0] == -ENOENT) { /* expired or deleted by hand meanwhile: a new ban */
		pthread_mutex_lock(&w->lock);
		bantable_del(w->fleet, &e->addr);
		pthread_mutex_unlock(&w->lock);
		c->e[c->n] = *e;
		c->from[c->n++] = it;
		if (c->n == NFTSET_BATCH_MAX)
			ban_flush(c);
		return;
	}
	if (r < 0) {
		outcome(c, it, BAN_FLEET_REFUSED);
		if (!c->kernel_err)
			c->kernel_err = r;
		return;
	}
	banned(c, it, e, clock_wall_ms());
}

/* One ban decision: checked, then into the chunk (committed when full). */
static void ban_one(struct fleet_run *c, struct ban_fleet_item *it)
{
	const struct ban_settings *s = c->s;
	struct nftset_elem e;
	const struct nfs_addr *net;

	if (!fleet_elem(it, &e) || it->seconds == 0) {
		outcome(c, it, BAN_FLEET_INVALID);
		return;
	}
	if (e.addr.plen < (e.addr.family == AF_INET ? s->fleet_min_prefix4 : s->fleet_min_prefix6)) {
		outcome(c, it, BAN_FLEET_TOO_WIDE);
		return;
	}
	if ((net = special(&e.addr))) {
		refuse_listed(c, it, &e, BAN_FLEET_PROTECTED, net, SIZE_MAX);
		return;
	}
	if ((net = netlist_overlap(&s->allow, &e.addr))) {
		refuse_listed(c, it, &e, BAN_FLEET_ALLOWED, net, (size_t)(net - s->allow.net));
		return;
	}
	/* Overlap, not containment: a range that holds this host, a resolver or a gateway is
	 * refused whole, as a local prefix ban that holds one is narrowed. */
	if ((net = netlist_overlap(&s->protect, &e.addr))) {
		refuse_listed(c, it, &e, BAN_FLEET_PROTECTED, net, (size_t)(net - s->protect.net));
		return;
	}
	/* Near the bound the chunk goes first, so that the count is exact: a decision repeated
	 * within one chunk would otherwise be counted twice. */
	uint64_t max = s->fleet_max_bans < c->w->fleet_max ? s->fleet_max_bans : c->w->fleet_max;
	if (c->n && bantable_size(c->w->fleet) + c->n >= max)
		ban_flush(c);
	uint64_t secs = it->seconds < s->fleet_max_duration ? it->seconds : s->fleet_max_duration;
	e.timeout_ms = secs * 1000;
	const struct ban_entry *old = bantable_get(c->w->fleet, &e.addr);
	if (old && old->until_ms > c->now) {
		if (c->now + (int64_t)e.timeout_ms <= old->until_ms + FLEET_EXTEND_MS)
			outcome(c, it, BAN_FLEET_ALREADY);
		else
			extend(c, it, &e);
		return;
	}
	if (!old && bantable_size(c->w->fleet) >= max) { /* never by displacing a ban: local ones live elsewhere */
		outcome(c, it, BAN_FLEET_FULL);
		return;
	}
	c->e[c->n] = e;
	c->from[c->n++] = it;
	if (c->n == NFTSET_BATCH_MAX)
		ban_flush(c);
}

static void unban_one(struct fleet_run *c, struct ban_fleet_item *it)
{
	struct nftset_elem e;

	if (!fleet_elem(it, &e)) {
		outcome(c, it, BAN_FLEET_INVALID);
		return;
	}
	c->e[c->n] = e;
	c->from[c->n++] = it;
	if (c->n == NFTSET_BATCH_MAX)
		unban_flush(c);
}

void banwriter_fleet_handle(struct banwriter *w, struct ban_fleet_job *job)
{
	struct fleet_run *c = calloc(1, sizeof(*c)); /* NFTSET_BATCH_MAX elements: off the thread's stack */

	if (!c) {
		log_err("ban writer: out of memory; %zu decisions of the fleet refused", job->n);
		for (size_t i = 0; i < job->n; i++)
			job->items[i].outcome = BAN_FLEET_REFUSED;
		goto answer;
	}
	c->w = w;
	c->s = w->cur;
	c->now = clock_wall_ms();
	for (size_t i = 0; i < job->n; i++)
		if (job->items[i].unban)
			unban_one(c, &job->items[i]);
	unban_flush(c);
	for (size_t i = 0; i < job->n; i++)
		if (!job->items[i].unban)
			ban_one(c, &job->items[i]);
	ban_flush(c);
	pthread_mutex_lock(&w->lock);
	for (int k = 0; k < BAN_FLEET_OUTCOMES; k++)
		w->stats.fleet[k] += c->count[k];
	w->stats.fleet_active = bantable_size(w->fleet);
	pthread_mutex_unlock(&w->lock);

	char line[512];
	size_t o = 0;
	for (int k = 0; k < BAN_FLEET_OUTCOMES && o < sizeof(line); k++)
		if (c->count[k])
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%u %s", o ? ", " : "", c->count[k],
					      ban_fleet_outcome_name((enum ban_fleet_outcome)k));
	char more[48] = "";
	if (c->warned > FLEET_WARN_MAX)
		snprintf(more, sizeof(more), " (%u refusals not said one by one)", c->warned - FLEET_WARN_MAX);
	log_notice("decisions of the fleet: %zu asked: %s%s%s%s; %zu fleet bans held", job->n, o ? line : "none", more,
		   c->kernel_err ? "; kernel: " : "", c->kernel_err ? strerror(-c->kernel_err) : "",
		   bantable_size(w->fleet));
	free(c);
answer:
	pthread_mutex_lock(&job->lock);
	job->done = true;
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
	banwriter_fleet_job_put(job);
}
