/* ctlclient.c - UNIX socket client of the control protocol, every wait bounded by poll(2). */
#include "ctlclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/clock.h"

static int connect_to(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	/* A UNIX socket connects at once or not at all (EAGAIN: the backlog is full). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno == EAGAIN ? -ECONNREFUSED : -errno;
		snprintf(err, errlen, "cannot reach nfsentry at %s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

/* Waits for @events on @fd until @deadline (clock_mono_ms). 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - clock_mono_ms();
		struct pollfd p = { .fd = fd, .events = events };
		if (left <= 0)
			return -ETIMEDOUT;
		int n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_line(int fd, json_t *req, int64_t deadline, char *err, size_t errlen)
{
	char *text = json_dumps(req, JSON_COMPACT);
	size_t len, off = 0;
	int r = 0;

	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	len = strlen(text);
	text[len] = '\0';
	while (off <= len) {
		/* The request and its \n; the \n is sent from a separate one-byte buffer. */
		const char *p = off < len ? text + off : "\n";
		size_t n = off < len ? len - off : 1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN && (r = wait_fd(fd, POLLOUT, deadline)) == 0)
			continue;
		r = r ? r : -errno;
		snprintf(err, errlen, "sending the request: %s", strerror(-r));
		break;
	}
	free(text);
	return r;
}

int ctl_request(const char *path, json_t *req, size_t max, int timeout_ms, json_t **ans, char *err, size_t errlen)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	size_t len = 0, cap = 0;
	char *buf = NULL, *nl = NULL;
	int r, fd = connect_to(path, err, errlen);

	if (fd < 0)
		return fd;
	if ((r = send_line(fd, req, deadline, err, errlen)) < 0)
		goto done;
	while (!nl) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= len + 1) {
				snprintf(err, errlen, "the answer is longer than %zu bytes", max);
				r = -EMSGSIZE;
				goto done;
			}
			char *nb = realloc(buf, ncap);
			if (!nb) {
				r = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto done;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n > 0) {
			nl = memchr(buf + len, '\n', (size_t)n);
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && (r = wait_fd(fd, POLLIN, deadline)) == 0)
			continue;
		r = r < 0 ? r : -errno;
		snprintf(err, errlen, "reading the answer: %s", r == -ETIMEDOUT ? "no answer in time" : strerror(-r));
		goto done;
	}
	json_error_t jerr;
	json_t *o = buf ? json_loadb(buf, nl ? (size_t)(nl - buf) : len, 0, &jerr) : NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(err, errlen, "the daemon's answer is not a JSON object");
		r = -EBADMSG;
		goto done;
	}
	*ans = o;
	r = 0;
done:
	free(buf);
	close(fd);
	return r;
}

int ctl_watch_open(struct ctl_watch *w, const char *path, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	/* This host's bans only: the fleet's, applied by the bridge itself, come in bursts of
	 * thousands that would only be read and skipped, and would push the watch behind the ring
	 * (lost events, then a resync that reads every ban). The daemon filters (docs/control.md). */
	json_t *req = json_pack("{s:s, s:[s, s]}", "command", "watch", "origin", "nfsentry", "manual");
	const char *line;
	int r;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (!req)
		return -ENOMEM;
	r = connect_to(path, err, errlen);
	if (r < 0)
		goto done;
	w->fd = r;
	if ((r = send_line(w->fd, req, deadline, err, errlen)) < 0)
		goto done;
	while (!(line = ctl_watch_line(w))) {
		ssize_t n = ctl_watch_read(w);
		if (n == -EAGAIN && (r = wait_fd(w->fd, POLLIN, deadline)) == 0)
			continue;
		if (n > 0)
			continue;
		r = n == 0 ? -ECONNRESET : n == -EAGAIN ? r : (int)n;
		snprintf(err, errlen, "watch: %s", r == -ECONNRESET ? "the daemon closed the connection" : strerror(-r));
		goto done;
	}
	json_t *a = json_loads(line, 0, NULL);
	if (!json_is_true(json_object_get(a, "ok"))) {
		const char *why = json_string_value(json_object_get(a, "error"));
		snprintf(err, errlen, "watch refused: %s", why ? why : "not an answer of the daemon");
		r = why && strstr(why, "too many") ? -EBUSY : why && strstr(why, "permission") ? -EACCES : -EPROTO;
	}
	json_decref(a);
done:
	json_decref(req);
	if (r < 0)
		ctl_watch_close(w);
	return r;
}

/* Drops the line handed out last: it was valid until this call. */
static void watch_compact(struct ctl_watch *w)
{
	if (!w->skip)
		return;
	memmove(w->buf, w->buf + w->skip, w->len - w->skip);
	w->len -= w->skip;
	w->skip = 0;
}

ssize_t ctl_watch_read(struct ctl_watch *w)
{
	watch_compact(w);
	if (w->cap - w->len < 4096) {
		size_t ncap = w->cap ? w->cap * 2 : 16384;
		if (ncap > CTL_WATCH_LINE_MAX + 4096)
			ncap = CTL_WATCH_LINE_MAX + 4096;
		if (ncap <= w->len + 1)
			return -EMSGSIZE;
		char *nb = realloc(w->buf, ncap);
		if (!nb)
			return -ENOMEM;
		w->buf = nb;
		w->cap = ncap;
	}
	for (;;) {
		ssize_t n = recv(w->fd, w->buf + w->len, w->cap - 1 - w->len, 0);
		if (n >= 0) {
			w->len += (size_t)n;
			return n;
		}
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

const char *ctl_watch_line(struct ctl_watch *w)
{
	watch_compact(w);
	char *nl = w->buf ? memchr(w->buf, '\n', w->len) : NULL;

	if (!nl)
		return NULL;
	*nl = '\0';
	w->skip = (size_t)(nl - w->buf) + 1;
	return w->buf;
}

void ctl_watch_close(struct ctl_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->buf);
	w->buf = NULL;
	w->fd = -1;
	w->len = w->cap = w->skip = 0;
}
