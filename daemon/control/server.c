/* server.c - see server.h. One thread, one poll(2) loop over non-blocking connections, each
 * with its own buffer and deadline: a client that sends slowly, or not at all, holds only its
 * own connection, and only until its deadline (docs/control.md, "Limits"). A watcher (the
 * `watch` command) is a connection kept open after its answer: the loop polls the ban feed
 * and copies its events into each watcher's bounded buffer, never waiting for one. */
#define _GNU_SOURCE /* struct ucred, accept4 */
#include "control/server.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>

#include "build-config.h"
#include "control/protocol.h"
#include "core/clock.h"
#include "core/detector.h"
#include "core/log.h"
#include "core/thread.h"
#include "detect/trkcounts.h"
#include "evidence/store.h"
#include "metrics/metrics.h"

#define REQUEST_MAX CTL_REQUEST_MAX
/* The whole request line must arrive within this of the connection being accepted, and the
 * whole answer be taken within this of its being ready: a deadline per connection, not per
 * read, so a client trickling a byte at a time is cut off like one that sends nothing. */
#define REQUEST_TIMEOUT_S 5
/* Connections served at once. At the cap the oldest (the one that has stalled longest; an
 * honest client sends its line at once) is dropped for the newcomer, so stalled clients
 * cannot lock the others out. Each holds at most REQUEST_MAX bytes of request. */
#define CONN_MAX 64
/* How long ban and unban wait for the ban writer's answer; a request it has not answered by
 * then stays queued, and its answer slot is kept (at most ORPHANS_MAX) until it comes. */
#define BAN_WAIT_S 5
#define ORPHANS_MAX 16
/* Items of a fleet answer's "errors" (the counts cover them all). */
#define FLEET_ERRORS_MAX 16
#define LIST_DEFAULT 20
#define LIST_MAX 10000

/* The longest line of a watched event (an IPv6 prefix, an evidence token): a watcher's buffer
 * takes events only while this much is free, so a line is never cut. */
#define WATCH_LINE_MAX 512
/* Events read from the feed at a time. */
#define WATCH_BATCH 64

struct control {
	int fd;
	char path[108];
	gid_t gid;
	gid_t fleet_gid; /* [fleet] group, or (gid_t)-1 */
	struct daemon_view ctx;
	/* The control thread's own (or a test's, with the thread not started). */
	size_t nwatchers;        /* connections subscribed to the feed */
	bool subscribe;          /* the request being answered asked to watch, from subscribe_next */
	uint64_t subscribe_next;
	unsigned subscribe_origins; /* of the bans and unbans it asked for (bits 1 << enum ban_origin) */
	struct nfs_thread thread;
	pthread_mutex_t orphan_lock;
	struct ban_reply *orphans[ORPHANS_MAX]; /* answers the writer still owes to gone askers */
	size_t norphans;
};

static void ban_reply_free(struct ban_reply *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Frees the orphaned answers the writer has filled. Returns how many are still owed. */
static size_t orphans_reap(struct control *c)
{
	pthread_mutex_lock(&c->orphan_lock);
	for (size_t i = 0; i < c->norphans;) {
		struct ban_reply *r = c->orphans[i];
		pthread_mutex_lock(&r->lock);
		bool done = r->done;
		pthread_mutex_unlock(&r->lock);
		if (done) {
			ban_reply_free(r);
			c->orphans[i] = c->orphans[--c->norphans];
		} else {
			i++;
		}
	}
	size_t n = c->norphans;
	pthread_mutex_unlock(&c->orphan_lock);
	return n;
}

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *addr_json(const struct nfs_addr *a)
{
	char buf[NFS_ADDR_STRLEN];
	return json_string(nfs_addr_format(a, buf, sizeof(buf)));
}

static json_t *cmd_status(struct control *c, json_t *req, uid_t uid)
{
	json_t *r = ok(), *queues = json_array();
	struct tracker_stats ts;
	struct flow_stats fs;
	struct banwriter_stats bs;

	json_object_set_new(r, "version", json_string(NFSENTRY_VERSION));
	json_object_set_new(r, "uptime", json_integer((json_int_t)difftime(time(NULL), c->ctx.started)));
	for (size_t i = 0; i < c->ctx.nworkers; i++) {
		struct worker_stats st;
		worker_get_stats(c->ctx.workers[i], &st);
		json_array_append_new(queues, json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "queue",
							(int)worker_queue(c->ctx.workers[i]), "kind",
							i < c->ctx.nclosed ? "closed-port" : "inspection", "packets",
							(json_int_t)st.packets, "accepted", (json_int_t)st.accepted,
							"dropped", (json_int_t)st.dropped, "malformed",
							(json_int_t)st.malformed, "enobufs", (json_int_t)st.enobufs,
							"id_gaps", (json_int_t)st.id_gaps));
	}
	json_object_set_new(r, "queues", queues);
	tracker_get_stats(c->ctx.tracker, &ts);
	flowtab_get_stats(c->ctx.flows, &fs);
	banwriter_get_stats(c->ctx.writer, &bs);
	json_object_set_new(r, "sources", json_integer((json_int_t)ts.sources));
	json_object_set_new(r, "flows", json_integer((json_int_t)fs.flows));
	json_object_set_new(r, "bans", json_integer((json_int_t)bs.active));
	json_object_set_new(r, "bans_added", json_integer((json_int_t)bs.added));
	if (c->ctx.evidence) {
		struct evidence_stats es;
		evidence_get_stats(c->ctx.evidence, &es);
		json_object_set_new(r, "evidence_records", json_integer((json_int_t)es.store.records));
		json_object_set_new(r, "evidence_bytes", json_integer((json_int_t)es.store.bytes));
	}
	/* Every number of the metrics file, the same way (docs/metrics.md). */
	json_t *m = metrics_collect(&c->ctx);
	if (m)
		json_object_set_new(r, "metrics", m);
	return r;
}

