/* commands.c - the requests about this host (docs/control.md): status, bans, ban and unban,
 * allow, evidence, sources, flows and reload. Each takes a parsed request and returns its
 * answer; who may ask is the table's business (server.c), not theirs. Kept apart from the
 * socket so that the connections' code reads without the commands' and the other way round. */
#include "control/server-int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "core/clock.h"
#include "core/detector.h"
#include "core/log.h"
#include "detect/trkcounts.h"
#include "evidence/store.h"
#include "metrics/metrics.h"

#define LIST_DEFAULT 20
#define LIST_MAX 10000

static void ban_reply_free(struct ban_reply *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Frees the orphaned answers the writer has filled. Returns how many are still owed. */
size_t control_orphans_reap(struct control *c)
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
json_t *control_status_answer(struct control *c, json_t *req, uid_t uid)
{
	json_t *r = control_ok(), *queues = json_array();
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
bool control_origins_parse(json_t *req, unsigned *out)
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
char *control_bans_text(struct control *c, json_t *req, uid_t uid)
{
	struct bans_copy b = { 0 };
	struct text t = { 0 };
	struct timespec now;
	char addr[NFS_ADDR_STRLEN];
	bool first = true;

	if (!control_origins_parse(req, &b.origins)) {
		json_t *e = control_fail("\"origin\": expected nfsentry, manual or crowdsec, or a list of them");
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
static json_t *control_ban_ask(struct control *c, json_t *req, bool unban, uid_t uid)
{
	const char *a = json_string_value(json_object_get(req, "address"));
	json_t *secs = json_object_get(req, "seconds");
	struct ban_request rq = { .op = unban ? BAN_OP_MANUAL_UNBAN : BAN_OP_MANUAL_BAN };
	struct ban_reply *reply, got;
	char buf[NFS_ADDR_STRLEN];
	int w = 0;

	if (!a || nfs_addr_parse(a, false, &rq.host) < 0)
		return control_fail("\"address\": expected an address or prefix");
	if (rq.host.family == AF_INET && rq.host.plen != 32)
		return control_fail("IPv4 bans are single addresses");
	if (secs && (!json_is_integer(secs) || json_integer_value(secs) <= 0 ||
		     json_integer_value(secs) > 10LL * 365 * 86400))
		return control_fail("\"seconds\": expected a number of seconds (1 s to 10 years)");
	if (control_orphans_reap(c) >= ORPHANS_MAX)
		return control_fail("the ban writer has not answered %d earlier requests; try again later", ORPHANS_MAX);
	rq.seconds = secs ? (uint64_t)json_integer_value(secs) : 0;
	rq.addr = rq.host;
	rq.det = DET_MANUAL;
	rq.by_uid = (uint32_t)uid;
	clock_gettime(CLOCK_REALTIME, &rq.t_packet);
	reply = calloc(1, sizeof(*reply));
	if (!reply)
		return control_fail("out of memory");
	pthread_mutex_init(&reply->lock, NULL);
	clock_cond_init(&reply->cond);
	rq.reply = reply;
	if (banq_push(c->ctx.banq, &rq) < 0) {
		ban_reply_free(reply);
		return control_fail("the ban queue is full; try again");
	}
	struct timespec until = clock_mono_after(BAN_WAIT_S * 1000);
	pthread_mutex_lock(&reply->lock);
	while (!reply->done && w != ETIMEDOUT)
		w = pthread_cond_timedwait(&reply->cond, &reply->lock, &until);
	got = *reply;
	pthread_mutex_unlock(&reply->lock);
	if (!got.done) { /* the writer still holds the request: its answer slot must outlive us */
		pthread_mutex_lock(&c->orphan_lock);
		c->orphans[c->norphans++] = reply; /* room: checked by control_orphans_reap() above */
		pthread_mutex_unlock(&c->orphan_lock);
		return control_fail("the ban writer did not answer within %d s; the request is still queued (see the log)",
			    BAN_WAIT_S);
	}
	ban_reply_free(reply);
	if (got.rc < 0)
		return control_fail("%s: %s", nfs_addr_format(&got.addr, buf, sizeof(buf)), got.msg);
	json_t *r = control_ok();
	json_object_set_new(r, "address", control_addr_json(&got.addr));
	if (!unban)
		json_object_set_new(r, "seconds", json_integer((json_int_t)got.seconds));
	return r;
}

json_t *control_ban_answer(struct control *c, json_t *req, uid_t uid)
{
	return control_ban_ask(c, req, false, uid);
}

json_t *control_unban_answer(struct control *c, json_t *req, uid_t uid)
{
	return control_ban_ask(c, req, true, uid);
}

json_t *control_allow_answer(struct control *c, json_t *req, uid_t uid)
{
	const char *n = json_string_value(json_object_get(req, "network"));
	struct nfs_addr net;

	if (!n || nfs_addr_parse(n, false, &net) < 0)
		return control_fail("\"network\": expected an address or a network (host bits zero)");
	int r = banwriter_allow(c->ctx.writer, &net);
	if (r == 0)
		r = engine_spare(c->ctx.engine, &net);
	if (r < 0)
		return control_fail("cannot add %s: %s", n, strerror(-r));
	log_notice("allowlisted %s until the next reload (by uid %u, through the control socket)", n, (unsigned)uid);
	json_t *o = control_ok();
	json_object_set_new(o, "network", control_addr_json(&net));
	return o;
}

/* STOP sec. 6.5: the record is re-hashed so that any change shows. Root only, whatever
 * control_group says (the dispatch table checks it). */
json_t *control_evidence_answer(struct control *c, json_t *req, uid_t uid)
{
	const char *token = json_string_value(json_object_get(req, "token"));
	json_t *verify = json_object_get(req, "verify");

	if (!c->ctx.evidence)
		return control_fail("evidence records are off ([evidence] dir is empty or could not be used; see the log)");
	struct evstore *st = evidence_store(c->ctx.evidence);
	if (json_is_true(verify)) {
		json_t *v = evstore_verify(st);
		if (!v)
			return control_fail("out of memory");
		json_object_set_new(v, "ok", json_true());
		json_object_set_new(v, "intact", json_boolean(json_array_size(json_object_get(v, "problems")) == 0));
		return v;
	}
	if (!token)
		return control_fail("\"token\": expected the 64 hex digits of an evidence token");
	char *data = NULL;
	size_t len = 0;
	struct evstore_check chk;
	int r = evstore_get(st, token, &data, &len, &chk);
	if (r == -EINVAL)
		return control_fail("\"%.80s\" is not a token (64 lowercase hex digits)", token);
	if (r == -ENOENT)
		return control_fail("no evidence record with token %.64s%s", token,
			    chk.seq ? " (it was indexed, but its file is gone: deleted)" : " (never saved, or removed for space)");
	if (r < 0)
		return control_fail("cannot read the record of %.64s: %s", token, strerror(-r));
	json_t *ans = control_ok();
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

json_t *control_sources_answer(struct control *c, json_t *req, uid_t uid)
{
	size_t max = list_limit(req);
	struct trk_summary *s = calloc(max, sizeof(*s));
	uint32_t now = engine_clock(c->ctx.engine);
	json_t *list = json_array();

	if (!s)
		return control_fail("out of memory");
	size_t n = tracker_top(c->ctx.tracker, s, max, atomic_load(&c->ctx.engine->set.window), now);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(list, json_pack("{s:o, s:i, s:i, s:i, s:o}", "address", control_addr_json(&s[i].addr),
						      "ports", (int)s[i].ports, "seconds_since_first",
						      (int)(now - s[i].first_seen), "seconds_since_last",
						      (int)(now - s[i].last_seen), "counts", trk_counts_json(s[i].counts)));
	}
	free(s);
	json_t *r = control_ok();
	json_object_set_new(r, "sources", list);
	return r;
}

json_t *control_flows_answer(struct control *c, json_t *req, uid_t uid)
{
	size_t max = list_limit(req);
	struct flow_summary *f = calloc(max, sizeof(*f));
	json_t *list = json_array();

	if (!f)
		return control_fail("out of memory");
	size_t n = flowtab_top(c->ctx.flows, f, max);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:o, s:i, s:o, s:i, s:i, s:b, s:b}", "client",
						      control_addr_json(&f[i].tuple.client), "cport", f[i].tuple.cport, "server",
						      control_addr_json(&f[i].tuple.server), "sport", f[i].tuple.sport, "packets",
						      (int)f[i].packets, "initiator_known", f[i].tuple.initiator_known,
						      "drop", f[i].drop));
	free(f);
	json_t *r = control_ok();
	json_object_set_new(r, "flows", list);
	return r;
}

json_t *control_reload_answer(struct control *c, json_t *req, uid_t uid)
{
	log_notice("reload asked by uid %u through the control socket", (unsigned)uid);
	kill(getpid(), SIGHUP); /* the main loop reloads, as for systemctl reload */
	return control_ok();
}
