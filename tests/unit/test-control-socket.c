/* test-control-socket.c - the control server over its real socket, in a temporary folder
 * (docs/control.md): one request line in, one line of JSON out, then the server closes; a
 * line cut short by the client's shutdown is answered; a request longer than 64 KiB is refused;
 * a ban goes through the ban queue and back; a stranger (neither root nor of control_group)
 * is refused; at 64 open connections the oldest is closed for a newcomer, which is served;
 * the socket file is 0660, replaces a stale socket, never a regular file, and is removed at the
 * end. Watchers (`watch`): the events in order, with every field; one behind by more than its
 * 64 KiB but not by more than the ring gets every event once it reads; only the origins asked
 * for; resuming "from" a number; at most 4 (a 5th refused, a place freed when one leaves); a
 * watcher that never reads is not waited for (the others are served meanwhile), loses events
 * and is told how many, so that what it got and what it was told it lost add up to what was
 * put; watchers outlive the request deadline; a request after a watch is not made a watcher;
 * as root, the [fleet] group reaches the socket through its ACL and may watch but not reload.
 * test-control.c covers the bounded wait for the ban writer. Waits are bounded (10 s);
 * nothing is asserted about how long anything took. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ban/banq.h"
#include "ban/feed.h"
#include "control/protocol.h"
#include "control/server.h"
#include "core/clock.h"
#include "core/detector.h"
#include "core/log.h"
#include "tap.h"

#define WAIT_MS 10000
#define CONNS 64 /* docs/control.md, "Limits" */

static char sock_path[96];

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until the server closes (or resets: it closes with our excess request unread), at most
 * WAIT_MS. Returns what came, malloc'd; NULL when the server did not close in time. */
static char *read_all(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, WAIT_MS) <= 0) {
			free(buf);
			return NULL;
		}
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* One conversation: @req sent (then our side shut when @shut), the answer read to the end. */
static char *talk(const char *path, const char *req, size_t len, bool shut)
{
	int fd = dial(path);
	if (fd < 0)
		return NULL;
	for (size_t off = 0; off < len;) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server answered early and closed: the answer is what counts */
		off += (size_t)n;
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	char *ans = read_all(fd);
	close(fd);
	return ans;
}

/* Checks that @ans is exactly one line of JSON with "ok" @ok and, when @error, an "error"
 * starting with it. Returns the parsed object (or NULL). */
static json_t *one_line(const char *ans, bool ok, const char *error, const char *what)
{
	const char *nl = ans ? strchr(ans, '\n') : NULL;
	json_t *j = nl ? json_loadb(ans, (size_t)(nl - ans), 0, NULL) : NULL;
	const char *e = json_string_value(json_object_get(j, "error"));
	CHECK(nl && nl[1] == '\0' && j && json_is_boolean(json_object_get(j, "ok")) &&
	      json_is_true(json_object_get(j, "ok")) == ok && (!error || (e && !strncmp(e, error, strlen(error)))),
	      "%s: %.*s", what, ans ? (int)strcspn(ans, "\n") : 11, ans ? ans : "(no answer)");
	return j;
}

static struct banq *q;
static struct ban_feed *feed;

/* A watcher's stream: its lines as they come. */
struct stream {
	int fd;
	char buf[1 << 16];
	size_t len;
};

/* The next line of @s, parsed; NULL when none came within WAIT_MS (or it was not JSON). */
static json_t *stream_next(struct stream *s)
{
	for (;;) {
		char *nl = memchr(s->buf, '\n', s->len);
		if (nl) {
			json_t *j = json_loadb(s->buf, (size_t)(nl - s->buf), 0, NULL);
			s->len -= (size_t)(nl + 1 - s->buf);
			memmove(s->buf, nl + 1, s->len);
			return j;
		}
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		if (s->len == sizeof(s->buf) || poll(&p, 1, WAIT_MS) <= 0)
			return NULL;
		ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
		if (n <= 0)
			return NULL;
		s->len += (size_t)n;
	}
}