/* The bans copied out of the writer's lock; the answer is written after, outside it (for
 * 200,000 fleet bans that takes the better part of a second, which the writer must not wait
 * through). */
struct bans_copy {
	struct ban_entry *v;
	size_t n, cap;
	unsigned origins; /* bit (1 << enum ban_origin) of the origins asked for */
	bool oom;
};

/* Adds the bit (1 << enum ban_origin) of origin name @v to *@bits. False when @v is none. */
static bool origin_add(json_t *v, unsigned *bits)
{
	for (unsigned k = 0; k < BAN_ORIGIN_COUNT && json_is_string(v); k++)
		if (!strcmp(json_string_value(v), ban_origin_name(k))) {
			*bits |= 1u << k;
			return true;
		}
	return false;
}

/* The origins a request's "origin" names (a name, a list of names, or nothing: all of them)
 * as bits (1 << enum ban_origin) in *@out. Returns false when it names something else. */
static bool origins_parse(json_t *req, unsigned *out)
{
	json_t *o = json_object_get(req, "origin"), *v;
	size_t i;

	*out = 0;
	if (!o) {
		*out = (1u << BAN_ORIGIN_COUNT) - 1;
		return true;
	}
	if (json_is_string(o))
		return origin_add(o, out);
	if (!json_is_array(o) || json_array_size(o) == 0)
		return false;
	json_array_foreach(o, i, v)
		if (!origin_add(v, out))
			return false;
	return true;
}

/* Under the writer's lock: copies, nothing more. */
static int bans_cb(const struct ban_entry *e, void *data)
{
	struct bans_copy *b = data;

	if (!(b->origins & (1u << e->origin)))
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct ban_entry *v = realloc(b->v, cap * sizeof(*v));
		if (!v) {
			b->oom = true;
			return 1;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = *e;
	return 0;
}

/* A growing text: the bans answer is written as text, not as a tree of JSON objects (200,000
 * fleet bans took jansson 250 MB, which the daemon's heap then kept). */
struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;

	for (int tries = 0; tries < 2 && !t->oom; tries++) {
		va_start(ap, fmt);
		int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = true;
		} else if (t->p && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		} else {
			size_t cap = t->cap ? t->cap : 4096;
			while (cap - t->len <= (size_t)n)
				cap *= 2;
			char *p = realloc(t->p, cap);
			if (!p)
				t->oom = true;
			else
				t->p = p, t->cap = cap;
		}
	}
}

static bool token_is_hex(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 64 && !s[n];
}

/* The answer to bans, as text (malloc'd; NULL: out of memory): the JSON that json_dumps() would
 * write of it, keys in the same order. Every string in it is ASCII of ours: addresses as
 * formatted, names from tables, tokens checked to be hex. */
