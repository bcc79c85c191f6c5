/* full.c - a full ban set (the kernel says ENFILE): the automatic ban that expires soonest
 * gives way to the new one, and the refusals and displacements are said at once, then at most
 * every FULL_LOG_MS, with counts (a flood of them would otherwise flood the log). Writer
 * thread only. */
#include "ban/writer-int.h"

#include <errno.h>
#include <time.h>

#include "core/clock.h"
#include "core/detector.h"
#include "core/duration.h"
#include "core/log.h"

/* A full set refuses every ban until elements expire: said at once, then at most this often. */
#define FULL_LOG_MS 10000
/* A full set makes room for a new ban by deleting the one that expires soonest; a candidate
 * the kernel has already let go (it expired, or was deleted by hand, before the minute's
 * sync) is forgotten and the next one tried, this many times at most. */
#define DISPLACE_TRIES 8

/* Says that a set is full, at once and then at most once per FULL_LOG_MS with the count. */
void banwriter_full_report(struct banwriter *w, int64_t now)
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

/* Says that bans gave way in a full set, at once and then at most once per FULL_LOG_MS. */
void banwriter_displace_report(struct banwriter *w, int64_t now)
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

/* The set of @in is full (the kernel said ENFILE): the ban that expires soonest (the planner's
 * pick: ban_plan_displaced()) gives way to @in, in one transaction. A set filled with bans of
 * forged sources thus cannot keep the next real scanner out, and the long bans of repeat
 * offenders are the last to go (docs/security.md, "Item 10"). Returns 0 when @in is in the
 * set, or the -errno of the last try (-ENFILE: no ban could give way). */
int banwriter_full_displace(struct banwriter *w, const struct nftset_elem *in, struct banwriter_stats *d)
{
	int r = -ENFILE;

	for (int tries = 0; tries < DISPLACE_TRIES; tries++) {
		struct ban_entry out;
		int res[2] = { 0, 0 };

		if (!ban_plan_displaced(w->bans, in, &out))
			return -ENFILE;
		struct nftset_elem gone = { .addr = out.addr, .net = out.det == DET_DSCAN };
		r = w->be->ops->swap(w->be, &gone, in, res);
		if (r == -ENOENT && res[0] == -ENOENT) { /* already gone from the kernel: not a ban */
			pthread_mutex_lock(&w->lock);
			bantable_del(w->bans, &out.addr);
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
		bantable_del(w->bans, &out.addr);
		pthread_mutex_unlock(&w->lock);
		w->bans_dirty = true;
		d->displaced++;
		w->displaced++;
		w->displaced_out = out.addr;
		w->displaced_in = in->addr;
		w->displaced_set = nftset_elem_set(in);
		w->displaced_left_ms = out.until_ms - clock_wall_ms();
		report_unban(w->events, &t, &out.addr, "displaced");
		banwriter_displace_report(w, now);
		return 0;
	}
	return r;
}
