/* publish.c - this host's bans to the fleet: the daemon's watch stream -> the pending queue
 * (state_dir/pending.jsonl) -> POST /v1/alerts, batched, with backoff while the LAPI is away.
 * Bans of origin crowdsec came from the fleet and are never sent back (no loop). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "core/clock.h"
#include "core/log.h"
#include "event.h"

#define WATCH_OPEN_TIMEOUT_MS 5000
#define BANS_TIMEOUT_MS 30000
#define BANS_ANSWER_MAX (256u * 1024 * 1024) /* `bans` lists the fleet's too: 200,000 of them */
#define SAVE_EVERY_MS 1000
#define PUBLISHED_MAX_FACTOR 4   /* published memory: this many times queue_max */
#define PUBLISH_RETRY_MAX_MS 60000
#define WATCH_RETRY_MAX_MS 30000
#define POSTS_PER_TURN 10
/* A batch the LAPI keeps answering LAPI_BUSY (a 5xx that does not refuse the body) is dropped
 * after this many tries, about 3 minutes with the backoff: a body the LAPI chokes on in a way
 * not recognised is not resent forever. */
#define BUSY_TRIES_MAX 8

void backoff_fail(struct backoff *b, int64_t now, int64_t max_ms)
{
	b->delay_ms = b->delay_ms ? b->delay_ms * 2 : 1000;
	if (b->delay_ms > max_ms)
		b->delay_ms = max_ms;
	b->next_ms = now + b->delay_ms;
}

void backoff_ok(struct backoff *b)
{
	b->delay_ms = 0;
	b->next_ms = 0;
	b->down = false;
}

int publish_init(struct bridge *b)
{
	size_t bad = 0;
	int r;

	b->watch.fd = -1;
	snprintf(b->pending_path, sizeof(b->pending_path), "%s/pending.jsonl", b->cfg.state_dir);
	snprintf(b->published_path, sizeof(b->published_path), "%s/published.txt", b->cfg.state_dir);
	if ((r = pending_init(&b->pending, b->cfg.queue_max)) < 0 ||
	    (r = published_init(&b->published, b->cfg.queue_max * PUBLISHED_MAX_FACTOR)) < 0)
		return r;
	if ((r = pending_load(&b->pending, b->pending_path, &bad)) < 0) {
		log_err("cannot read %s: %s", b->pending_path, strerror(-r));
		return r;
	}
	if (bad)
		log_warn("%s: %zu lines were not pending bans; skipped", b->pending_path, bad);
	if (b->pending.n)
		log_info("%zu bans from %s wait to be published", b->pending.n, b->pending_path);
	if ((r = published_load(&b->published, b->published_path)) < 0) {
		/* Only a memory against duplicates: without it, some bans may go out twice. */
		log_warn("cannot read %s: %s; bans already published may be published again", b->published_path,
			 strerror(-r));
	}
	return 0;
}

void publish_deinit(struct bridge *b)
{
	ctl_watch_close(&b->watch);
	pending_deinit(&b->pending);
	published_deinit(&b->published);
}

static void queue_ban(struct bridge *b, const struct cs_ban *ban)
{
	if (pending_push(&b->pending, ban) && !b->pending_full_logged) {
		log_warn("the pending queue is full ([publish] queue_max = %zu): the oldest unpublished bans give way",
			 b->pending.max);
		b->pending_full_logged = true;
	}
}

/* The daemon's `bans`: its local ones that are neither published (by address and end) nor
 * pending go into the queue. After a (re)connect and after the watch lost events. */