static char *cmd_bans_text(struct control *c, json_t *req, uid_t uid)
{
	struct bans_copy b = { 0 };
	struct text t = { 0 };
	struct timespec now;
	char addr[NFS_ADDR_STRLEN];
	bool first = true;

	if (!origins_parse(req, &b.origins)) {
		json_t *e = fail("\"origin\": expected nfsentry, manual or crowdsec, or a list of them");
		char *text = e ? json_dumps(e, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(e);
		return text;
	}
	banwriter_list(c->ctx.writer, bans_cb, &b);
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	text_printf(&t, "{\"ok\":true,\"bans\":[");
	for (size_t i = 0; !b.oom && i < b.n; i++) {
		const struct ban_entry *e = &b.v[i];
		int64_t left = (e->until_ms - now_ms) / 1000;
		if (left <= 0)
			continue;
		text_printf(&t,
			    "%s{\"address\":\"%s\",\"detector\":\"%s\",\"origin\":\"%s\",\"offence\":%u,\"seconds_left\":%" PRId64
			    ",\"timeout\":%" PRIu64,
			    first ? "" : ",", nfs_addr_format(&e->addr, addr, sizeof(addr)), detector_name(e->det),
			    ban_origin_name(e->origin), (unsigned)e->offence, left, e->timeout_s);
		if (token_is_hex(e->token))
			text_printf(&t, ",\"token\":\"%s\"", e->token);
		text_printf(&t, "}");
		first = false;
	}
	text_printf(&t, "]}");
	free(b.v);
	if (b.oom || t.oom) {
		free(t.p);
		return NULL;
	}
	return t.p;
}

/* Hands a ban or unban to the writer thread and waits for its answer, at most BAN_WAIT_S (the
 * writer answers at once unless it is stuck in the kernel; this server stops before it). */
static json_t *cmd_ban(struct control *c, json_t *req, bool unban, uid_t uid)
{
	const char *a = json_string_value(json_object_get(req, "address"));
	json_t *secs = json_object_get(req, "seconds");
	struct ban_request rq = { .op = unban ? BAN_OP_MANUAL_UNBAN : BAN_OP_MANUAL_BAN };
	struct ban_reply *reply, got;
	pthread_condattr_t ca;
	struct timespec until;
	char buf[NFS_ADDR_STRLEN];
	int w = 0;

	if (!a || nfs_addr_parse(a, false, &rq.host) < 0)
		return fail("\"address\": expected an address or prefix");
	if (rq.host.family == AF_INET && rq.host.plen != 32)
		return fail("IPv4 bans are single addresses");
	if (secs && (!json_is_integer(secs) || json_integer_value(secs) <= 0 ||
		     json_integer_value(secs) > 10LL * 365 * 86400))
		return fail("\"seconds\": expected a number of seconds (1 s to 10 years)");
	if (orphans_reap(c) >= ORPHANS_MAX)
		return fail("the ban writer has not answered %d earlier requests; try again later", ORPHANS_MAX);
	rq.seconds = secs ? (uint64_t)json_integer_value(secs) : 0;
	rq.addr = rq.host;
	rq.det = DET_MANUAL;
	rq.by_uid = (uint32_t)uid;
	clock_gettime(CLOCK_REALTIME, &rq.t_packet);
	reply = calloc(1, sizeof(*reply));
	if (!reply)
		return fail("out of memory");
	pthread_mutex_init(&reply->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&reply->cond, &ca);
	pthread_condattr_destroy(&ca);
	rq.reply = reply;
	if (banq_push(c->ctx.banq, &rq) < 0) {
		ban_reply_free(reply);
		return fail("the ban queue is full; try again");
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += BAN_WAIT_S;
	pthread_mutex_lock(&reply->lock);
	while (!reply->done && w != ETIMEDOUT)
		w = pthread_cond_timedwait(&reply->cond, &reply->lock, &until);
	got = *reply;
	pthread_mutex_unlock(&reply->lock);
	if (!got.done) { /* the writer still holds the request: its answer slot must outlive us */
		pthread_mutex_lock(&c->orphan_lock);
		c->orphans[c->norphans++] = reply; /* room: checked by orphans_reap() above */
		pthread_mutex_unlock(&c->orphan_lock);
		return fail("the ban writer did not answer within %d s; the request is still queued (see the log)",
			    BAN_WAIT_S);
	}
	ban_reply_free(reply);
	if (got.rc < 0)
		return fail("%s: %s", nfs_addr_format(&got.addr, buf, sizeof(buf)), got.msg);
	json_t *r = ok();
	json_object_set_new(r, "address", addr_json(&got.addr));
	if (!unban)
		json_object_set_new(r, "seconds", json_integer((json_int_t)got.seconds));
	return r;
}

static json_t *cmd_allow(struct control *c, json_t *req, uid_t uid)
{
	const char *n = json_string_value(json_object_get(req, "network"));
	struct nfs_addr net;

	if (!n || nfs_addr_parse(n, false, &net) < 0)
		return fail("\"network\": expected an address or a network (host bits zero)");
	int r = banwriter_allow(c->ctx.writer, &net);
	if (r == 0)
		r = engine_spare(c->ctx.engine, &net);
	if (r < 0)
		return fail("cannot add %s: %s", n, strerror(-r));
	log_notice("allowlisted %s until the next reload (by uid %u, through the control socket)", n, (unsigned)uid);
	json_t *o = ok();
	json_object_set_new(o, "network", addr_json(&net));
	return o;
}

/* STOP sec. 6.5: the record is re-hashed so that any change shows. Root only, whatever
 * control_group says (the dispatch table checks it). */
static json_t *cmd_evidence(struct control *c, json_t *req, uid_t uid)
{
	const char *token = json_string_value(json_object_get(req, "token"));
	json_t *verify = json_object_get(req, "verify");

	if (!c->ctx.evidence)
		return fail("evidence records are off ([evidence] dir is empty or could not be used; see the log)");
	struct evstore *st = evidence_store(c->ctx.evidence);
	if (json_is_true(verify)) {
		json_t *v = evstore_verify(st);
		if (!v)
			return fail("out of memory");
		json_object_set_new(v, "ok", json_true());
		json_object_set_new(v, "intact", json_boolean(json_array_size(json_object_get(v, "problems")) == 0));
		return v;
	}
	if (!token)
		return fail("\"token\": expected the 64 hex digits of an evidence token");
	char *data = NULL;
	size_t len = 0;
	struct evstore_check chk;
	int r = evstore_get(st, token, &data, &len, &chk);
	if (r == -EINVAL)
		return fail("\"%.80s\" is not a token (64 lowercase hex digits)", token);
	if (r == -ENOENT)
		return fail("no evidence record with token %.64s%s", token,
			    chk.seq ? " (it was indexed, but its file is gone: deleted)" : " (never saved, or removed for space)");
	if (r < 0)
		return fail("cannot read the record of %.64s: %s", token, strerror(-r));
	json_t *ans = ok();
	static const char *const states[] = { "intact", "tampered", "unreadable" };
	json_object_set_new(ans, "token", json_string(token));
	json_object_set_new(ans, "state", json_string(states[chk.state]));
	json_object_set_new(ans, "intact", json_boolean(chk.state == EVSTORE_INTACT && !chk.chain[0]));
	json_object_set_new(ans, "seq", json_integer((json_int_t)chk.seq));
	if (chk.state == EVSTORE_TAMPERED)
		json_object_set_new(ans, "actual", json_string(chk.actual));
	if (chk.chain[0])
		json_object_set_new(ans, "chain", json_string(chk.chain));
	json_t *rec = json_loadb(data, len, 0, NULL);
	/* A tampered record is shown as it is now: the investigator sees what was changed to. */
	if (!rec)
		rec = json_stringn(data, len); /* NULL when not UTF-8 either */
	json_object_set_new(ans, "record", rec ? rec : json_string("(neither JSON nor text)"));
	free(data);
	return ans;
}

static size_t list_limit(json_t *req)
{
	json_t *l = json_object_get(req, "limit");
	json_int_t v = json_is_integer(l) ? json_integer_value(l) : LIST_DEFAULT;
	return v < 1 ? 1 : v > LIST_MAX ? LIST_MAX : (size_t)v;
}

static json_t *cmd_sources(struct control *c, json_t *req, uid_t uid)
{
	size_t max = list_limit(req);
	struct trk_summary *s = calloc(max, sizeof(*s));
	uint32_t now = engine_clock(c->ctx.engine);
	json_t *list = json_array();

	if (!s)
		return fail("out of memory");
	size_t n = tracker_top(c->ctx.tracker, s, max, atomic_load(&c->ctx.engine->set.window), now);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(list, json_pack("{s:o, s:i, s:i, s:i, s:o}", "address", addr_json(&s[i].addr),
						      "ports", (int)s[i].ports, "seconds_since_first",
						      (int)(now - s[i].first_seen), "seconds_since_last",
						      (int)(now - s[i].last_seen), "counts", trk_counts_json(s[i].counts)));
	}
	free(s);
	json_t *r = ok();
	json_object_set_new(r, "sources", list);
	return r;
}

static json_t *cmd_flows(struct control *c, json_t *req, uid_t uid)
{
	size_t max = list_limit(req);
	struct flow_summary *f = calloc(max, sizeof(*f));
	json_t *list = json_array();

	if (!f)
		return fail("out of memory");
	size_t n = flowtab_top(c->ctx.flows, f, max);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:o, s:i, s:o, s:i, s:i, s:b, s:b}", "client",
						      addr_json(&f[i].tuple.client), "cport", f[i].tuple.cport, "server",
						      addr_json(&f[i].tuple.server), "sport", f[i].tuple.sport, "packets",
						      (int)f[i].packets, "initiator_known", f[i].tuple.initiator_known,
						      "drop", f[i].drop));
	free(f);
	json_t *r = ok();
	json_object_set_new(r, "flows", list);
	return r;
}

