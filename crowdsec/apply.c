/* apply.c - the fleet's decisions to this host: GET /v1/decisions/stream (startup=true first,
 * then the changes every update_frequency) -> the value -> ids map (decmap.h) -> `fleet`
 * requests to the daemon (fleet.h), which applies them with the same protection as its own
 * bans. The stream is per value, not per decision (crowdsec 1.4.6, measured: of two decisions
 * on one address, deleting one is not reported at all; deleting the last reports only its id).
 * So a "deleted" entry means the value has no decision left at the LAPI: it is unbanned, with
 * all its ids forgotten, unless the same pull also has a "new" entry for it (it stays banned
 * with that one). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "core/clock.h"
#include "core/log.h"
#include "fleet.h"
#include "stream.h"

#define PULL_RETRY_MAX_MS 60000
#define BANS_TIMEOUT_MS 30000
#define BANS_ANSWER_MAX (256u * 1024 * 1024)
/* The stream body: ~134 bytes a decision from crowdsec 1.4.6; 1 KiB each is ample and still
 * bounds what a LAPI (or whatever answers in its place) can make the bridge hold. */
#define STREAM_BYTES_PER_DECISION 1024
#define STREAM_BYTES_MIN (1024 * 1024)
/* A decision of this host's own comes back ending within a second or two of its ban (the LAPI
 * adds the duration it was sent to the time it took the alert). */
#define OWN_SLACK_S 5

int apply_init(struct bridge *b)
{
	b->need_startup = true;
	return decmap_new(&b->decmap, b->cfg.max_decisions);
}

void apply_deinit(struct bridge *b)
{
	decmap_free(b->decmap);
	b->decmap = NULL;
}

struct banlist {
	struct fleet_ban *v;
	size_t n, cap;
};

static int banlist_add(struct banlist *l, const struct nfs_addr *a, int64_t until_ms, int64_t now_ms)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		struct fleet_ban *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	/* Rounded up: a decision with 0.4 s left is still a decision. */
	int64_t ms = until_ms - now_ms;
	l->v[l->n++] = (struct fleet_ban){ .addr = *a, .seconds = ms > 0 ? (uint64_t)(ms + 999) / 1000 : 1 };
	return 0;
}

struct addrlist {
	struct nfs_addr *v;
	size_t n, cap;
};

static int addrlist_add(struct addrlist *l, const struct nfs_addr *a)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct nfs_addr *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *a;
	return 0;
}

struct collect {
	struct banlist *bans;
	int64_t now_ms;
	int r;
};

static void collect_ban(const struct nfs_addr *a, int64_t until_ms, void *arg)
{
	struct collect *c = arg;

	if (!c->r)
		c->r = banlist_add(c->bans, a, until_ms, c->now_ms);
}

/* The fleet's bans the daemon holds and @m does not: they were deleted while the bridge or
 * the daemon was away. */
static int stale_fleet_bans(struct bridge *b, const struct decmap *m, struct addrlist *out, char *err, size_t errlen)
{
	/* The fleet's bans only (the daemon filters); the origin is still checked below. */
	json_t *req = json_pack("{s:s, s:s}", "command", "bans", "origin", "crowdsec"), *ans = NULL, *e;
	size_t i;
	int r;

	if (!req)
		return -ENOMEM;
	r = ctl_request(b->cfg.control_socket, req, BANS_ANSWER_MAX, BANS_TIMEOUT_MS, &ans, err, errlen);
	json_decref(req);
	if (r < 0)
		return r;
	if (!json_is_true(json_object_get(ans, "ok"))) {
		const char *why = json_string_value(json_object_get(ans, "error"));
		snprintf(err, errlen, "bans: %s", why ? why : "refused");
		json_decref(ans);
		return -EPROTO;
	}
	json_array_foreach(json_object_get(ans, "bans"), i, e) {
		const char *origin = json_string_value(json_object_get(e, "origin"));
		const char *addr = json_string_value(json_object_get(e, "address"));
		struct nfs_addr a;
		int64_t until;
		if (!origin || strcmp(origin, "crowdsec") || !addr || nfs_addr_parse(addr, false, &a) < 0 ||
		    decmap_until(m, &a, &until) == 0)
			continue;
		if ((r = addrlist_add(out, &a)) < 0)
			break;
	}
	json_decref(ans);
	return r;
}

