/* transport.c - see transport.h. */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

void ctl_answer_deinit(struct ctl_answer *ans)
{
	free(ans->line);
	json_decref(ans->obj);
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the first newline or the end of the stream. Returns the length read, or
 * -EAGAIN (timeout), -EMSGSIZE (over CTL_ANSWER_MAX), -errno. */
static ssize_t read_line(int fd, char **out)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;
		char *nl;

		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *nb;
			if (ncap > CTL_ANSWER_MAX + 1)
				ncap = CTL_ANSWER_MAX + 1;
			if (ncap <= len + 1) {
				free(buf);
				return -EMSGSIZE;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0) {
			int err = errno == EWOULDBLOCK ? EAGAIN : errno;
			if (err == EINTR)
				continue;
			free(buf);
			return -err;
		}
		if (n == 0)
			break;
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			len = (size_t)(nl - buf);
			break;
		}
	}
	if (!buf)
		buf = malloc(1);
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

/* Connects to the daemon at @path, reads and writes bounded by CTL_TIMEOUT_S. Returns the
 * socket, or -1 after saying why. */
static int ctl_dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	int fd;

	/* Checked by main() already; kept so this function stands on its own. */
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: %s: socket path too long\n", CTL_PROG, path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", CTL_PROG, strerror(errno));
		return -1;
	}
	/* SO_SNDTIMEO also bounds connect(2) on a UNIX socket whose backlog is full. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		fprintf(stderr, "%s: setsockopt: %s\n", CTL_PROG, strerror(errno));
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		if (err == EACCES || err == EPERM)
			fprintf(stderr, "%s: cannot reach nfsentry at %s: permission denied "
				"(the socket is for root and [daemon] control_group)\n", CTL_PROG, path);
		else if (err == EAGAIN)
			fprintf(stderr, "%s: cannot reach nfsentry at %s: no connection within %d s "
				"(is it stuck?)\n", CTL_PROG, path, CTL_TIMEOUT_S);
		else
			fprintf(stderr, "%s: cannot reach nfsentry at %s: %s (is it running?)\n", CTL_PROG, path,
				strerror(err));
		close(fd);
		return -1;
	}
	return fd;
}

int ctl_exchange(const char *path, const char *req, struct ctl_answer *ans)
{
	json_error_t jerr;
	int fd, r, send_err = 0;
	ssize_t n;
	char *line = NULL;

	fd = ctl_dial(path);
	if (fd < 0)
		return EXIT_FAILED;
	/* A server that refuses at once (permission denied) may close before reading: its
	 * answer is still in our receive queue, so read it even when sending failed. */
	r = send_all(fd, req, strlen(req));
	if (r < 0)
		send_err = -r;
	n = read_line(fd, &line);
	if (n == -EAGAIN) {
		fprintf(stderr, "%s: no answer from nfsentry at %s within %d s\n", CTL_PROG, path, CTL_TIMEOUT_S);
		goto fail;
	}
	if (n == -EMSGSIZE) {
		fprintf(stderr, "%s: the answer from nfsentry is over %d MiB; giving up\n", CTL_PROG,
			CTL_ANSWER_MAX >> 20);
		goto fail;
	}
	if (n == -ECONNRESET || n == -EPIPE)
		n = 0; /* closed on us: no answer */
	if (n < 0 && !send_err) {
		fprintf(stderr, "%s: reading the answer from %s: %s\n", CTL_PROG, path, strerror((int)-n));
		goto fail;
	}
	if (n <= 0) {
		if (send_err)
			fprintf(stderr, "%s: sending to nfsentry at %s: %s\n", CTL_PROG, path, strerror(send_err));
		else
			fprintf(stderr, "%s: nfsentry at %s closed the connection without an answer\n", CTL_PROG, path);
		free(line);
		goto fail;
	}
	close(fd);
	ans->obj = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	if (!ans->obj || !json_is_object(ans->obj) || !json_is_boolean(json_object_get(ans->obj, "ok"))) {
		fprintf(stderr, "%s: malformed answer from nfsentry: %s\n", CTL_PROG,
			ans->obj ? "not an object with \"ok\"" : jerr.text);
		json_decref(ans->obj);
		ans->obj = NULL;
		free(line);
		return EXIT_FAILED;
	}
	ans->line = line;
	ans->len = (size_t)n;
	return 0;
fail:
	close(fd);
	return EXIT_FAILED;
}

int ctl_stream(const char *path, const char *req, int (*line)(const char *text, size_t len, void *data), void *data)
{
	struct timeval forever = { 0 };
	size_t len = 0, cap = CTL_STREAM_LINE_MAX;
	char *buf = malloc(cap);
	int fd = buf ? ctl_dial(path) : -1, r;

	if (!buf)
		fprintf(stderr, "%s: out of memory\n", CTL_PROG);
	if (fd < 0) {
		free(buf);
		return EXIT_FAILED;
	}
	r = send_all(fd, req, strlen(req));
	if (r < 0) {
		fprintf(stderr, "%s: sending to nfsentry at %s: %s\n", CTL_PROG, path, strerror(-r));
		r = EXIT_FAILED;
		goto done;
	}
	for (bool first = true;;) {
		char *nl = memchr(buf, '\n', len);
		if (nl) {
			r = line(buf, (size_t)(nl - buf), data);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
			if (r)
				goto done;
			if (first) /* answered: the events come when they come */
				setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
			first = false;
			continue;
		}
		if (len == cap) {
			fprintf(stderr, "%s: a line from nfsentry over %d bytes; giving up\n", CTL_PROG, CTL_STREAM_LINE_MAX);
			r = EXIT_FAILED;
			goto done;
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && first && (errno == EAGAIN || errno == EWOULDBLOCK))
				fprintf(stderr, "%s: no answer from nfsentry at %s within %d s\n", CTL_PROG, path, CTL_TIMEOUT_S);
			else if (n < 0 && errno != ECONNRESET)
				fprintf(stderr, "%s: reading from %s: %s\n", CTL_PROG, path, strerror(errno));
			else
				fprintf(stderr, "%s: nfsentry at %s closed the connection\n", CTL_PROG, path);
			r = EXIT_FAILED;
			goto done;
		}
		len += (size_t)n;
	}
done:
	close(fd);
	free(buf);
	return r;
}