static json_t *cmd_reload(struct control *c, json_t *req, uid_t uid)
{
	log_notice("reload asked by uid %u through the control socket", (unsigned)uid);
	kill(getpid(), SIGHUP); /* the main loop reloads, as for systemctl reload */
	return ok();
}

/* Subscribes the asking connection to the ban feed. The handlers see requests, not
 * connections: conn_answer() reads c->subscribe and makes the connection a watcher when the
 * answer is ok. A "from" the ring no longer holds is served from its oldest event, after a
 * "lost" line; one from the future starts at the present. */
static json_t *cmd_watch(struct control *c, json_t *req, uid_t uid)
{
	json_t *from = json_object_get(req, "from");
	unsigned origins;

	if (from && (!json_is_integer(from) || json_integer_value(from) < 1))
		return fail("\"from\": expected a sequence number (1 or more)");
	if (!origins_parse(req, &origins))
		return fail("\"origin\": expected nfsentry, manual or crowdsec, or a list of them");
	if (!c->ctx.feed)
		return fail("the ban feed is off");
	if (c->nwatchers >= CTL_WATCHERS_MAX)
		return fail("too many watchers (at most %d)", CTL_WATCHERS_MAX);
	uint64_t now = ban_feed_next_seq(c->ctx.feed);
	uint64_t next = from && (uint64_t)json_integer_value(from) < now ? (uint64_t)json_integer_value(from) : now;
	json_t *r = ok();
	json_object_set_new(r, "seq", json_integer((json_int_t)next));
	c->subscribe = true;
	c->subscribe_next = next;
	c->subscribe_origins = origins;
	return r;
}

/* A fleet item the control server refuses before the writer sees it: counted "invalid", and
 * named in "errors" while there is room. */
static void fleet_invalid(json_t *errors, json_t *given, const char *why)
{
	char shown[72];
	const char *s = json_string_value(given);

	if (json_array_size(errors) >= FLEET_ERRORS_MAX)
		return;
	snprintf(shown, sizeof(shown), "%.64s", s ? s : "(not a string)");
	for (char *p = shown; *p; p++) /* cut at 64 bytes: keep it ASCII, never half a character */
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	json_array_append_new(errors, json_pack("{s:s, s:s}", "address", shown, "error", why));
}

