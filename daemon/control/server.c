/* server.c - see server.h. Sequential: one connection at a time, each bounded to 5 s and
 * 64 KiB, so a stuck or hostile client delays the next by at most that. */
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
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "build-config.h"
#include "core/log.h"
#include "decide/policy.h"
#include "evidence/store.h"
#include "metrics.h"

#define REQUEST_MAX (64 * 1024)
#define REQUEST_TIMEOUT_S 5
#define LIST_DEFAULT 20
#define LIST_MAX 10000

struct control {
	int fd, stop_fd;
	char path[108];
	gid_t gid;
	struct control_ctx ctx;
	pthread_t thread;
	bool started;
};

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

static json_t *cmd_status(struct control *c)
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
	struct metrics_sources ms = {
		.workers = c->ctx.workers, .nworkers = c->ctx.nworkers, .writer = c->ctx.writer,
		.tracker = c->ctx.tracker, .flows = c->ctx.flows, .engine = c->ctx.engine, .evidence = c->ctx.evidence,
		.ring = c->ctx.ring, .uptime_s = difftime(time(NULL), c->ctx.started),
	};
	json_t *m = metrics_collect(&ms);
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
			      policy_det_name(e->det), "offence", (int)e->offence, "seconds_left", (json_int_t)left,
			      "timeout", (json_int_t)e->timeout_s);
	if (o && e->token[0])
		json_object_set_new(o, "token", json_string(e->token));
	json_array_append_new(b->list, o);
	return 0;
}

static json_t *cmd_bans(struct control *c)
{
	struct bans_ctx b = { .list = json_array() };
	clock_gettime(CLOCK_REALTIME, &b.now);
	banwriter_list(c->ctx.writer, bans_cb, &b);
	json_t *r = ok();
	json_object_set_new(r, "bans", b.list);
	return r;
}

/* Hands a ban or unban to the writer thread and waits for its answer (it always answers:
 * the writer drains its queue before it stops, and this server stops first). */
