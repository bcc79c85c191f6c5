/* writer-int.h - inside ban/ only: struct banwriter and the calls between the files that make
 * up the ban writer. Nothing outside daemon/ban/ includes it (writer.h is the API). The files:
 *   writer.c   the thread: the ban queue, settings, tokens, retries, timers, start and stop;
 *   apply.c    what follows from the planner's decisions (ban/plan.h) for a burst: the commit,
 *              logs, events, offences, the ban table and the stats;
 *   settings.c the ban settings other threads hand to the thread;
 *   manual.c   bans and unbans asked for on the control socket;
 *   full.c     a full set: the ban that expires soonest gives way, and the reports about it;
 *   sync.c     the ban table follows the kernel: restore at start, the periodic re-read, and
 *              table inet nfsentry's disappearance and return;
 *   fleet.c    the fleet's decisions (banwriter_fleet()): their checks, commits and answers.
 * Every function declared here runs on the writer thread (or on its owner's before the start
 * and after the stop: see "thread" below), and logs what it decides itself. */
#pragma once

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ban/active.h"
#include "ban/backend.h"
#include "ban/banq.h"
#include "ban/bantable.h"
#include "ban/offences.h"
#include "ban/plan.h"
#include "ban/writer.h"
#include "core/thread.h"
#include "decide/report.h"
#include "nft/setelem.h"

/* The saved ban table follows the kernel: re-read every minute (hand-made bans and unbans),
 * written at most every 5 s when it changed (writer.c), and at the end. */
#define BANS_SYNC_MS 60000
/* The fleet's sets are re-read less often: 100,000 fleet bans take the writer thread 0.5 s to
 * read back (test-fleet), a pause of the local ban path. Between two reads, the fleet's bans
 * that ended are dropped from its table every BANS_SYNC_MS, in memory (banwriter_fleet_prune()). */
#define FLEET_SYNC_MS 600000

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
	uint32_t fleet_max;        /* [fleet] max_bans at the start: the fleet table's capacity */
	uint8_t key[16];
	struct ban_feed *feed;     /* not owned; may be NULL (set before the start) */

	pthread_mutex_t lock; /* guards the locked fields below */

	/* thread, but changed under @lock: what the sets hold, for restoring after a reboot. The
	 * thread reads it without the lock (no one else changes it); banwriter_list() reads it under
	 * the lock. A put from another thread while the thread walks the LRU list would move a node
	 * to the head, end the walk early, and state_dir/bans was written short (issue 12). */
	struct bantable *bans;
	/* thread, but changed under @lock, as @bans: the fleet's bans (origin crowdsec), apart so
	 * that their number is bounded by [fleet] max_bans and they never displace local bans. Not
	 * saved: the kernel keeps them over a restart, and nfsentry-crowdsec applies the whole
	 * stream again after a reboot. */
	struct bantable *fleet;
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

	/* thread, from here on; the file named beside each group changes it (the files of the
	 * thread call each other, one at a time, so the rest may read it) */
	struct offences *offences; /* recorded by apply.c and sync.c, saved by writer.c */
	bool bans_dirty;           /* set by whoever changes @bans, cleared when writer.c saves */
	int64_t bans_saved_ms, bans_synced_ms; /* writer.c, sync.c; clock_mono_ms(), as every interval below */
	/* The offence history changed since it was last written. It is saved like the ban table,
	 * at most every BANS_SAVE_MS: rewriting and fsyncing up to max_history lines after every
	 * batch stalled the writer in a storm until the ban queue overflowed (docs/benchmarks.md,
	 * "Ban path"). */
	bool offences_dirty;
	int64_t offences_saved_ms;
	/* writer.c pops a burst into @req; apply.c plans and applies it */
	struct ban_request req[NFTSET_BATCH_MAX];
	struct ban_plan plan;                 /* of the burst being handled */
	struct ban_active act[NFTSET_BATCH_MAX]; /* what the ruleset saw of its sources */
	/* Requests of failed batches, tried again together at retry_due_ms; the backoff doubles
	 * with each failed round. again: the round being tried. writer.c. */
	struct ban_request retry[NFTSET_BATCH_MAX], again[NFTSET_BATCH_MAX];
	size_t nretry;
	unsigned retry_round;
	int64_t retry_due_ms;
	bool final; /* stopping: a failed batch is given up, not kept */
	/* The table we fill (its kernel handle), and whether we saw it gone. sync.c; a batch that
	 * found no set marks it gone too (writer.c). */
	uint64_t table_handle;
	bool table_gone;
	int64_t table_checked_ms;
	/* Bans a full set refused since the last line about it: counted by apply.c, said by full.c. */
	uint64_t full_refused;
	int64_t full_logged_ms;
	struct nfs_addr full_last;
	const char *full_set, *displaced_set; /* the sets those were in (static names) */
	/* Bans that gave way to new ones in a full set since the last line about it, and the last
	 * of them: which ban left, how long it had to run, and which came in. full.c. */
	uint64_t displaced;
	int64_t displaced_logged_ms, displaced_left_ms;
	struct nfs_addr displaced_out, displaced_in;
	struct ban_active_asker asker; /* the questions about active peers of one burst: apply.c */
	bool fleet_sets_missing;       /* the fleet sets' absence was said (sync.c, fleet.c) */
	int64_t fleet_synced_ms, fleet_pruned_ms; /* sync.c: the last re-read, the last prune */
};

