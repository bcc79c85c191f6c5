/* test-control-socket.c - the control server over its real socket, in a temporary folder
 * (docs/control.md): one request line in, one line of JSON out, then the server closes; a
 * line cut short by the client's shutdown is answered; a request longer than 64 KiB is refused;
 * a ban goes through the ban queue and back; a stranger (neither root nor of control_group)
 * is refused; at 64 open connections the oldest is closed for a newcomer, which is served;
 * the socket file is 0660, replaces a stale socket, never a regular file, and is removed at the
 * end. test-control.c covers the bounded wait for the ban writer. Waits are bounded (10 s);
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
#include "control/server.h"
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

/* Root can make a stranger: a child that becomes nobody and asks. Its answer comes back
 * through a pipe. */
static char *ask_as_nobody(const char *path)
{
	int p[2];
	if (pipe(p) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		char *ans = talk(path, "{\"command\":\"nope\"}\n", 19, false);
		if (ans)
			(void)!write(p[1], ans, strlen(ans));
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
	struct daemon_view ctx = { .banq = q, .started = time(NULL) };
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
		ans = ask_as_nobody(sock_path);
		json_decref(one_line(ans, false, "permission denied", "uid 65534, not of control_group"));
		free(ans);
		chmod(sock_path, 0660);
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

	control_free(c);
	CHECK(lstat(sock_path, &st) < 0 && errno == ENOENT, "control_free removes the socket file");
	control_free(NULL);
	banq_free(q);
	rmdir(dir);
	return tap_done();
}
