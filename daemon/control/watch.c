/* watch.c - watchers (the watch command, docs/control.md): a connection kept open after its
 * answer, sent the ban feed's events one a line. Each has a bounded buffer that is filled from
 * the feed only while a whole line fits, so a watcher that does not read falls behind the
 * feed's ring, and is told by how much, rather than hold the server up. The connection itself
 * (its socket and its sending) is server.c's. */
#include "control/server-int.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/protocol.h"
#include "core/detector.h"

/* The longest line of a watched event (an IPv6 prefix, an evidence token): a watcher's buffer
 * takes events only while this much is free, so a line is never cut. */
#define WATCH_LINE_MAX 512
/* Events read from the feed at a time. */
#define WATCH_BATCH 64

/* Subscribes the asking connection to the ban feed. The handlers see requests, not
 * connections: conn_answer() (server.c) reads c->subscribe and has control_watch_join() make
 * the connection a watcher when the answer is ok. A "from" the ring no longer holds is served
 * from its oldest event, after a "lost" line; one from the future starts at the present. */
json_t *control_watch_answer(struct control *c, json_t *req, uid_t uid)
{
	json_t *from = json_object_get(req, "from");
	unsigned origins;

	if (from && (!json_is_integer(from) || json_integer_value(from) < 1))
		return control_fail("\"from\": expected a sequence number (1 or more)");
	if (!control_origins_parse(req, &origins))
		return control_fail("\"origin\": expected nfsentry, manual or crowdsec, or a list of them");
	if (!c->ctx.feed)
		return control_fail("the ban feed is off");
	if (c->nwatchers >= CTL_WATCHERS_MAX)
		return control_fail("too many watchers (at most %d)", CTL_WATCHERS_MAX);
	uint64_t now = ban_feed_next_seq(c->ctx.feed);
	uint64_t next = from && (uint64_t)json_integer_value(from) < now ? (uint64_t)json_integer_value(from) : now;
	json_t *r = control_ok();
	json_object_set_new(r, "seq", json_integer((json_int_t)next));
	c->subscribe = true;
	c->subscribe_next = next;
	c->subscribe_origins = origins;
	return r;
}

/* Makes @k a watcher from the request control_watch_answer() granted (c->subscribe): its
 * buffer grows to CTL_WATCH_BUF_MAX for the lines it has not taken yet, and it has no deadline. */
void control_watch_join(struct control *c, struct conn *k)
{
	char *b = realloc(k->buf, CTL_WATCH_BUF_MAX);
	if (!b)
		return; /* answered as asked; closed once the answer is sent */
	k->buf = b;
	k->cap = CTL_WATCH_BUF_MAX;
	k->watching = true;
	k->next = c->subscribe_next;
	k->origins = c->subscribe_origins;
	k->deadline_ms = INT64_MAX; /* a watcher waits for events, for as long as it likes */
	c->nwatchers++;
}

/* Appends one line (@o as JSON, freed) to watcher @k. Returns false when it does not fit. */
static bool watch_put(struct conn *k, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	size_t n = text ? strlen(text) : 0;
	bool fits = text && k->len + n + 1 <= k->cap;

	if (fits) {
		memcpy(k->buf + k->len, text, n);
		k->buf[k->len + n] = '\n';
		k->len += n + 1;
	}
	free(text);
	json_decref(o);
	return fits || !text; /* out of memory: the event is skipped rather than retried forever */
}

static json_t *watch_event_json(const struct ban_feed_event *e)
{
	static const char *const whys[] = { "", "manual", "protected", "fleet" };

	switch (e->kind) {
	case BAN_FEED_BAN:
		return json_pack("{s:s, s:I, s:s, s:o, s:s, s:I, s:I, s:I}", "event", "ban", "seq", (json_int_t)e->seq,
				 "origin", ban_origin_name(e->origin), "address", control_addr_json(&e->addr), "detector",
				 detector_name(e->det), "seconds", (json_int_t)e->seconds, "until",
				 (json_int_t)(e->until_ms / 1000), "events", (json_int_t)e->events);
	case BAN_FEED_UNBAN:
		return json_pack("{s:s, s:I, s:s, s:o, s:s}", "event", "unban", "seq", (json_int_t)e->seq, "origin",
				 ban_origin_name(e->origin), "address", control_addr_json(&e->addr), "why",
				 e->why < sizeof(whys) / sizeof(whys[0]) && e->why ? whys[e->why] : "?");
	case BAN_FEED_EVIDENCE:
		return json_pack("{s:s, s:I, s:o, s:s#}", "event", "evidence", "seq", (json_int_t)e->seq, "address",
				 control_addr_json(&e->addr), "token", e->token, (int)strnlen(e->token, sizeof(e->token) - 1));
	default:
		return NULL;
	}
}

/* Copies the feed's events after k->next into watcher @k's buffer while WATCH_LINE_MAX is free
 * in it, a "lost" line first when the ring overwrote some it had not taken. What does not fit
 * stays in the ring (k->next is not moved past it): a watcher that does not read falls behind
 * the ring, and is told by how much when it reads again. */
static void watch_fill(struct control *c, struct conn *k)
{
	struct ban_feed_event ev[WATCH_BATCH];

	for (;;) {
		if (k->sent) {
			memmove(k->buf, k->buf + k->sent, k->len - k->sent);
			k->len -= k->sent;
			k->sent = 0;
		}
		uint64_t next = k->next, lost;
		if (k->cap - k->len < WATCH_LINE_MAX)
			return;
		size_t n = ban_feed_read(c->ctx.feed, &next, ev, WATCH_BATCH, &lost);
		if (lost) {
			if (!watch_put(k, json_pack("{s:s, s:I}", "event", "lost", "count", (json_int_t)lost)))
				return;
			k->next = next - n; /* the oldest event held */
		}
		for (size_t i = 0; i < n; i++) {
			if (k->cap - k->len < WATCH_LINE_MAX)
				return;
			/* Evidence is of this host's bans: no origin to filter by. */
			bool wanted = ev[i].kind == BAN_FEED_EVIDENCE || (k->origins & (1u << ev[i].origin));
			json_t *o = wanted ? watch_event_json(&ev[i]) : NULL;
			if (o && !watch_put(k, o))
				return;
			k->next = ev[i].seq + 1;
		}
		if (n < WATCH_BATCH)
			return;
	}
}

/* Moves watcher @k on: notes its end of sending, sends, and refills from the feed, until its
 * client takes no more or the feed has nothing more for it (bounded by the ring: nothing wakes
 * a watcher whose buffer was emptied while the ring still held events for it, so it must not
 * stop there). Returns false when it is gone. */
bool control_watch_step(struct control *c, struct conn *k, short revents)
{
	if (revents & (POLLERR | POLLHUP))
		return false;
	if ((revents & POLLIN) && !k->eof) {
		char scratch[512]; /* a watcher has nothing more to say: what it sends is dropped */
		ssize_t n = read(k->fd, scratch, sizeof(scratch));
		if (n == 0)
			k->eof = true; /* it may still read: a client that shut its sending side */
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return false;
	}
	for (;;) {
		int r = control_conn_send(k);
		if (r != 0)
			return r > 0; /* blocked: POLLOUT brings it back */
		size_t before = k->len;
		watch_fill(c, k);
		if (k->len == before)
			return true; /* nothing more: the feed's eventfd brings it back */
	}
}

