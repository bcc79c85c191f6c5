/* server.c - see server.h. One thread, one poll(2) loop over non-blocking connections, each
 * with its own buffer and deadline: a client that sends slowly, or not at all, holds only its
 * own connection, and only until its deadline (docs/control.md, "Limits"). */
#define _GNU_SOURCE /* struct ucred, accept4 */
#include "control/server.h"

#include <errno.h>
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
#include <unistd.h>

#include "build-config.h"
#include "control/protocol.h"
#include "core/clock.h"
#include "core/detector.h"
#include "core/log.h"
#include "core/thread.h"
#include "core/utf8.h"
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
#define LIST_DEFAULT 20
#define LIST_MAX 10000

struct control {
	int fd;
	char path[108];
	gid_t gid;
	struct daemon_view ctx;
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
	/* The message may quote the request (jansson's error text, a command's name cut at 40
	 * bytes): bytes that are not well-formed UTF-8 become '?', or json_pack() would refuse the
	 * string and the client would get no answer at all (found by fuzz-control, issue 12). */
	for (size_t i = 0, n = strlen(msg), l; i < n; i += l)
		if (!(l = utf8_len((const uint8_t *)msg + i, n - i))) {
			msg[i] = '?';
			l = 1;
		}
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

struct bans_ctx {
	json_t *list;
	struct timespec now;
};

static int bans_cb(const struct ban_entry *e, void *data)
{
	struct bans_ctx *b = data;
	int64_t now_ms = (int64_t)b->now.tv_sec * 1000 + b->now.tv_nsec / 1000000;
	int64_t left = (e->until_ms - now_ms) / 1000;
	if (left <= 0)
		return 0;
	json_t *o = json_pack("{s:o, s:s, s:i, s:I, s:I}", "address", addr_json(&e->addr), "detector",
			      detector_name(e->det), "offence", (int)e->offence, "seconds_left", (json_int_t)left,
			      "timeout", (json_int_t)e->timeout_s);
	if (o && e->token[0])
		json_object_set_new(o, "token", json_string(e->token));
	json_array_append_new(b->list, o);
	return 0;
}

static json_t *cmd_bans(struct control *c, json_t *req, uid_t uid)
{
	struct bans_ctx b = { .list = json_array() };
	clock_gettime(CLOCK_REALTIME, &b.now);
	banwriter_list(c->ctx.writer, bans_cb, &b);
	json_t *r = ok();
	json_object_set_new(r, "bans", b.list);
	return r;
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
 * where @root_only gives the refusal the others get. */
static const struct control_command {
	const char *name;
	const char *root_only;
	json_t *(*handle)(struct control *c, json_t *req, uid_t uid);
} commands[] = {
	{ CTL_CMD_STATUS, NULL, cmd_status },
	{ CTL_CMD_BANS, NULL, cmd_bans },
	{ CTL_CMD_BAN, NULL, cmd_ban_add },
	{ CTL_CMD_UNBAN, NULL, cmd_ban_remove },
	{ CTL_CMD_ALLOW, NULL, cmd_allow },
	{ CTL_CMD_SOURCES, NULL, cmd_sources },
	{ CTL_CMD_FLOWS, NULL, cmd_flows },
	{ CTL_CMD_RELOAD, NULL, cmd_reload },
	/* STOP sec. 3.1.1 goal 2: a token is redeemed by an administrator only. */
	{ CTL_CMD_EVIDENCE, "evidence records are readable by root only", cmd_evidence },
};

json_t *control_handle(struct control *c, const char *line, size_t len, uid_t uid, gid_t gid)
{
	const struct control_command *cmd = NULL;
	json_error_t jerr;
	json_t *req, *ans;

	if (uid != 0 && (c->gid == (gid_t)-1 || gid != c->gid))
		return fail("permission denied");
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req || !json_is_object(req)) {
		json_decref(req);
		return fail("not a JSON object: %s", req ? "wrong type" : jerr.text);
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
	else
		ans = cmd->handle(c, req, uid);
	json_decref(req);
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
	char *buf; /* the request as read, then the answer */
	size_t len, cap, sent;
};

static void conn_close(struct conn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->buf);
	*k = (struct conn){ .fd = -1 };
}

/* Turns the request read so far into the answer to send. @nl: its end, or NULL. */
static void conn_answer(struct control *c, struct conn *k, const char *nl)
{
	json_t *ans;

	if (!nl && k->len == REQUEST_MAX)
		ans = fail("request longer than %d bytes", REQUEST_MAX);
	else
		ans = control_handle(c, k->buf, nl ? (size_t)(nl - k->buf) : k->len, k->uid, k->gid);
	char *text = json_dumps(ans, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(ans);
	free(k->buf);
	k->buf = text;
	k->len = k->sent = 0;
	if (text) {
		k->len = strlen(text);
		text[k->len++] = '\n'; /* json_dumps leaves room for the NUL we overwrite */
	}
	k->answering = true;
	k->deadline_ms = clock_mono_ms() + REQUEST_TIMEOUT_S * 1000;
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
	while (k->sent < k->len) {
		ssize_t n = send(k->fd, k->buf + k->sent, k->len - k->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false;
		k->sent += (size_t)n;
	}
	return false;
}

/* Moves @k on as far as it goes without waiting (@ready: poll said it may), and closes it
 * once it is answered, gone, or past its deadline. */
static void conn_step(struct control *c, struct conn *k, bool ready, int64_t now)
{
	bool keep = true;

	if (ready && !k->answering)
		keep = conn_read(c, k);
	if (keep && k->answering && (ready || k->sent == 0))
		keep = conn_write(k); /* a fresh answer is tried at once */
	if (keep && now >= k->deadline_ms)
		keep = false; /* too slow to send its line, or to take its answer */
	if (!keep)
		conn_close(k);
}

/* Takes the waiting connections in, into free slots of @conns; at CONN_MAX the oldest
 * connection is dropped for each newcomer. A newcomer is read at once: a client that sent
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
			else if (!oldest || conns[j].serial < oldest->serial)
				oldest = &conns[j];
		}
		if (!slot) {
			log_debug("control socket: %d connections; dropping the oldest (uid %u) for a new one", CONN_MAX,
				  (unsigned)oldest->uid);
			conn_close(oldest); /* it has stalled longest */
			slot = oldest;
		}
		*slot = (struct conn){ .fd = fd, .uid = cred.uid, .gid = cred.gid, .serial = (*serial)++,
				       .deadline_ms = clock_mono_ms() + REQUEST_TIMEOUT_S * 1000 };
		conn_step(c, slot, true, clock_mono_ms());
	}
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	struct conn conns[CONN_MAX];
	struct pollfd pfd[2 + CONN_MAX];
	uint64_t serial = 0;