static void resync(struct bridge *b, int64_t now)
{
	/* This host's bans only (the daemon filters): with 200,000 of the fleet's, the whole list
	 * is 23 MB to read for none of them. Those of origin crowdsec are still skipped below. */
	json_t *req = json_pack("{s:s, s:[s, s]}", "command", "bans", "origin", "nfsentry", "manual"), *ans = NULL, *e;
	int64_t wall = clock_wall_ms() / 1000;
	size_t i, queued = 0;
	char err[256];
	int r;

	if (!req)
		return;
	r = ctl_request(b->cfg.control_socket, req, BANS_ANSWER_MAX, BANS_TIMEOUT_MS, &ans, err, sizeof(err));
	json_decref(req);
	if (r < 0 || !json_is_true(json_object_get(ans, "ok"))) {
		const char *why = json_string_value(json_object_get(ans, "error"));
		log_warn("cannot read the daemon's bans (%s): bans made while the watch was away are not published",
			 r < 0 ? err : why ? why : "refused");
		json_decref(ans);
		return;
	}
	json_array_foreach(json_object_get(ans, "bans"), i, e) {
		const char *origin = json_string_value(json_object_get(e, "origin"));
		const char *addr = json_string_value(json_object_get(e, "address"));
		const char *det = json_string_value(json_object_get(e, "detector"));
		json_t *left = json_object_get(e, "seconds_left"), *len = json_object_get(e, "timeout");
		struct cs_ban ban = { .ready_ms = now };

		/* A daemon that does not say a ban's origin cannot tell the fleet's bans from its
		 * own: publishing them would loop. Nothing is taken from it. */
		if (!origin) {
			log_warn("the daemon's bans carry no origin (nfsentry older than the bridge?): not publishing them");
			break;
		}
		if (!strcmp(origin, "crowdsec") || !addr || !json_is_integer(left) || json_integer_value(left) <= 0 ||
		    nfs_addr_parse(addr, false, &ban.addr) < 0 || snprintf(ban.origin, sizeof(ban.origin), "%s", origin) >=
		    (int)sizeof(ban.origin))
			continue;
		ban.until = wall + json_integer_value(left);
		ban.at = json_is_integer(len) && json_integer_value(len) >= json_integer_value(left)
				 ? ban.until - json_integer_value(len)
				 : wall;
		snprintf(ban.detector, sizeof(ban.detector), "%s", det && strlen(det) < sizeof(ban.detector) ? det : "unknown");
		/* seconds_left is whole seconds: the end read from it is off by up to 2 s. */
		if (published_has(&b->published, &ban.addr, ban.until, 3) || pending_find(&b->pending, &ban.addr))
			continue;
		queue_ban(b, &ban);
		queued++;
	}
	json_decref(ans);
	if (queued)
		log_notice("%zu bans of the daemon not published yet: queued", queued);
}

void publish_connect(struct bridge *b, int64_t now)
{
	char err[256];
	int r;

	if (b->watch.fd >= 0 || now < b->watch_retry.next_ms)
		return;
	r = ctl_watch_open(&b->watch, b->cfg.control_socket, WATCH_OPEN_TIMEOUT_MS, err, sizeof(err));
	if (r < 0) {
		if (!b->watch_retry.down)
			log_warn("%s; retrying (local bans are not published meanwhile, and are read from `bans` later)", err);
		b->watch_retry.down = true;
		backoff_fail(&b->watch_retry, now, WATCH_RETRY_MAX_MS);
		return;
	}
	log_notice("watching nfsentry's bans at %s", b->cfg.control_socket);
	backoff_ok(&b->watch_retry);
	/* The daemon may have restarted: the fleet's bans too are read again (apply.c). */
	b->need_startup = true;
	resync(b, now);
	publish_read(b, now);
}

static void on_event(struct bridge *b, const struct cs_event *e, int64_t now)
{
	struct cs_ban *p;

	switch (e->kind) {
	case CS_EV_BAN:
		if (!strcmp(e->ban.origin, "crowdsec"))
			return; /* the fleet's own decision, applied here: never published back */
		struct cs_ban ban = e->ban;
		ban.ready_ms = now + (int64_t)b->cfg.batch * 1000;
		queue_ban(b, &ban);
		return;
	case CS_EV_EVIDENCE:
		/* The record is written after the ban: the batch window gives it time to come. */
		if ((p = pending_find(&b->pending, &e->ban.addr)) && !*p->token) {
			snprintf(p->token, sizeof(p->token), "%s", e->ban.token);
			b->pending.dirty = true;
		}
		return;
	case CS_EV_UNBAN:
		/* Lifted by hand or because it is protected: a ban not yet published is not
		 * pushed onto the fleet after the administrator took it back. */
		if (strcmp(e->ban.origin, "crowdsec") && (p = pending_find(&b->pending, &e->ban.addr))) {
			/* (the fleet lifting its own ban of the same address says nothing of this
			 * host's) */
			p->until = 0;
			b->pending.dirty = true;
		}
		return;
	case CS_EV_LOST:
		log_warn("the watch lost %llu events (the bridge fell behind): reading the daemon's bans again",
			 (unsigned long long)e->count);
		resync(b, now);
		return;
	case CS_EV_OTHER:
		return;
	}
}