/* Connects and asks to watch (@req). Returns the fd and the first line in *@first. */
static int watch_open(const char *req, struct stream *s, json_t **first)
{
	s->len = 0;
	s->fd = dial(sock_path);
	if (s->fd < 0 || send(s->fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		*first = NULL;
		return -1;
	}
	*first = stream_next(s);
	return s->fd;
}

static void put_ban(uint32_t n)
{
	struct ban_feed_event e = { .kind = BAN_FEED_BAN, .origin = BAN_ORIGIN_DETECTOR, .det = DET_SCAN,
				    .seconds = 3600, .until_ms = 1700000000000LL + n, .events = n };
	nfs_addr_parse("198.51.100.0", false, &e.addr);
	e.addr.a[2] = (uint8_t)(100 + (n >> 8));
	e.addr.a[3] = (uint8_t)n;
	ban_feed_put(feed, &e);
}

static int64_t jint(json_t *j, const char *key)
{
	return json_integer_value(json_object_get(j, key));
}

static const char *jstr(json_t *j, const char *key)
{
	const char *v = json_string_value(json_object_get(j, key));
	return v ? v : "";
}

/* One request on a connection of its own, answered while watchers are connected. */
static bool served(void)
{
	char *ans = talk(sock_path, "{\"command\":\"nope\"}\n", 19, false);
	bool yes = ans && strstr(ans, "unknown command");
	free(ans);
	return yes;
}

static void check_watchers(void)
{
	static struct stream w[CTL_WATCHERS_MAX + 1], stalled;
	json_t *j;

	/* Events in order, each with its fields. */
	CHECK(watch_open("{\"command\":\"watch\"}\n", &w[0], &j) >= 0 && json_is_true(json_object_get(j, "ok")) &&
	      jint(j, "seq") == (int64_t)ban_feed_next_seq(feed), "watch: ok, and the next sequence number");
	json_decref(j);
	int64_t opened = clock_mono_ms();
	uint64_t first = ban_feed_next_seq(feed);
	put_ban(7);
	struct ban_feed_event e = { .kind = BAN_FEED_UNBAN, .origin = BAN_ORIGIN_FLEET, .why = BAN_FEED_WHY_FLEET };
	nfs_addr_parse("2001:db8:1::/48", false, &e.addr);
	ban_feed_put(feed, &e);
	e = (struct ban_feed_event){ .kind = BAN_FEED_EVIDENCE, .origin = BAN_ORIGIN_DETECTOR };
	nfs_addr_parse("198.51.100.7", false, &e.addr);
	memset(e.token, 'a', 64);
	ban_feed_put(feed, &e);
	j = stream_next(&w[0]);
	CHECK(!strcmp(jstr(j, "event"), "ban") && jint(j, "seq") == (int64_t)first && !strcmp(jstr(j, "origin"), "nfsentry") &&
	      !strcmp(jstr(j, "address"), "198.51.100.7") && !strcmp(jstr(j, "detector"), "scan") &&
	      jint(j, "seconds") == 3600 && jint(j, "until") == 1700000000 && jint(j, "events") == 7,
	      "the ban event, all its fields");
	json_decref(j);
	j = stream_next(&w[0]);
	CHECK(!strcmp(jstr(j, "event"), "unban") && jint(j, "seq") == (int64_t)first + 1 &&
	      !strcmp(jstr(j, "origin"), "crowdsec") && !strcmp(jstr(j, "address"), "2001:db8:1::/48") &&
	      !strcmp(jstr(j, "why"), "fleet"), "then the unban event");
	json_decref(j);
	j = stream_next(&w[0]);
	CHECK(!strcmp(jstr(j, "event"), "evidence") && jint(j, "seq") == (int64_t)first + 2 &&
	      strlen(jstr(j, "token")) == 64 && !strcmp(jstr(j, "address"), "198.51.100.7"), "then the evidence event");
	json_decref(j);

	/* Behind by more than its 64 KiB and its socket take, not by more than the ring: every
	 * event comes, none lost, once it reads (the server refills it as it drains). */
	uint64_t from0 = ban_feed_next_seq(feed);
	enum { BEHIND = 4000 };
	for (uint32_t n = 0; n < BEHIND; n++)
		put_ban(n);
	CHECK(served(), "served while a watcher is %d events behind", BEHIND);
	uint64_t behind_got = 0, behind_lost = 0, want = from0;
	bool behind_ordered = true;
	while (want < from0 + BEHIND && (j = stream_next(&w[0]))) {
		if (!strcmp(jstr(j, "event"), "lost"))
			behind_lost += (uint64_t)jint(j, "count");
		behind_ordered = behind_ordered && (!json_object_get(j, "seq") || jint(j, "seq") == (int64_t)want);
		want = json_object_get(j, "seq") ? (uint64_t)jint(j, "seq") + 1 : want;
		behind_got++;
		json_decref(j);
	}
	CHECK(behind_got == BEHIND && behind_lost == 0 && behind_ordered,
	      "%d events behind (%d bytes), within the ring: %llu came, in order, %llu lost", BEHIND, BEHIND * 150,
	      (unsigned long long)behind_got, (unsigned long long)behind_lost);

	/* Only the origins asked for: the fleet's ban and unban are not sent, the local ban is. */
	struct stream local;
	CHECK(watch_open("{\"command\":\"watch\",\"origin\":[\"nfsentry\",\"manual\"]}\n", &local, &j) >= 0 &&
	      json_is_true(json_object_get(j, "ok")), "watch of origins nfsentry and manual");
	json_decref(j);
	e = (struct ban_feed_event){ .kind = BAN_FEED_BAN, .origin = BAN_ORIGIN_FLEET, .det = DET_MANUAL };
	nfs_addr_parse("203.0.113.0/24", false, &e.addr);
	ban_feed_put(feed, &e);
	e.kind = BAN_FEED_UNBAN;
	e.why = BAN_FEED_WHY_FLEET;
	ban_feed_put(feed, &e);
	uint64_t mine = ban_feed_next_seq(feed);
	put_ban(9);
	j = stream_next(&local);
	CHECK(jint(j, "seq") == (int64_t)mine && !strcmp(jstr(j, "origin"), "nfsentry"),
	      "the fleet's events skipped, the local ban sent");
	json_decref(j);
	close(local.fd);
	while ((j = stream_next(&w[0])) && jint(j, "seq") != (int64_t)mine)
		json_decref(j); /* w[0] takes every origin: up to the same ban */
	json_decref(j);

	/* Resuming: "from" an earlier number replays from there. */
	struct stream again;
	char req[80];
	snprintf(req, sizeof(req), "{\"command\":\"watch\",\"from\":%llu}\n", (unsigned long long)first + 1);
	CHECK(watch_open(req, &again, &j) >= 0 && jint(j, "seq") == (int64_t)first + 1, "watch from %llu",
	      (unsigned long long)first + 1);
	json_decref(j);
	j = stream_next(&again);
	CHECK(!strcmp(jstr(j, "event"), "unban") && jint(j, "seq") == (int64_t)first + 1, "resumed at the unban");
	json_decref(j);
	close(again.fd);

	/* Four at most. The one just closed may not be noticed yet: bounded retries. */
	bool four = true;
	for (int i = 1; i < CTL_WATCHERS_MAX; i++) {
		json_t *a = NULL;
		for (int t = 0; t < 100 && !json_is_true(json_object_get(a, "ok")); t++) {
			json_decref(a);
			if (t)
				close(w[i].fd), usleep(10000);
			watch_open("{\"command\":\"watch\"}\n", &w[i], &a);
		}
		four = four && json_is_true(json_object_get(a, "ok"));
		json_decref(a);
	}
	CHECK(four, "%d watchers", CTL_WATCHERS_MAX);
	const char *err = "";
	CHECK(watch_open("{\"command\":\"watch\"}\n", &w[CTL_WATCHERS_MAX], &j) >= 0 &&
	      json_is_false(json_object_get(j, "ok")) && !strncmp(err = jstr(j, "error"), "too many watchers", 17),
	      "a fifth: refused (%s)", err);
	json_decref(j);
	close(w[CTL_WATCHERS_MAX].fd);
	CHECK(served(), "other requests are served beside 4 watchers");

	/* A stalled watcher: one of the four leaves, a newcomer takes its place and never reads. */
	close(w[1].fd);
	j = NULL;
	for (int t = 0; t < 100 && !json_is_true(json_object_get(j, "ok")); t++) {
		json_decref(j);
		if (t)
			close(stalled.fd), usleep(10000);
		watch_open("{\"command\":\"watch\"}\n", &stalled, &j);
	}
	CHECK(json_is_true(json_object_get(j, "ok")), "a place freed by a watcher that left is taken again");
	uint64_t from = (uint64_t)jint(j, "seq");
	json_decref(j);
	for (int i = 2; i < CTL_WATCHERS_MAX; i++)
		close(w[i].fd); /* only w[0] (reading later) and the stalled one stay */
	/* Far more than its socket, its 64 KiB and the ring hold: the server must not wait for it. */
	enum { TOTAL = 60000 };
	bool all = true;
	for (uint32_t n = 0; n < TOTAL; n++) {
		put_ban(n);
		if (n % 500 == 499)
			all = all && served();
	}
	CHECK(all, "every request answered while a watcher takes nothing of %d events", TOTAL);
	/* It reads at last: events in order, and the gaps told. */
	uint64_t got = 0, lost = 0, expect = from, lost_lines = 0;
	bool ordered = true;
	while (expect < from + TOTAL && (j = stream_next(&stalled))) {
		if (!strcmp(jstr(j, "event"), "lost")) {
			lost += (uint64_t)jint(j, "count");
			expect += (uint64_t)jint(j, "count");
			lost_lines++;
		} else {
			ordered = ordered && jint(j, "seq") == (int64_t)expect;
			expect = (uint64_t)jint(j, "seq") + 1;
			got++;
		}
		json_decref(j);
	}
	CHECK(ordered && got + lost == TOTAL && lost_lines >= 1 && lost > 0 && got > 0,
	      "the stalled watcher: %llu events and %llu told lost (%llu lines) of %d, in order",
	      (unsigned long long)got, (unsigned long long)lost, (unsigned long long)lost_lines, TOTAL);
	close(stalled.fd);
	/* w[0] took nothing meanwhile either. Past the 5 s request deadline it is still served:
	 * after its backlog (and what it was told it lost) comes the event put now. */
	int64_t left = opened + 6000 - clock_mono_ms();
	if (left > 0)
		usleep((useconds_t)left * 1000);
	uint64_t last = ban_feed_next_seq(feed);
	put_ban(1);
	bool seen = false;
	while (!seen && (j = stream_next(&w[0]))) {
		seen = jint(j, "seq") == (int64_t)last;
		json_decref(j);
	}
	CHECK(seen, "a watcher is served past the request deadline (6 s after it asked)");
	close(w[0].fd);
}

/* The ban writer's part: answers one manual ban, echoing what it was asked. */
static void *writer(void *arg)
{
	struct ban_request *rq = arg;
	if (banq_pop(q, rq, 1, WAIT_MS) != 1 || !rq->reply)
		return NULL;
	pthread_mutex_lock(&rq->reply->lock);
	rq->reply->rc = 0;
	rq->reply->addr = rq->addr;
	rq->reply->seconds = rq->seconds;
	rq->reply->done = true;
	pthread_cond_signal(&rq->reply->cond);
	pthread_mutex_unlock(&rq->reply->lock);
	return NULL;
}

/* Root can make a stranger: a child that becomes nobody (of group @gid) and asks @req. Its
 * answer (its first line) comes back through a pipe. */
static char *ask_as_nobody(const char *path, gid_t gid, const char *req)
{
	int p[2];
	if (pipe(p) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(65534) < 0)
			_exit(1);
		struct stream s = { .fd = dial(path) };
		json_t *first = NULL;
		if (s.fd < 0) {
			const char *refused = "connect refused\n";
			(void)!write(p[1], refused, strlen(refused));
		} else if (send(s.fd, req, strlen(req), MSG_NOSIGNAL) > 0 && (first = stream_next(&s))) {
			char *ans = json_dumps(first, JSON_COMPACT);
			(void)!write(p[1], ans, strlen(ans));
			(void)!write(p[1], "\n", 1);
		}
		_exit(0);
		_exit(0);
	}
	close(p[1]);
	char *ans = pid > 0 ? read_all(p[0]) : NULL;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ans;
}