	for (int i = 0; i < CONN_MAX; i++)
		conns[i] = (struct conn){ .fd = -1 };
	for (;;) {
		int64_t now = clock_mono_ms(), wait = -1;
		nfds_t n = 2;

		pfd[0] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = c->thread.stop_fd, .events = POLLIN };
		for (int i = 0; i < CONN_MAX; i++) {
			/* fd -1 is ignored by poll(2): the slots keep their places in pfd */
			pfd[2 + i] = (struct pollfd){ .fd = conns[i].fd, .events = conns[i].answering ? POLLOUT : POLLIN };
			if (conns[i].fd < 0)
				continue;
			n = 2 + (nfds_t)i + 1;
			int64_t left = conns[i].deadline_ms - now;
			if (wait < 0 || left < wait)
				wait = left < 0 ? 0 : left;
		}
		if (poll(pfd, n, (int)wait) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		now = clock_mono_ms();
		for (int i = 0; i < CONN_MAX && 2 + (nfds_t)i < n; i++)
			if (conns[i].fd >= 0)
				conn_step(c, &conns[i], pfd[2 + i].revents != 0, now);
		if (pfd[0].revents & POLLIN)
			conns_accept(c, conns, &serial);
	}
	for (int i = 0; i < CONN_MAX; i++)
		conn_close(&conns[i]);
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