static json_t *cmd_ban(struct control *c, json_t *req, bool unban, uid_t uid)
{
	const char *a = json_string_value(json_object_get(req, "address"));
	json_t *secs = json_object_get(req, "seconds");
	struct ban_request rq = { .op = unban ? BAN_OP_MANUAL_UNBAN : BAN_OP_MANUAL_BAN };
	struct ban_reply reply = { .done = false };
	char buf[NFS_ADDR_STRLEN];

	if (!a || nfs_addr_parse(a, false, &rq.host) < 0)
		return fail("\"address\": expected an address or prefix");
	if (rq.host.family == AF_INET && rq.host.plen != 32)
		return fail("IPv4 bans are single addresses");
	if (secs && (!json_is_integer(secs) || json_integer_value(secs) <= 0 ||
		     json_integer_value(secs) > 10LL * 365 * 86400))
		return fail("\"seconds\": expected a number of seconds (1 s to 10 years)");
	rq.seconds = secs ? (uint64_t)json_integer_value(secs) : 0;
	rq.addr = rq.host;
	rq.det = DET_MANUAL;
	rq.by_uid = (uint32_t)uid;
	clock_gettime(CLOCK_REALTIME, &rq.t_packet);
	pthread_mutex_init(&reply.lock, NULL);
	pthread_cond_init(&reply.cond, NULL);
	rq.reply = &reply;
	if (banq_push(c->ctx.banq, &rq) < 0) {
		pthread_cond_destroy(&reply.cond);
		pthread_mutex_destroy(&reply.lock);
		return fail("the ban queue is full; try again");
	}
	pthread_mutex_lock(&reply.lock);
	while (!reply.done)
		pthread_cond_wait(&reply.cond, &reply.lock);
	pthread_mutex_unlock(&reply.lock);
	pthread_cond_destroy(&reply.cond);
	pthread_mutex_destroy(&reply.lock);
	if (reply.rc < 0)
		return fail("%s: %s", nfs_addr_format(&reply.addr, buf, sizeof(buf)), reply.msg);
	json_t *r = ok();
	json_object_set_new(r, "address", addr_json(&reply.addr));
	if (!unban)
		json_object_set_new(r, "seconds", json_integer((json_int_t)reply.seconds));
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

/* STOP sec. 3.1.1 goal 2 and sec. 6.5: a token is redeemed by an administrator only, and the
 * record is re-hashed so that any change shows. Root only, whatever control_group says. */
static json_t *cmd_evidence(struct control *c, json_t *req, uid_t uid)
{
	const char *token = json_string_value(json_object_get(req, "token"));
	json_t *verify = json_object_get(req, "verify");

	if (uid != 0)
		return fail("evidence records are readable by root only");
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

static json_t *cmd_sources(struct control *c, json_t *req)
{
	size_t max = list_limit(req);
	struct trk_summary *s = calloc(max, sizeof(*s));
	uint32_t now = engine_clock(c->ctx.engine);
	json_t *list = json_array();

	if (!s)
		return fail("out of memory");
	size_t n = tracker_top(c->ctx.tracker, s, max, atomic_load(&c->ctx.engine->set.window), now);
	for (size_t i = 0; i < n; i++) {
		json_t *counts = json_object();
		for (int k = 0; k < TRK_CLASSES; k++)
			if (s[i].counts[k])
				json_object_set_new(counts, trk_class_name(k), json_integer(s[i].counts[k]));
		json_array_append_new(list, json_pack("{s:o, s:i, s:i, s:i, s:o}", "address", addr_json(&s[i].addr),
						      "ports", (int)s[i].ports, "seconds_since_first",
						      (int)(now - s[i].first_seen), "seconds_since_last",
						      (int)(now - s[i].last_seen), "counts", counts));
	}
	free(s);
	json_t *r = ok();
	json_object_set_new(r, "sources", list);
	return r;
}

static json_t *cmd_flows(struct control *c, json_t *req)
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

json_t *control_handle(struct control *c, const char *line, size_t len, uid_t uid, gid_t gid)
{
	json_error_t jerr;
	json_t *req, *ans;

	if (uid != 0 && (c->gid == (gid_t)-1 || gid != c->gid))
		return fail("permission denied");
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req || !json_is_object(req)) {
		json_decref(req);
		return fail("not a JSON object: %s", req ? "wrong type" : jerr.text);
	}
	const char *cmd = json_string_value(json_object_get(req, "command"));
	if (!cmd)
		ans = fail("\"command\" missing");
	else if (!strcmp(cmd, "status"))
		ans = cmd_status(c);
	else if (!strcmp(cmd, "bans"))
		ans = cmd_bans(c);
	else if (!strcmp(cmd, "ban"))
		ans = cmd_ban(c, req, false, uid);
	else if (!strcmp(cmd, "unban"))
		ans = cmd_ban(c, req, true, uid);
	else if (!strcmp(cmd, "allow"))
		ans = cmd_allow(c, req, uid);
	else if (!strcmp(cmd, "sources"))
		ans = cmd_sources(c, req);
	else if (!strcmp(cmd, "flows"))
		ans = cmd_flows(c, req);
	else if (!strcmp(cmd, "reload")) {
		log_notice("reload asked by uid %u through the control socket", (unsigned)uid);
		kill(getpid(), SIGHUP); /* the main loop reloads, as for systemctl reload */
		ans = ok();
	} else if (!strcmp(cmd, "evidence"))
		ans = cmd_evidence(c, req, uid);
	else
		ans = fail("unknown command \"%.40s\"", cmd);
	json_decref(req);
	return ans ? ans : fail("out of memory");
}

/* Reads one request line (bounded in size and time), answers it, closes. */
static void serve(struct control *c, int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct timeval tv = { .tv_sec = REQUEST_TIMEOUT_S };
	char *buf = malloc(REQUEST_MAX + 1);
	size_t len = 0;
	json_t *ans = NULL;

	if (!buf)
		goto out;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		goto out;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < REQUEST_MAX) {
		ssize_t n = read(fd, buf + len, REQUEST_MAX - len);
		if (n <= 0)
			break; /* closed, timed out or failed: answer what we have, if anything */
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
			break;
	}
	char *nl = memchr(buf, '\n', len);
	if (!nl && len == 0)
		goto out; /* connected and left */
	if (!nl && len == REQUEST_MAX)
		ans = fail("request longer than %d bytes", REQUEST_MAX);
	else
		ans = control_handle(c, buf, nl ? (size_t)(nl - buf) : len, cred.uid, cred.gid);
	char *text = json_dumps(ans, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text) {
		size_t tl = strlen(text);
		text[tl] = '\n'; /* json_dumps leaves room for the NUL we overwrite */
		(void)!send(fd, text, tl + 1, MSG_NOSIGNAL);
		free(text);
	}
out:
	json_decref(ans);
	free(buf);
	close(fd);
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	struct pollfd pfd[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = c->stop_fd, .events = POLLIN } };

	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				serve(c, fd);
		}
	}
	return NULL;
}

int control_open(struct control **out, const char *path, gid_t gid, const struct control_ctx *ctx, char *err,
		 size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *c = calloc(1, sizeof(*c));
	struct stat st;
	int r;

	if (!c)
		return -ENOMEM;
	c->fd = c->stop_fd = -1;
	c->gid = gid;
	c->ctx = *ctx;
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
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	mode_t old = umask(0117);
	r = c->fd < 0 || c->stop_fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(c->fd, 16) < 0
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
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	free(c);
	return r;
}

int control_start(struct control *c)
{
	int r = pthread_create(&c->thread, NULL, control_main, c);
	if (r)
		return -r;
	c->started = true;
	return 0;
}

void control_free(struct control *c)
{
	uint64_t one = 1;
	if (!c)
		return;
	if (c->started) {
		(void)!write(c->stop_fd, &one, sizeof(one));
		pthread_join(c->thread, NULL);
	}
	close(c->fd);
	close(c->stop_fd);
	unlink(c->path);
	free(c);
}