static void log_pull(const struct cs_stream *s, bool startup, size_t own, size_t nb, size_t nu,
		     const struct fleet_result *res, const struct decmap *m)
{
	char counts[512] = "";
	size_t off = 0;

	for (int i = 0; i < FC_COUNT; i++)
		if (res->count[i] && off < sizeof(counts))
			off += (size_t)snprintf(counts + off, sizeof(counts) - off, " %s %llu", fleet_count_names[i],
						(unsigned long long)res->count[i]);
	/* One line per pull that changed something, never one per address. */
	bool changed = startup || s->n_added || s->n_deleted || nb || nu || s->other_type || s->other_scope ||
		       s->invalid || s->expired || s->over || own;
	log_msg(changed ? LOG_LVL_NOTICE : LOG_LVL_DEBUG, "fleet%s: %zu new, %zu deleted decisions; to the daemon %zu bans, %zu unbans:%s; ignored: %zu other "
		   "types, %zu other scopes, %zu invalid, %zu expired, %zu over max_decisions, %zu this host's own; held: %zu "
		   "values",
		   startup ? " (start-up)" : "", s->n_added, s->n_deleted, nb, nu, off ? counts : " nothing", s->other_type,
		   s->other_scope, s->invalid, s->expired, s->over, own, decmap_values(m));
	if (res->count[FC_PROTECTED] || res->count[FC_ALLOWED] || res->count[FC_TOO_WIDE] || res->count[FC_INVALID])
		log_warn("the daemon refused some of the fleet's decisions (protected, allowed, too wide or invalid); "
			 "the first: %s", *res->first_error ? res->first_error : "(not named)");
}

/* Applies one pulled body. Returns 0, or -errno when the daemon did not take it all (the
 * next pull is then a start-up one). */
