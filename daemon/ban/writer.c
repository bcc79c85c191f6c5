/* writer.c - see writer.h. The thread: the ban queue, evidence tokens, retries of failed
 * batches, the timers (re-read the sets, save the ban table and the offence history), start and
 * stop. What it does with a burst is in apply.c, requests by hand in manual.c, full sets in
 * full.c, the kernel table in sync.c, the settings other threads hand over in settings.c (the
 * map: writer-int.h). Bans are kernel set elements with a timeout; the kernel expires them, so the
 * writer never has to remember to unban. */
#include "ban/writer-int.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ban/feed.h"
#include "core/clock.h"
#include "core/detector.h"
#include "core/log.h"

/* A batch that failed as a whole (table inet nfsentry or its sets gone, or the netlink
 * conversation broken) is tried again after 1, 2, 4, 8 and 16 s; a request is given up after
 * RETRY_MAX tries, about half a minute. The sources that keep scanning ask again anyway. */
#define RETRY_FIRST_MS 1000
#define RETRY_LAST_MS 16000
#define RETRY_MAX 6
/* The ban table and the offence history are written at most this often when they changed. */
#define BANS_SAVE_MS 5000

const uint64_t banwriter_latency_le_us[BANWRITER_LATENCY_BUCKETS - 1] = { 100, 250, 500, 1000, 2500,
									      5000, 10000, 50000, 250000 };

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
	w->fleet_max = (uint32_t)c->fleet_max_bans;
	/* Every timer due at once, as it was on the wall clock: the monotonic one may be young. */
	w->bans_saved_ms = w->bans_synced_ms = w->offences_saved_ms = w->table_checked_ms = w->fleet_pruned_ms =
		clock_mono_ms() - BANS_SYNC_MS;
	w->fleet_synced_ms = clock_mono_ms(); /* read at the start (banwriter_restore()) */
	w->cur = banwriter_settings_new(c, NULL, NULL);
	offences_new(&w->offences, (uint32_t)c->max_history, key16);
	bantable_new(&w->bans, w->max_bans, key16);
	bantable_new(&w->tokens, w->max_bans, key16);
	bantable_new(&w->fleet, w->fleet_max, key16);
	if (!w->cur || !w->offences || !w->bans || !w->tokens || !w->fleet) {
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
void banwriter_batch_fail(struct banwriter *w, const struct ban_request *req, const size_t *idx, size_t n, int err,
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
	banwriter_burst_handle(w, w->again, n);
	if (w->nretry == 0)
		w->retry_round = 0;
}

/* The timers of each turn (@final: all due now, at the end): the table check, the reports of
 * full sets, the minute's re-read of the sets, and the saves. They run after each burst and
 * at least once a second (banq_pop()'s wait), so a storm delays none of them. */
static void keep_bans(struct banwriter *w, bool final)
{
	int64_t now = clock_mono_ms();
	int r;

	banwriter_table_check(w, now);
	banwriter_full_report(w, now);
	banwriter_displace_report(w, now);
	if (now - w->bans_synced_ms >= BANS_SYNC_MS || final) {
		r = banwriter_kernel_sync(w, NULL, NULL, NULL, true);
		if (r < 0) {
			w->bans_synced_ms = now; /* retried in a minute; logged once per try */
			log_warn("cannot re-read the ban sets: %s", strerror(-r));
		}
	}
	if (now - w->fleet_synced_ms >= FLEET_SYNC_MS) {
		r = banwriter_fleet_sync(w);
		if (r < 0)
			log_warn("cannot re-read the fleet's sets: %s", strerror(-r));
		w->fleet_synced_ms = w->fleet_pruned_ms = now; /* retried in FLEET_SYNC_MS */
	} else if (now - w->fleet_pruned_ms >= BANS_SYNC_MS) {
		banwriter_fleet_prune(w);
		w->fleet_pruned_ms = now;
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
	if (w->feed) { /* the feed is thread-safe: told at once, not at the writer's next turn */
		struct ban_feed_event ev = { .kind = BAN_FEED_EVIDENCE, .origin = BAN_ORIGIN_DETECTOR, .addr = *addr };
		memcpy(ev.token, e.token, sizeof(ev.token));
		ban_feed_put(w->feed, &ev);
	}
}

void banwriter_set_feed(struct banwriter *w, struct ban_feed *feed)
{
	w->feed = feed;
}

void banwriter_feed_ban(struct banwriter *w, const struct ban_entry *e, uint32_t events)
{
	if (!w->feed)
		return;
	struct ban_feed_event ev = { .kind = BAN_FEED_BAN, .origin = e->origin, .det = e->det, .addr = e->addr,
				     .seconds = e->timeout_s, .until_ms = e->until_ms, .events = events };
	ban_feed_put(w->feed, &ev);
}

void banwriter_feed_unban(struct banwriter *w, const struct nfs_addr *addr, uint8_t origin, uint8_t why)
{
	if (!w->feed)
		return;
	struct ban_feed_event ev = { .kind = BAN_FEED_UNBAN, .origin = origin, .det = DET_MANUAL, .why = why,
				     .addr = *addr };
	ban_feed_put(w->feed, &ev);
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

	banwriter_protected_unban(w);
	for (;;) {
		int wait_ms = 1000;
		if (w->nretry) {
			int64_t d = w->retry_due_ms - clock_mono_ms();
			wait_ms = d <= 0 ? 0 : d < wait_ms ? (int)d : wait_ms;
		}
		n = banq_pop(w->q, w->req, NFTSET_BATCH_MAX, wait_ms);
		if (banwriter_settings_take(w))
			banwriter_protected_unban(w);
		if (n > 0)
			banwriter_burst_handle(w, w->req, n);
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
	bantable_free(w->fleet);
	sodium_memzero(w->key, sizeof(w->key));
	free(w->cur);
	free(w->next);
	bantable_free(w->tokens);
	thread_deinit(&w->thread);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

struct list_ctx {
	int (*cb)(const struct ban_entry *e, void *data);
	void *data;
	int stop; /* the callback said stop: the second table is not walked either */
};

static int list_cb(const struct ban_entry *e, void *data)
{
	struct list_ctx *l = data;
	return l->stop = l->cb(e, l->data);
}

void banwriter_list(struct banwriter *w, int (*cb)(const struct ban_entry *e, void *data), void *data)
{
	struct list_ctx l = { .cb = cb, .data = data };

	pthread_mutex_lock(&w->lock);
	bantable_foreach(w->bans, list_cb, &l);
	if (!l.stop)
		bantable_foreach(w->fleet, list_cb, &l);
	pthread_mutex_unlock(&w->lock);
}

void banwriter_get_stats(struct banwriter *w, struct banwriter_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}