/* A call of banwriter_fleet(): shared by the asker and the writer thread, each holding a
 * reference; the last to let go frees it, so an asker that stopped waiting (-ETIMEDOUT) leaves
 * nothing freed under the thread. @lock guards @refs and @done; the items are the thread's
 * until @done, then the asker's. */
struct ban_fleet_job {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	unsigned refs;
	bool done;
	size_t n;
	struct ban_fleet_item items[];
};

/* apply.c */

/* Plans, commits and reports one burst of @n <= NFTSET_BATCH_MAX requests (a retry round
 * too); manual requests among them are answered in their turn. */
void banwriter_burst_handle(struct banwriter *w, struct ban_request *req, size_t n);
/* Lifts the bans that hold a protected peer of the settings in use (after they changed). */
void banwriter_protected_unban(struct banwriter *w);
/* Where a ban's event and evidence record go: the record holds the packets of @addr. */
struct report_dest banwriter_ban_dest(struct banwriter *w, const struct nfs_addr *addr);

/* manual.c */

/* Answers a ban or unban asked for on the control socket (rq->reply), at once. */
void banwriter_manual_handle(struct banwriter *w, struct ban_request *rq);

/* fleet.c */

/* Applies a fleet job's decisions, answers and lets go of the request's reference. */
void banwriter_fleet_handle(struct banwriter *w, struct ban_fleet_job *job);
/* Lets go of one reference of @job. */
void banwriter_fleet_job_put(struct ban_fleet_job *job);

/* writer.c: the feed (no-ops without one) */

/* A ban went into a set: @e's origin, detector, length and end, @events what its detector counted. */
void banwriter_feed_ban(struct banwriter *w, const struct ban_entry *e, uint32_t events);
/* A ban of @origin was lifted before its time, for @why (enum ban_feed_why). */
void banwriter_feed_unban(struct banwriter *w, const struct nfs_addr *addr, uint8_t origin, uint8_t why);

/* full.c */

/* The set of @in is full: the automatic ban that expires soonest gives way to @in (counted in
 * @d). Returns 0 when @in is in the set, or -errno (-ENFILE: none could give way). */
int banwriter_full_displace(struct banwriter *w, const struct nftset_elem *in, struct banwriter_stats *d);
/* Say what a full set refused, and which bans gave way, at most once per FULL_LOG_MS. */
void banwriter_full_report(struct banwriter *w, int64_t now);
void banwriter_displace_report(struct banwriter *w, int64_t now);

/* sync.c */

/* Rebuilds the ban table from the kernel sets. @saved (may be NULL; borrowed) tells what the
 * kernel does not about bans the table does not hold yet; @count_gone counts the bans that
 * left as expired or removed. Returns 0 and the count per family (@n4, @n6 may be NULL), or
 * -errno. */
int banwriter_kernel_sync(struct banwriter *w, struct bantable *saved, unsigned *n4, unsigned *n6, bool count_gone);
/* Rebuilds the fleet table from fleet4, fleet6, fleetnet4 and fleetnet6 (the kernel is the
 * truth: expired and hand-deleted elements go, hand-added ones are adopted as the fleet's). Sets
 * missing (a ruleset older than issue 13, or the table gone) leave it as it was, to be put back
 * when the table returns, and are said once. Returns 0 or -errno. */
int banwriter_fleet_sync(struct banwriter *w);
/* Drops the fleet's bans that have ended from its table (the kernel expired them itself). */
void banwriter_fleet_prune(struct banwriter *w);
/* The sets are re-read at the writer's next turn, not a minute later. */
void banwriter_sync_soon(struct banwriter *w);
/* At most every TABLE_CHECK_MS: notices table inet nfsentry gone, and back (its bans put back). */
void banwriter_table_check(struct banwriter *w, int64_t now);

/* settings.c */

/* A copy of what the writer needs of @c, with @protect and @ends (NULL: none), or NULL when
 * out of memory (the caller logs what it keeps instead). Free with free(). */
struct ban_settings *banwriter_settings_new(const struct nfs_config *c, const struct netlist *protect,
					    const struct protect_ends *ends);
/* The thread's side: takes the settings handed over since its last turn. Returns true when
 * they changed (then the bans of peers protected since are lifted). */
bool banwriter_settings_take(struct banwriter *w);

/* writer.c */

/* The @n requests at @idx of @req had no outcome (@err): kept for a retry, or given up, and
 * one line says which. */
void banwriter_batch_fail(struct banwriter *w, const struct ban_request *req, const size_t *idx, size_t n, int err,
			  struct banwriter_stats *d);