/* Parses one address of a fleet request into @it. Returns NULL, or why it is invalid. */
static const char *fleet_item_parse(json_t *address, struct ban_fleet_item *it)
{
	const char *a = json_string_value(address);

	/* Host bits are cleared: a Range decision "192.0.2.1/24" means 192.0.2.0/24. */
	if (!a || nfs_addr_parse(a, true, &it->addr) < 0)
		return "not an address or prefix";
	return NULL;
}

/* The fleet's decisions (docs/control.md, "fleet"): checked here, applied by the writer. */
static json_t *cmd_fleet(struct control *c, json_t *req, uid_t uid)
{
	json_t *bans = json_object_get(req, "ban"), *unbans = json_object_get(req, "unban"), *v;
	uint64_t counts[BAN_FLEET_OUTCOMES] = { 0 };
	struct ban_fleet_item *items;
	size_t n = 0, i;
	json_t *errors;

	if ((bans && !json_is_array(bans)) || (unbans && !json_is_array(unbans)))
		return fail("\"ban\" and \"unban\": expected lists");
	if (json_array_size(bans) + json_array_size(unbans) > CTL_FLEET_ITEMS_MAX)
		return fail("at most %d decisions per request (%zu given)", CTL_FLEET_ITEMS_MAX,
			    json_array_size(bans) + json_array_size(unbans));
	items = calloc(json_array_size(bans) + json_array_size(unbans) + 1, sizeof(*items));
	errors = json_array();
	if (!items || !errors) {
		free(items);
		json_decref(errors);
		return fail("out of memory");
	}
	json_array_foreach(unbans, i, v) {
		const char *why = fleet_item_parse(v, &items[n]);
		if (why) {
			counts[BAN_FLEET_INVALID]++;
			fleet_invalid(errors, v, why);
			continue;
		}
		items[n++].unban = true;
	}
	json_array_foreach(bans, i, v) {
		json_t *secs = json_object_get(v, "seconds"), *addr = json_object_get(v, "address");
		const char *why = json_is_object(v) ? fleet_item_parse(addr, &items[n]) : "not {address, seconds}";
		if (!why && (!json_is_integer(secs) || json_integer_value(secs) <= 0))
			why = "\"seconds\": expected a positive number";
		if (why) {
			counts[BAN_FLEET_INVALID]++;
			fleet_invalid(errors, addr ? addr : v, why);
			continue;
		}
		items[n++].seconds = (uint64_t)json_integer_value(secs);
	}
	int r = n ? banwriter_fleet(c->ctx.writer, items, n, BAN_WAIT_S * 1000) : 0;
	if (r < 0) {
		free(items);
		json_decref(errors);
		if (r == -ETIMEDOUT)
			return fail("the ban writer did not answer within %d s; the decisions are still being applied "
				    "(see the log)", BAN_WAIT_S);
		if (r == -ESHUTDOWN)
			return fail("nfsentry is stopping");
		return fail("cannot apply the decisions: %s", strerror(-r));
	}
	for (i = 0; i < n; i++) {
		uint8_t o = items[i].outcome < BAN_FLEET_OUTCOMES ? items[i].outcome : BAN_FLEET_REFUSED;
		char buf[NFS_ADDR_STRLEN];
		counts[o]++;
		if (o != BAN_FLEET_BANNED && o != BAN_FLEET_ALREADY && o != BAN_FLEET_UNBANNED && o != BAN_FLEET_ABSENT &&
		    json_array_size(errors) < FLEET_ERRORS_MAX)
			json_array_append_new(errors, json_pack("{s:s, s:s}", "address",
								nfs_addr_format(&items[i].addr, buf, sizeof(buf)), "error",
								ban_fleet_outcome_name(o)));
	}
	free(items);
	json_t *ans = ok();
	for (int o = 0; o < BAN_FLEET_OUTCOMES; o++)
		json_object_set_new(ans, ban_fleet_outcome_name(o), json_integer((json_int_t)counts[o]));
	json_object_set_new(ans, "errors", errors);
	return ans;
}

static json_t *cmd_ban_add(struct control *c, json_t *req, uid_t uid)
{
	return cmd_ban(c, req, false, uid);
}

static json_t *cmd_ban_remove(struct control *c, json_t *req, uid_t uid)
{
	return cmd_ban(c, req, true, uid);
}

/* The requests (docs/control.md), by the names nfsentryctl sends (control/protocol.h). Who
 * may ask: root, and the members of control_group (checked before any of these), except
 * where @root_only gives the refusal the others get; the members of the [fleet] group only
 * where @fleet says so: what nfsentry-crowdsec needs, nothing that changes a local ban. */
static const struct control_command {
	const char *name;
	const char *root_only;
	bool fleet;
	json_t *(*handle)(struct control *c, json_t *req, uid_t uid);
	/* Instead of @handle, for an answer too big for a tree of JSON objects: its text. */
	char *(*text)(struct control *c, json_t *req, uid_t uid);
} commands[] = {
	{ CTL_CMD_STATUS, NULL, true, cmd_status, NULL },
	{ CTL_CMD_BANS, NULL, true, NULL, cmd_bans_text },
	{ CTL_CMD_BAN, NULL, false, cmd_ban_add, NULL },
	{ CTL_CMD_UNBAN, NULL, false, cmd_ban_remove, NULL },
	{ CTL_CMD_ALLOW, NULL, false, cmd_allow, NULL },
	{ CTL_CMD_SOURCES, NULL, false, cmd_sources, NULL },
	{ CTL_CMD_FLOWS, NULL, false, cmd_flows, NULL },
	{ CTL_CMD_RELOAD, NULL, false, cmd_reload, NULL },
	/* STOP sec. 3.1.1 goal 2: a token is redeemed by an administrator only. */
	{ CTL_CMD_EVIDENCE, "evidence records are readable by root only", false, cmd_evidence, NULL },
	{ CTL_CMD_WATCH, NULL, true, cmd_watch, NULL },
	{ CTL_CMD_FLEET, NULL, true, cmd_fleet, NULL },
};