int main(void)
{
	char dir[] = "/tmp/nfsentry-control-socket-XXXXXX", err[256] = "", *ans;
	struct control *c = NULL;
	struct stat st;
	json_t *j;

	log_set_level(LOG_LVL_ERR);
	q = NULL;
	(void)banq_new(&q, 16);
	CHECK(q && mkdtemp(dir), "a ban queue and a folder");
	snprintf(sock_path, sizeof(sock_path), "%s/control.sock", dir);

	/* A regular file where the socket goes is never removed. */
	int f = open(sock_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	close(f);
	CHECK(ban_feed_new(&feed, 4096) == 0, "a ban feed of 4096 events (the daemon's)");
	struct daemon_view ctx = { .banq = q, .feed = feed, .started = time(NULL) };
	int r = control_open(&c, sock_path, getegid(), &ctx, err, sizeof(err));
	CHECK(r < 0 && !c && stat(sock_path, &st) == 0 && S_ISREG(st.st_mode) && strstr(err, sock_path),
	      "a regular file in the way: refused (%d: %s) and kept", r, err);
	unlink(sock_path);

	/* A stale socket (a previous run's) is replaced. */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	int stale = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(stale >= 0 && bind(stale, (struct sockaddr *)&sa, sizeof(sa)) == 0, "a stale socket file");
	close(stale);
	/* Served: our own group is control_group (root is served anyway). */
	r = control_open(&c, sock_path, getegid(), &ctx, err, sizeof(err));
	CHECK(r == 0 && c, "control_open over the stale socket: %s", r == 0 ? "ok" : err);
	if (!c)
		return tap_done();
	CHECK(stat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0660 && st.st_gid == getegid(),
	      "the socket: mode %o, group %u", st.st_mode & 0777, (unsigned)st.st_gid);
	{
		long long got_ = control_start(c);
		CHECK_EQ(got_, 0, "control_start");
	}

	/* A request line, one line of JSON back, then the server closes. */
	ans = talk(sock_path, "{\"command\":\"nope\"}\n", 19, false);
	json_decref(one_line(ans, false, "unknown command \"nope\"", "an unknown command"));
	free(ans);
	ans = talk(sock_path, "hello\n", 6, false);
	json_decref(one_line(ans, false, "not a JSON object", "not JSON"));
	free(ans);
	/* Bytes after the line are not read as a second request. */
	ans = talk(sock_path, "{\"command\":\"nope\"}\n{\"command\":\"other\"}\n", 39, false);
	json_decref(one_line(ans, false, "unknown command \"nope\"", "two lines: the first is answered, alone"));
	free(ans);
	/* No newline, then the client shuts its side: what came is the request. */
	ans = talk(sock_path, "{\"command\":\"nope\"}", 18, true);
	json_decref(one_line(ans, false, "unknown command", "a line ended by shutdown(SHUT_WR)"));
	free(ans);

	/* Longer than 64 KiB without a newline: refused, with the limit. */
	size_t big = 65536 + 4096;
	char *huge = malloc(big);
	memset(huge, 'x', big);
	ans = talk(sock_path, huge, big, false);
	json_decref(one_line(ans, false, "request longer than 65536 bytes", "an oversize request"));
	free(ans);
	free(huge);

	/* A ban through the ban queue and back. */
	struct ban_request seen = { 0 };
	pthread_t t;
	pthread_create(&t, NULL, writer, &seen);
	static const char ban[] = "{\"command\":\"ban\",\"address\":\"192.0.2.7\",\"seconds\":90}\n";
	ans = talk(sock_path, ban, sizeof(ban) - 1, false);
	pthread_join(t, NULL);
	j = one_line(ans, true, NULL, "a ban, answered by the writer");
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "address")) ?: "", "192.0.2.7") &&
	      json_integer_value(json_object_get(j, "seconds")) == 90, "the answer names the address and its 90 s");
	CHECK(seen.op == BAN_OP_MANUAL_BAN && seen.seconds == 90 && seen.addr.a[3] == 7 && seen.by_uid == getuid(),
	      "the writer was asked: manual ban of 192.0.2.7 for 90 s by uid %u", seen.by_uid);
	json_decref(j);
	free(ans);

	/* A stranger is refused. */
	if (geteuid() == 0) {
		chmod(dir, 0711);
		chmod(sock_path, 0666); /* let nobody reach the socket: the server must refuse it */
		ans = ask_as_nobody(sock_path, 65534, "{\"command\":\"nope\"}\n");
		json_decref(one_line(ans, false, "permission denied", "uid 65534, not of control_group"));
		free(ans);
		chmod(sock_path, 0660);
		ans = ask_as_nobody(sock_path, 65534, "{\"command\":\"nope\"}\n");
		CHECK(ans && !strcmp(ans, "connect refused\n"), "the socket 0660: nobody cannot connect");
		free(ans);
	} else {
		/* Without root we are the stranger, of a server for root only. */
		struct control *root_only = NULL;
		char p2[160];
		snprintf(p2, sizeof(p2), "%s/root.sock", dir);
		CHECK(control_open(&root_only, p2, (gid_t)-1, &ctx, err, sizeof(err)) == 0 && control_start(root_only) == 0,
		      "a server for root only");
		ans = talk(p2, "{\"command\":\"nope\"}\n", 19, false);
		json_decref(one_line(ans, false, "permission denied", "not root, no control_group"));
		free(ans);
		control_free(root_only);
	}

	/* 64 connections that say nothing, then one more that asks: it is served, and the oldest
	 * is closed for it. */
	int idle[CONNS];
	bool all = true;
	for (int i = 0; i < CONNS; i++)
		all = all && (idle[i] = dial(sock_path)) >= 0;
	CHECK(all, "%d idle connections", CONNS);
	/* The server takes connections in the order they came: the 64 before the newcomer. */
	ans = talk(sock_path, "{\"command\":\"nope\"}\n", 19, false);
	json_decref(one_line(ans, false, "unknown command", "the 65th connection is served"));
	free(ans);
	struct pollfd p = { .fd = idle[0], .events = POLLIN };
	char b;
	CHECK(poll(&p, 1, WAIT_MS) == 1 && read(idle[0], &b, 1) == 0, "the oldest idle connection was closed for it");
	p.fd = idle[CONNS - 1];
	CHECK(poll(&p, 1, 0) == 0, "the newest idle one is still open");
	for (int i = 0; i < CONNS; i++)
		close(idle[i]);

	check_watchers();

	/* After a watch, a request that is not one (too long) is answered and closed, not watched. */
	struct stream last;
	CHECK(watch_open("{\"command\":\"watch\"}\n", &last, &j) >= 0 && json_is_true(json_object_get(j, "ok")),
	      "a watch, just before");
	json_decref(j);
	close(last.fd);
	char *longreq = malloc(65536 + 16);
	memset(longreq, ' ', 65536 + 16);
	ans = talk(sock_path, longreq, 65536 + 16, false);
	json_decref(one_line(ans, false, "request longer than", "an oversize request after a watch: answered, closed"));
	free(ans);
	free(longreq);

	/* The [fleet] group reaches the socket through its ACL (no chmod), watches, cannot reload. */
	if (geteuid() == 0) {
		CHECK(control_allow_fleet(c, 4242, err, sizeof(err)) == 0, "control_allow_fleet(4242): %s", err);
		ans = ask_as_nobody(sock_path, 4242, "{\"command\":\"" CTL_CMD_WATCH "\"}\n");
		json_decref(one_line(ans, true, NULL, "uid 65534 of the [fleet] group: watch"));
		free(ans);
		ans = ask_as_nobody(sock_path, 4242, "{\"command\":\"" CTL_CMD_RELOAD "\"}\n");
		json_decref(one_line(ans, false, "the [fleet] group may ask for", "the [fleet] group: reload refused"));
		free(ans);
		ans = ask_as_nobody(sock_path, 4243, "{\"command\":\"" CTL_CMD_WATCH "\"}\n");
		CHECK(ans && !strcmp(ans, "connect refused\n"), "another group cannot connect");
		free(ans);
	}

	control_free(c);
	CHECK(lstat(sock_path, &st) < 0 && errno == ENOENT, "control_free removes the socket file");
	control_free(NULL);
	banq_free(q);
	ban_feed_free(feed);
	rmdir(dir);
	return tap_done();
}
