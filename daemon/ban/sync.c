/* sync.c - the ban table follows the kernel sets, which are the truth while nfsentry runs:
 * restored at start from the saved table (state_dir/bans) into sets a reboot emptied,
 * re-read every minute (bans added or deleted by hand), and put back when table inet nfsentry
 * is loaded again. Writer thread only (or its owner's before the start: banwriter_restore()). */
#include "ban/writer-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/detector.h"
#include "core/log.h"

/* How often the writer checks that table inet nfsentry is still the one it fills. */
#define TABLE_CHECK_MS 1000

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
	uint8_t det = old ? old->det : e->net ? DET_DSCAN : DET_MANUAL;
	struct ban_entry b = {
		.addr = e->addr, .offence = offence, .det = det,
		.origin = old ? old->origin : (uint8_t)bantable_origin_of_det(det),
		.timeout_s = e->timeout_ms ? e->timeout_ms / 1000 : 365ULL * 86400,
		.until_ms = c->now + (int64_t)(e->expires_ms ? e->expires_ms : 365ULL * 86400000),
	};
	if (old)
		memcpy(b.token, old->token, sizeof(b.token));
	bantable_put(c->fresh, &b);
	c->n++;
	return 0;
}

/* One element of a fleet set into the fresh fleet table: what the kernel says, the fleet's. */
static int fleet_cb(const struct nftset_elem *e, void *data)
{
	struct sync_ctx *c = data;
	struct ban_entry b = {
		.addr = e->addr, .offence = 1, .det = DET_MANUAL, .origin = BAN_ORIGIN_FLEET,
		.timeout_s = e->timeout_ms ? e->timeout_ms / 1000 : 365ULL * 86400,
		.until_ms = c->now + (int64_t)(e->expires_ms ? e->expires_ms : 365ULL * 86400000),
	};
	bantable_put(c->fresh, &b); /* past [fleet] max_bans (added by hand): the oldest forgotten, still in the sets */
	c->n++;
	return 0;
}

int banwriter_fleet_sync(struct banwriter *w)
{
	static const char *const sets[] = { NFTSET_FLEET4, NFTSET_FLEET6, NFTSET_FLEETNET4, NFTSET_FLEETNET6 };
	struct sync_ctx c = { .w = w, .now = clock_wall_ms() };
	int r = 0;

	if (bantable_new(&c.fresh, w->fleet_max, w->key) < 0)
		return -ENOMEM;
	bool missing = false;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]) && r == 0; i++) {
		r = w->be->ops->dump(w->be, sets[i], fleet_cb, &c);
		if (r == -ENOENT) { /* a ruleset older than the fleet sets, or the table gone: said once */
			if (!w->fleet_sets_missing)
				log_warn("set %s is missing from table inet nfsentry: the fleet's bans (nfsentry-crowdsec) "
					 "are refused until the shipped ruleset is loaded again", sets[i]);
			missing = true;
		}
	}
	w->fleet_sets_missing = missing;
	if (r < 0) { /* the table of what was known stays (a table loaded again gets it back) */
		bantable_free(c.fresh);
		return r == -ENOENT ? 0 : r;
	}
	pthread_mutex_lock(&w->lock);
	bantable_free(w->fleet);
	w->fleet = c.fresh;
	w->stats.fleet_active = bantable_size(w->fleet);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

struct prune_ctx {
	int64_t now;
	size_t n, cap;
	struct nfs_addr *gone;
};

static int prune_cb(const struct ban_entry *e, void *data)
{
	struct prune_ctx *p = data;

	if (e->until_ms > p->now)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct nfs_addr *g = realloc(p->gone, cap * sizeof(*g));
		if (!g)
			return 1; /* the rest at the next prune */
		p->gone = g;
		p->cap = cap;
	}
	p->gone[p->n++] = e->addr;
	return 0;
}

void banwriter_fleet_prune(struct banwriter *w)
{
	struct prune_ctx p = { .now = clock_wall_ms() };

	bantable_foreach(w->fleet, prune_cb, &p); /* the thread's table: read without the lock */
	if (p.n == 0)
		return;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < p.n; i++)
		bantable_del(w->fleet, &p.gone[i]); /* not during the walk: a delete would end it */
	w->stats.fleet_active = bantable_size(w->fleet);
	pthread_mutex_unlock(&w->lock);
	free(p.gone);
}