/* The answer to one request line, as the text sent without its newline (malloc'd), or NULL
 * when out of memory. */
static char *control_answer(struct control *c, const char *line, size_t len, uid_t uid, gid_t gid)
{
	const struct control_command *cmd = NULL;
	json_error_t jerr;
	json_t *req = NULL, *ans;
	char *text;
	/* control_group wins when it is the [fleet] group too: it was given everything. */
	bool all = uid == 0 || (c->gid != (gid_t)-1 && gid == c->gid);
	bool fleet = !all && c->fleet_gid != (gid_t)-1 && gid == c->fleet_gid;

	c->subscribe = false;
	if (!all && !fleet) {
		ans = fail("permission denied");
		goto dump;
	}
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req || !json_is_object(req)) {
		ans = fail("not a JSON object: %s", req ? "wrong type" : jerr.text);
		goto dump;
	}
	const char *name = json_string_value(json_object_get(req, "command"));
	for (size_t i = 0; name && !cmd && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			cmd = &commands[i];
	if (!name)
		ans = fail("\"command\" missing");
	else if (!cmd)
		ans = fail("unknown command \"%.40s\"", name);
	else if (cmd->root_only && uid != 0)
		ans = fail("%s", cmd->root_only);
	else if (fleet && !cmd->fleet)
		ans = fail("the [fleet] group may ask for status, bans, watch and fleet only");
	else if (cmd->text) {
		text = cmd->text(c, req, uid);
		json_decref(req);
		return text;
	} else
		ans = cmd->handle(c, req, uid);
dump:
	json_decref(req);
	if (!ans)
		ans = fail("out of memory");
	text = ans ? json_dumps(ans, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(ans);
	return text;
}

json_t *control_handle(struct control *c, const char *line, size_t len, uid_t uid, gid_t gid)
{
	char *text = control_answer(c, line, len, uid, gid);
	json_t *ans = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	return ans ? ans : fail("out of memory");
}

/* One connection: reading its request line, then writing its answer. */
struct conn {
	int fd; /* -1: a free slot */
	uid_t uid;
	gid_t gid;
	uint64_t serial;     /* accept order: the lowest is the oldest */
	int64_t deadline_ms; /* CLOCK_MONOTONIC: for the whole request, then for the whole answer */
	bool answering;
	bool watching; /* subscribed: no deadline; buf holds its unsent lines (CTL_WATCH_BUF_MAX) */
	bool eof;      /* a watcher that shut its sending side: no more reads */
	uint64_t next; /* a watcher's next feed sequence number */
	unsigned origins; /* a watcher's: the origins of the bans and unbans it is sent */
	char *buf;     /* the request as read, then the answer */
	size_t len, cap, sent;
};

static void conn_close(struct control *c, struct conn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	if (k->watching)
		c->nwatchers--;
	free(k->buf);
	*k = (struct conn){ .fd = -1 };
}

/* Turns the request read so far into the answer to send. @nl: its end, or NULL. */
static void conn_answer(struct control *c, struct conn *k, const char *nl)
{
	char *text;

	c->subscribe = false; /* set by a watch that control_answer() answers, and only then */
	if (!nl && k->len == REQUEST_MAX) {
		json_t *ans = fail("request longer than %d bytes", REQUEST_MAX);
		text = ans ? json_dumps(ans, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(ans);
	} else {
		text = control_answer(c, k->buf, nl ? (size_t)(nl - k->buf) : k->len, k->uid, k->gid);
	}
	free(k->buf);
	k->buf = text;
	k->len = k->sent = 0;
	if (text) {
		k->len = strlen(text);
		text[k->len++] = '\n'; /* every text ends with a NUL, which the newline takes the place of */
	}
	k->answering = true;
	k->deadline_ms = clock_mono_ms() + REQUEST_TIMEOUT_S * 1000;
	if (c->subscribe && text) {
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
				 "origin", ban_origin_name(e->origin), "address", addr_json(&e->addr), "detector",
				 detector_name(e->det), "seconds", (json_int_t)e->seconds, "until",
				 (json_int_t)(e->until_ms / 1000), "events", (json_int_t)e->events);
	case BAN_FEED_UNBAN:
		return json_pack("{s:s, s:I, s:s, s:o, s:s}", "event", "unban", "seq", (json_int_t)e->seq, "origin",
				 ban_origin_name(e->origin), "address", addr_json(&e->addr), "why",
				 e->why < sizeof(whys) / sizeof(whys[0]) && e->why ? whys[e->why] : "?");
	case BAN_FEED_EVIDENCE:
		return json_pack("{s:s, s:I, s:o, s:s#}", "event", "evidence", "seq", (json_int_t)e->seq, "address",
				 addr_json(&e->addr), "token", e->token, (int)strnlen(e->token, sizeof(e->token) - 1));
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

/* Sends what @k's client takes now of k->buf. Returns 1 when some is left for later, 0 when
 * all is sent, -1 when the client is gone. */
static int conn_send(struct conn *k)
{
	while (k->sent < k->len) {
		ssize_t n = send(k->fd, k->buf + k->sent, k->len - k->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n <= 0)
			return -1;
		k->sent += (size_t)n;
	}
	return 0;
}

/* Moves watcher @k on: notes its end of sending, sends, and refills from the feed, until its
 * client takes no more or the feed has nothing more for it (bounded by the ring: nothing wakes
 * a watcher whose buffer was emptied while the ring still held events for it, so it must not
 * stop there). Returns false when it is gone. */
static bool watch_step(struct control *c, struct conn *k, short revents)
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
		int r = conn_send(k);
		if (r != 0)
			return r > 0; /* blocked: POLLOUT brings it back */
		size_t before = k->len;
		watch_fill(c, k);
		if (k->len == before)
			return true; /* nothing more: the feed's eventfd brings it back */
	}
}

/* Reads what @k's client sent. Returns false when the connection is done with. */
static bool conn_read(struct control *c, struct conn *k)
{
	for (;;) {
		if (k->cap - k->len < 1024 && k->cap < REQUEST_MAX + 1) {
			size_t cap = k->cap ? k->cap * 4 : 4096;
			char *b = realloc(k->buf, cap < REQUEST_MAX + 1 ? cap : REQUEST_MAX + 1);
			if (!b)
				return false;
			k->buf = b;
			k->cap = cap < REQUEST_MAX + 1 ? cap : REQUEST_MAX + 1;
		}
		ssize_t n = read(k->fd, k->buf + k->len, k->cap - 1 - k->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true; /* more later */
		if (n < 0 || (n == 0 && k->len == 0))
			return false; /* failed, or connected and left */
		if (n == 0) { /* closed after a partial line: answer what we have */
			conn_answer(c, k, NULL);
			return true;
		}
		char *nl = memchr(k->buf + k->len, '\n', (size_t)n);
		k->len += (size_t)n;
		if (nl || k->len == REQUEST_MAX) {
			conn_answer(c, k, nl);
			return true;
		}
	}
}

/* Sends what the client will take of its answer. Returns false when done (or failed). */
static bool conn_write(struct conn *k)
{
	if (!k->buf)
		return false; /* out of memory for the answer: close */
	return conn_send(k) > 0;
}

/* Moves @k on as far as it goes without waiting (@revents: what poll said it may do), and
 * closes it once it is answered, gone, or past its deadline. */
static void conn_step(struct control *c, struct conn *k, short revents, int64_t now)
{
	bool keep = true, ready = revents != 0;

	if (ready && !k->answering)
		keep = conn_read(c, k);
	if (keep && k->watching)
		keep = watch_step(c, k, revents); /* its answer, then the feed */
	else if (keep && k->answering && (ready || k->sent == 0))
		keep = conn_write(k); /* a fresh answer is tried at once */
	if (keep && now >= k->deadline_ms)
		keep = false; /* too slow to send its line, or to take its answer */
	if (!keep)
		conn_close(c, k);
}

/* Takes the waiting connections in, into free slots of @conns; at CONN_MAX the oldest
 * connection that is not a watcher is dropped for each newcomer (watchers are at most
 * CTL_WATCHERS_MAX: there is always another; a watcher is meant to stay). A newcomer is read at once: a client that sent
 * its line with its connect (nfsentryctl does) is answered before later ones can push it out. */
static void conns_accept(struct control *c, struct conn *conns, uint64_t *serial)
{
	for (int i = 0; i < CONN_MAX; i++) { /* a bounded share per round: the others get served too */
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
			close(fd);
			continue;
		}
		struct conn *slot = NULL, *oldest = NULL;
		for (int j = 0; j < CONN_MAX && !slot; j++) {
			if (conns[j].fd < 0)
				slot = &conns[j];
			else if (!conns[j].watching && (!oldest || conns[j].serial < oldest->serial))
				oldest = &conns[j];
		}
		if (!slot) {
			log_debug("control socket: %d connections; dropping the oldest (uid %u) for a new one", CONN_MAX,
				  (unsigned)oldest->uid);
			conn_close(c, oldest); /* it has stalled longest */
			slot = oldest;
		}
		*slot = (struct conn){ .fd = fd, .uid = cred.uid, .gid = cred.gid, .serial = (*serial)++,
				       .deadline_ms = clock_mono_ms() + REQUEST_TIMEOUT_S * 1000 };
		conn_step(c, slot, POLLIN, clock_mono_ms());
	}
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	struct conn conns[CONN_MAX];
	struct pollfd pfd[3 + CONN_MAX];
	uint64_t serial = 0;

	for (int i = 0; i < CONN_MAX; i++)
		conns[i] = (struct conn){ .fd = -1 };
	for (;;) {
		int64_t now = clock_mono_ms(), wait = -1;
		nfds_t n = 3;

		pfd[0] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = c->thread.stop_fd, .events = POLLIN };
		/* The feed only while someone watches: its eventfd stays readable meanwhile. */
		pfd[2] = (struct pollfd){ .fd = c->nwatchers ? ban_feed_fd(c->ctx.feed) : -1, .events = POLLIN };
		for (int i = 0; i < CONN_MAX; i++) {
			struct conn *k = &conns[i];
			short ev = k->watching ? (short)((k->eof ? 0 : POLLIN) | (k->sent < k->len ? POLLOUT : 0))
				   : k->answering ? POLLOUT : POLLIN;
			/* fd -1 is ignored by poll(2): the slots keep their places in pfd */
			pfd[3 + i] = (struct pollfd){ .fd = k->fd, .events = ev };
			if (k->fd < 0)
				continue;
			n = 3 + (nfds_t)i + 1;
			if (k->watching)
				continue; /* no deadline */
			int64_t left = k->deadline_ms - now;
			if (wait < 0 || left < wait)
				wait = left < 0 ? 0 : left;
		}
		if (poll(pfd, n, (int)wait) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		bool fed = pfd[2].revents != 0;
		if (fed)
			ban_feed_drain(c->ctx.feed); /* before reading: a put after this wakes us again */
		now = clock_mono_ms();
		for (int i = 0; i < CONN_MAX && 3 + (nfds_t)i < n; i++)
			if (conns[i].fd >= 0 && (pfd[3 + i].revents || (fed && conns[i].watching) || !conns[i].watching))
				conn_step(c, &conns[i], pfd[3 + i].revents, now);
		if (pfd[0].revents & POLLIN)
			conns_accept(c, conns, &serial);
	}
	for (int i = 0; i < CONN_MAX; i++)
		conn_close(c, &conns[i]);
	return NULL;
}

int control_open(struct control **out, const char *path, gid_t gid, const struct daemon_view *view, char *err,
		 size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *c = calloc(1, sizeof(*c));
	struct stat st;
	int r;

	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->thread.stop_fd = -1;
	c->gid = gid;
	c->fleet_gid = (gid_t)-1;
	pthread_mutex_init(&c->orphan_lock, NULL);
	c->ctx = *view;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a UNIX socket", path);
		r = -ENAMETOOLONG;
		goto fail;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	memcpy(sa.sun_path, path, strlen(path));
	/* A socket file left by a previous run (we never remove anything else). */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); /* accepts until EAGAIN */
	(void)thread_init(&c->thread, NULL, NULL); /* its failure is in errno and stop_fd */
	mode_t old = umask(0117);
	r = c->fd < 0 || c->thread.stop_fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(c->fd, CONN_MAX) < 0
		    ? -errno : 0;
	umask(old);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto fail;
	}
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot give it to group %u: %s", path, (unsigned)gid, strerror(errno));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	thread_deinit(&c->thread);
	pthread_mutex_destroy(&c->orphan_lock);
	free(c);
	return r;
}