static int apply_body(struct bridge *b, const char *body, size_t len, bool startup)
{
	struct cs_stream s;
	struct banlist bans = { 0 };
	struct addrlist unbans = { 0 };
	struct fleet_result res = { 0 };
	struct decmap *m = b->decmap;
	int64_t now_ms = clock_wall_ms();
	size_t full = 0, own = 0;
	char err[512];
	int r;

	r = cs_stream_parse(body, len, b->cfg.max_decisions, &s, err, sizeof(err));
	if (r < 0) {
		log_err("the decision stream: %s; nothing applied", err);
		return r;
	}
	if (startup && (r = decmap_new(&m, b->cfg.max_decisions)) < 0)
		goto done;
	/* Deleted ones first, then new ones: a value with a "deleted" and a "new" entry in the same
	 * pull ends banned with the new decision, any other deleted value ends unbanned. */
	for (size_t i = 0; i < s.n_deleted; i++)
		if (decmap_del(m, &s.deleted[i].addr) == 1 && !startup &&
		    (r = addrlist_add(&unbans, &s.deleted[i].addr)) < 0)
			goto done;
	for (size_t i = 0; i < s.n_added; i++) {
		/* This host's own bans come back in the stream as decisions of origin nfsentry. The
		 * daemon holds them already as its own; applied again as the fleet's, they would
		 * outlive an unban by hand here. Known by address and end (published.h); another
		 * host's decision on the same address ends at another time and is applied. */
		if (s.added[i].nfsentry && b->cfg.publish &&
		    published_has(&b->published, &s.added[i].addr, (now_ms + s.added[i].ms) / 1000, OWN_SLACK_S)) {
			own++;
			continue;
		}
		r = decmap_add(m, &s.added[i].addr, s.added[i].id, now_ms + s.added[i].ms);
		if (r == -ENOSPC)
			full++;
		else if (r == 1 && !startup && (r = banlist_add(&bans, &s.added[i].addr, now_ms + s.added[i].ms, now_ms)) < 0)
			goto done;
		else if (r == -ENOMEM)
			goto done;
	}
	if (!startup) {
		/* A value deleted and given a new decision in the same pull is not unbanned: its new
		 * decision's ban (sent) replaces the old one. */
		size_t k = 0;
		int64_t until;
		for (size_t i = 0; i < unbans.n; i++)
			if (decmap_until(m, &unbans.v[i], &until) < 0)
				unbans.v[k++] = unbans.v[i];
		unbans.n = k;
	}
	if (startup) {
		/* Everything the LAPI holds, and away with the fleet's bans it no longer holds. */
		struct collect c = { .bans = &bans, .now_ms = now_ms };
		decmap_foreach(m, collect_ban, &c);
		if ((r = c.r) < 0 || (r = stale_fleet_bans(b, m, &unbans, err, sizeof(err))) < 0) {
			if (r != -ENOMEM)
				log_warn("%s: the fleet's bans deleted meanwhile are not lifted now", err);
			else
				goto done;
		}
	}
	if (full && !b->full_logged) {
		log_warn("[apply] max_decisions = %llu reached: %zu decisions not applied (and more until some go)",
			 (unsigned long long)b->cfg.max_decisions, full);
		b->full_logged = true;
	} else if (!full)
		b->full_logged = false;
	s.over += full;
	r = fleet_send(b->cfg.control_socket, bans.v, bans.n, unbans.v, unbans.n, &res, err, sizeof(err));
	/* An outage of the daemon is one line when it starts and one when it ends. */
	if (r < 0 && !b->fleet_down)
		log_err("cannot hand the fleet's decisions to nfsentry: %s; applied again from a start-up pull, "
			"retrying with backoff", err);
	else if (r < 0)
		log_debug("cannot hand the fleet's decisions to nfsentry: %s", err);
	else if (b->fleet_down)
		log_notice("nfsentry takes the fleet's decisions again");
	b->fleet_down = r < 0;
	if (r == 0 || res.requests)
		log_pull(&s, startup, own, bans.n, unbans.n, &res, m);
	if (startup) {
		/* The map is the LAPI's state, whatever the daemon did with it. */
		decmap_free(b->decmap);
		b->decmap = m;
		m = NULL;
	}
done:
	if (r == -ENOMEM)
		log_err("out of memory applying the decision stream");
	if (startup && m != b->decmap)
		decmap_free(m);
	free(bans.v);
	free(unbans.v);
	cs_stream_free(&s);
	return r < 0 ? r : 0;
}

int64_t apply_pull(struct bridge *b, int64_t now)
{
	size_t max = b->cfg.max_decisions * STREAM_BYTES_PER_DECISION;
	bool startup = b->need_startup;
	char *body = NULL, err[512];
	size_t len = 0;
	int r;

	if (now < b->pull_retry.next_ms)
		return b->pull_retry.next_ms - now;
	if (max < STREAM_BYTES_MIN)
		max = STREAM_BYTES_MIN;
	r = lapi_stream(b->lapi, startup, max, &body, &len, err, sizeof(err));
	if (r < 0) {
		if (!b->pull_retry.down)
			log_warn("cannot pull the fleet's decisions: %s; retrying with backoff (the bans applied stay)", err);
		b->pull_retry.down = true;
		backoff_fail(&b->pull_retry, now, PULL_RETRY_MAX_MS);
		return b->pull_retry.next_ms - now;
	}
	if (b->pull_retry.down)
		log_notice("the LAPI answers the decision stream again");
	b->pulls++;
	r = apply_body(b, body, len, startup);
	free(body);
	/* After a failure the next pull starts over: the daemon holds what the map says only once
	 * a start-up pull went through. A body that does not parse is retried the same way. */
	b->need_startup = r < 0;
	b->pull_retry.down = false;
	b->pull_retry.delay_ms = 0;
	b->pull_retry.next_ms = now + (int64_t)b->cfg.update_frequency * 1000;
	if (r < 0)
		backoff_fail(&b->pull_retry, now, PULL_RETRY_MAX_MS);
	return b->pull_retry.next_ms - now;
}