/* The sets are re-read at the writer's next turn, not a minute later. */
void banwriter_sync_soon(struct banwriter *w)
{
	w->bans_synced_ms = clock_mono_ms() - BANS_SYNC_MS;
}

/* Rebuilds the ban table from the kernel sets: bans added by hand are adopted, bans removed
 * by hand are forgotten (and counted as expired or removed when @count_gone). @saved (may be
 * NULL; borrowed) tells what the kernel does not about bans the table does not hold yet.
 * Returns 0 and the count per family, or -errno. */
int banwriter_kernel_sync(struct banwriter *w, struct bantable *saved, unsigned *n4, unsigned *n6,
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
	struct bantable *into; /* the writer's table they go back to: its bans, or the fleet's */
	bool fleet;
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
			bantable_put(c->into, &c->from[i]);
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
	bool in_kernel = bantable_get(c->into, &e->addr) != NULL;
	pthread_mutex_unlock(&c->w->lock);
	if (in_kernel)
		return 0; /* the kernel has it: it knows best */
	if (e->until_ms <= c->now + 1000) {
		c->expired++;
		return 0;
	}
	c->elems[c->n] = (struct nftset_elem){
		.addr = e->addr, .net = c->fleet ? false : e->det == DET_DSCAN, .fleet = c->fleet, /* fleet: by its length */
		.timeout_ms = e->timeout_s * 1000,
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

/* Puts the bans of @known that the ban table (just read from the kernel; with @fleet the fleet
 * table) lacks back into the sets, with their time left. Returns 0 and the counts in @out, or
 * -ENOMEM. */
static int readd_missing(struct banwriter *w, struct bantable *known, bool fleet, struct readd_result *out)
{
	struct readd_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->w = w;
	c->fleet = fleet;
	c->into = fleet ? w->fleet : w->bans;
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
	r = banwriter_kernel_sync(w, saved, &out->in_kernel4, &out->in_kernel6, true);
	if (r < 0) {
		bantable_free(saved);
		return r;
	}
	r = banwriter_fleet_sync(w); /* the fleet's bans outlive a restart in the kernel, not a reboot */
	if (r < 0)
		log_warn("cannot read the fleet's sets: %s", strerror(-r));
	out->fleet = (unsigned)bantable_size(w->fleet);
	if (w->be->ops->table_handle(w->be, &w->table_handle) < 0)
		w->table_handle = 0; /* learnt at the first check */
	struct readd_result c;
	r = readd_missing(w, saved, false, &c);
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

static int copy_cb(const struct ban_entry *e, void *data)
{
	(void)bantable_put(data, e);
	return 0;
}

/* Notices table inet nfsentry gone, and back (a new table: a new handle, empty sets). The
 * bans it lost go back in with their time left, and the bans waiting for it are retried. */
void banwriter_table_check(struct banwriter *w, int64_t now)
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
	struct bantable *known = NULL, *fleet = NULL;
	if (bantable_new(&known, w->max_bans, w->key) < 0 || bantable_new(&fleet, w->fleet_max, w->key) < 0) {
		bantable_free(known);
		return;
	}
	pthread_mutex_lock(&w->lock);
	bantable_foreach(w->bans, copy_cb, known);
	bantable_foreach(w->fleet, copy_cb, fleet);
	pthread_mutex_unlock(&w->lock);
	/* A table without ban4 or ban6 is not back yet: the batches say so, and this waits. The
	 * fleet's bans go back too: the bridge would not send them again before the LAPI's stream
	 * restarts. */
	struct readd_result c, cf = { 0 };
	if (banwriter_kernel_sync(w, NULL, NULL, NULL, false) < 0 || readd_missing(w, known, false, &c) < 0) {
		bantable_free(known);
		bantable_free(fleet);
		return;
	}
	if (banwriter_fleet_sync(w) == 0 && !w->fleet_sets_missing)
		readd_missing(w, fleet, true, &cf);
	bantable_free(known);
	bantable_free(fleet);
	c.restored += cf.restored;
	c.expired += cf.expired;
	if (cf.failed && !c.failed)
		c.err = cf.err;
	c.failed += cf.failed;
	log_notice("table inet nfsentry was loaded again: %u bans put back with their time left (%u had expired "
		   "meanwhile)", c.restored, c.expired);
	if (c.failed)
		log_err("%u bans could not be put back: %s", c.failed, strerror(-c.err));
	w->table_gone = false;
	w->table_handle = h;
	w->retry_due_ms = now; /* what waited for the table goes in now */
}