/* Gives group @gid read and write on the socket file by a POSIX ACL (the file's group stays
 * control_group's): connecting needs write, and the daemon may grant it to a group it is not a
 * member of, unlike a chown. The ACL is the mode's 0660 plus that group. */
static int socket_acl_add_group(const char *path, gid_t gid)
{
	struct {
		struct posix_acl_xattr_header h;
		struct posix_acl_xattr_entry e[5];
	} acl = {
		.h = { .a_version = POSIX_ACL_XATTR_VERSION },
		.e = {
			{ .e_tag = ACL_USER_OBJ, .e_perm = ACL_READ | ACL_WRITE, .e_id = ACL_UNDEFINED_ID },
			{ .e_tag = ACL_GROUP_OBJ, .e_perm = ACL_READ | ACL_WRITE, .e_id = ACL_UNDEFINED_ID },
			{ .e_tag = ACL_GROUP, .e_perm = ACL_READ | ACL_WRITE, .e_id = (uint32_t)gid },
			{ .e_tag = ACL_MASK, .e_perm = ACL_READ | ACL_WRITE, .e_id = ACL_UNDEFINED_ID },
			{ .e_tag = ACL_OTHER, .e_perm = 0, .e_id = ACL_UNDEFINED_ID },
		},
	};

	return setxattr(path, "system.posix_acl_access", &acl, sizeof(acl), 0) < 0 ? -errno : 0;
}

int control_allow_fleet(struct control *c, gid_t gid, char *err, size_t errlen)
{
	int r = socket_acl_add_group(c->path, gid);

	if (r < 0) {
		snprintf(err, errlen, "%s: cannot let group %u connect (a POSIX ACL): %s", c->path, (unsigned)gid,
			 strerror(-r));
		return r;
	}
	c->fleet_gid = gid;
	return 0;
}

int control_start(struct control *c)
{
	return thread_start(&c->thread, control_main, c);
}

void control_free(struct control *c)
{
	if (!c)
		return;
	thread_deinit(&c->thread);
	close(c->fd);
	unlink(c->path);
	/* Answers the writer still owes stay allocated: it may fill them after this (it stops
	 * after the server). Only a writer stuck for BAN_WAIT_S leaves any. */
	orphans_reap(c);
	pthread_mutex_destroy(&c->orphan_lock);
	free(c);
}