void publish_read(struct bridge *b, int64_t now)
{
	int64_t wall = clock_wall_ms() / 1000;
	const char *line;
	ssize_t n;

	/* Lines first: events may have come with the answer to `watch`, already read. */
	do
		while ((line = ctl_watch_line(&b->watch))) {
			struct cs_event e;
			if (cs_event_parse(line, wall, &e) < 0) {
				log_warn("watch: skipped a line that is no event: %.80s", line);
				continue;
			}
			on_event(b, &e, now);
		}
	while ((n = ctl_watch_read(&b->watch)) > 0);
	if (n == -EAGAIN)
		return;
	if (n == 0)
		log_warn("nfsentry closed the watch connection; reconnecting");
	else
		log_warn("watch: %s; reconnecting", strerror((int)-n));
	ctl_watch_close(&b->watch);
	b->watch_retry.next_ms = now + 1000;
}

/* After a LAPI_BUSY answer: crowdsec 1.4.6 inserts a batch alert by alert, so some of it may
 * be in already (measured: a retried batch published 16 to 90 bans twice). The pending bans
 * whose alert this machine has at the LAPI (same message) are taken as published. When the
 * LAPI cannot say, the batch is sent again as it is (a duplicate rather than a loss). */
static void drop_held(struct bridge *b, int64_t now)
{
	int64_t wall = clock_wall_ms() / 1000, oldest = wall;
	size_t n = b->pending.n < b->cfg.max_alerts ? b->pending.n : b->cfg.max_alerts, held = 0;
	json_t *set = NULL;
	char err[512];

	if (now < b->post_retry.next_ms)
		return;
	b->busy_check = false;
	for (size_t i = 0; i < n; i++)
		if (pending_at(&b->pending, i)->at < oldest)
			oldest = pending_at(&b->pending, i)->at;
	if (lapi_alerts_held(b->lapi, (long)(wall - oldest) + 60, &set, err, sizeof(err)) < 0) {
		log_warn("cannot ask the LAPI which alerts it took (%s): the batch is sent again whole", err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct cs_ban *ban = pending_at(&b->pending, i);
		json_t *a = NULL;
		if (alert_build(ban, wall, &a) < 0)
			continue;
		char key[512];
		snprintf(key, sizeof(key), "%s", json_string_value(json_object_get(a, "message")));
		lapi_alert_key(key);
		bool in = json_object_get(set, key) != NULL;
		json_decref(a);
		if (!in)
			continue;
		published_add(&b->published, &ban->addr, ban->until);
		ban->until = 0; /* nothing left to publish: popped with the batch */
		b->pending.dirty = true;
		held++;
	}
	log_notice("the LAPI had taken %zu alerts of the batch it answered busy (of %zu of this machine since %llds): "
		   "not sent again", held, json_object_size(set), (long long)(wall - oldest) + 60);
	json_decref(set);
}

int64_t publish_send(struct bridge *b, int64_t now)
{
	int64_t wall = clock_wall_ms() / 1000;
	int posts = 0;

	while (b->pending.n) {
		/* A long queue (after an outage) goes out over several turns of the loop, so that
		 * the watch and the decision stream are not kept waiting behind it. */
		if (posts++ == POSTS_PER_TURN)
			return 0;
		if (now < b->post_retry.next_ms)
			return b->post_retry.next_ms - now;
		if (b->busy_check)
			drop_held(b, now);
		json_t *alerts = json_array();
		size_t k = 0, stale = 0;
		char err[512];
		int r;

		if (!alerts)
			return 1000;
		/* The oldest ready ones, up to max_alerts; the queue is in arrival order, so the
		 * first one not ready ends the batch. */
		while (k < b->pending.n && json_array_size(alerts) < b->cfg.max_alerts) {
			struct cs_ban *ban = pending_at(&b->pending, k);
			json_t *a;
			if (ban->ready_ms > now)
				break;
			k++;
			if (alert_build(ban, wall, &a) < 0) {
				stale++; /* over (or taken back) before it could go: nothing to publish */
				continue;
			}
			json_array_append_new(alerts, a);
		}
		if (!k) {
			json_decref(alerts);
			return pending_at(&b->pending, 0)->ready_ms - now;
		}
		r = json_array_size(alerts) ? lapi_post_alerts(b->lapi, alerts, err, sizeof(err)) : 0;
		if (r == LAPI_BUSY) {
			/* crowdsec 1.4.6 answers 500 "database is locked" under a burst: the batch
			 * stays pending and is retried with the backoff, a bounded number of times. */
			struct cs_ban *head = pending_at(&b->pending, 0);
			if (!b->busy_tries || !nfs_addr_equal(&b->busy_addr, &head->addr) || b->busy_until != head->until) {
				b->busy_tries = 0;
				b->busy_addr = head->addr;
				b->busy_until = head->until;
			}
			b->busy_check = true;
			if (++b->busy_tries < BUSY_TRIES_MAX) {
				/* One line per batch that meets it, not one per try. */
				log_msg(b->busy_tries == 1 ? LOG_LVL_WARN : LOG_LVL_DEBUG,
					"the LAPI could not take %zu alerts now (%s): kept, retrying with backoff (try %u of %u)",
					json_array_size(alerts), err, b->busy_tries, BUSY_TRIES_MAX);
				json_decref(alerts);
				backoff_fail(&b->post_retry, now, PUBLISH_RETRY_MAX_MS);
				continue;
			}
			log_err("the LAPI could not take %zu alerts in %u tries (last: %s): dropped", json_array_size(alerts),
				b->busy_tries, err);
		}
		b->busy_tries = 0;
		if (r < 0) {
			json_decref(alerts);
			if (!b->post_retry.down)
				log_warn("cannot publish to the LAPI: %s; %zu bans wait in %s (retrying with backoff)", err,
					 b->pending.n, b->pending_path);
			b->post_retry.down = true;
			backoff_fail(&b->post_retry, now, PUBLISH_RETRY_MAX_MS);
			continue;
		}
		if (r == LAPI_BUSY)
			; /* logged above */
		else if (r == LAPI_REFUSED)
			/* A refused body stays refused; the LAPI may have taken some of the batch
			 * (1.4.6 inserts alert by alert): sending it again would duplicate those. */
			log_err("the LAPI refused %zu alerts (%s): dropped", json_array_size(alerts), err);
		else if (b->post_retry.down)
			log_notice("the LAPI takes alerts again");
		else
			log_info("published %zu bans", json_array_size(alerts));
		backoff_ok(&b->post_retry);
		for (size_t i = 0; i < k; i++) {
			struct cs_ban *ban = pending_at(&b->pending, i);
			if (ban->until > wall)
				published_add(&b->published, &ban->addr, ban->until);
		}
		pending_pop(&b->pending, k);
		b->pending_full_logged = false;
		json_decref(alerts);
		(void)stale;
	}
	return -1;
}

void publish_save(struct bridge *b, int64_t now, bool force)
{
	int r;

	if (!force && now - b->saved_ms < SAVE_EVERY_MS)
		return;
	if (b->pending.dirty) {
		/* Logged when it starts failing and when it works again, not every second. */
		r = pending_save(&b->pending, b->pending_path);
		if (r < 0 && !b->save_failed)
			log_err("cannot write %s: %s (pending bans are lost if the bridge stops now)", b->pending_path,
				strerror(-r));
		else if (r == 0 && b->save_failed)
			log_notice("%s written again", b->pending_path);
		b->save_failed = r < 0;
	}
	if (b->published.dirty) {
		published_expire(&b->published, clock_wall_ms() / 1000);
		if ((r = published_save(&b->published, b->published_path)) < 0)
			log_warn("cannot write %s: %s", b->published_path, strerror(-r));
	}
	b->saved_ms = now;
}
