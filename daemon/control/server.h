/* server.h - the control socket (docs/control.md): one JSON request per connection, answered
 * by one JSON object (a watcher's: then by its events, one a line, for as long as it stays),
 * served by a thread of its own. Peers are checked with SO_PEERCRED. */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "metrics/view.h"

struct control;

/* Threads: control_open(), control_start() and control_free() are the owner's (the daemon's
 * main thread). The requests run on the control thread, one at a time: what they call in the
 * view (the ban writer, the evidence store, the engine) must be safe from a second thread. */

/* Binds @path (mode 0660; group @gid when not (gid_t)-1, root's otherwise), replacing a stale
 * socket file. @view is copied; the parts it names must outlive the server. Returns 0 or -errno
 * with a reason in @err. Does not start the thread. */
int control_open(struct control **out, const char *path, gid_t gid, const struct daemon_view *view, char *err,
		 size_t errlen);
/* Lets the members of group @gid (by primary gid, as control_group) ask for status, bans, watch
 * and fleet only: the least the fleet's bridge (nfsentry-crowdsec) needs. The socket file gets
 * a POSIX ACL entry giving @gid read and write, so the bridge needs no other group. Call
 * before control_start(). Returns 0 or -errno with a reason in @err (-EOPNOTSUPP: the file
 * system holding the socket has no ACLs). */
int control_allow_fleet(struct control *c, gid_t gid, char *err, size_t errlen);
int control_start(struct control *c);
/* Stops the thread; the socket file is removed. Accepts NULL. */
void control_free(struct control *c);

/* Answers one request line; for tests and for the thread. Returns a new JSON object. Called
 * by the control thread only, or by a test with the thread not started. */
json_t *control_handle(struct control *c, const char *line, size_t len, uid_t uid, gid_t gid);
