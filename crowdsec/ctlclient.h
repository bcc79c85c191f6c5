/* ctlclient.h - the bridge's side of the daemon's control socket (docs/control.md): the only
 * way it reaches the daemon. One request per connection (`bans`, `fleet`), and `watch`, whose
 * connection stays open and brings one event a line. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* Sends @req on a new connection to @path and reads the one-line answer, at most @max bytes,
 * within @timeout_ms in all. Returns 0 and the answer in *@ans (caller frees; "ok" may be
 * false: the caller reads "error"), or -errno with the reason in @err: -ENOENT / -ECONNREFUSED
 * (no daemon), -EACCES (not allowed), -ETIMEDOUT, -EMSGSIZE, -EBADMSG (not JSON). */
int ctl_request(const char *path, json_t *req, size_t max, int timeout_ms, json_t **ans, char *err, size_t errlen);

/* The watch connection: a non-blocking socket and what has come of the line being read. */
struct ctl_watch {
	int fd;
	char *buf;
	size_t len, cap;
	size_t skip; /* bytes of the line handed out last, dropped at the next call */
};

#define CTL_WATCH_LINE_MAX (64 * 1024)

/* Connects, sends {"command":"watch"} and reads the first line ({"ok":true,"seq":N}) within
 * @timeout_ms. Returns 0 with @w open (non-blocking; poll w->fd), or -errno with @err (the
 * daemon's "error" when it refused, e.g. too many watchers: -EBUSY). */
int ctl_watch_open(struct ctl_watch *w, const char *path, int timeout_ms, char *err, size_t errlen);
/* Reads what the socket holds. Returns the bytes read, 0 at the end of the stream (the
 * daemon went away: close and reconnect), -EAGAIN when nothing is there, -EMSGSIZE when a line
 * would exceed CTL_WATCH_LINE_MAX, or -errno. */
ssize_t ctl_watch_read(struct ctl_watch *w);
/* The next complete line (without its \n), valid until the next call, or NULL. */
const char *ctl_watch_line(struct ctl_watch *w);
/* Closes it; accepts one already closed (fd -1). */
void ctl_watch_close(struct ctl_watch *w);
