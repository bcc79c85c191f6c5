/* server.c - see server.h. One thread, one poll(2) loop over non-blocking connections, each
 * with its own buffer and deadline: a client that sends slowly, or not at all, holds only its
 * own connection, and only until its deadline (docs/control.md, "Limits"). A watcher (the
 * `watch` command) is a connection kept open after its answer: the loop polls the ban feed
 * and watch.c copies its events into each watcher's bounded buffer, never waiting for one.
 * The table of requests is here, with who may ask for each, so that the rights are read in
 * one place; the handlers are in commands.c, fleet.c and watch.c (server-int.h). */
#define _GNU_SOURCE /* struct ucred, accept4 */
#include "control/server-int.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>

#include "control/protocol.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/thread.h"
#include "core/utf8.h"

#define REQUEST_MAX CTL_REQUEST_MAX
/* The whole request line must arrive within this of the connection being accepted, and the
 * whole answer be taken within this of its being ready: a deadline per connection, not per
 * read, so a client trickling a byte at a time is cut off like one that sends nothing. */
#define REQUEST_TIMEOUT_S 5
/* Connections served at once. At the cap the oldest (the one that has stalled longest; an
 * honest client sends its line at once) is dropped for the newcomer, so stalled clients
 * cannot lock the others out. Each holds at most REQUEST_MAX bytes of request. */
#define CONN_MAX 64

json_t *control_fail(const char *fmt, ...)
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

json_t *control_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

json_t *control_addr_json(const struct nfs_addr *a)
{
	char buf[NFS_ADDR_STRLEN];
	return json_string(nfs_addr_format(a, buf, sizeof(buf)));
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
	{ CTL_CMD_STATUS, NULL, true, control_status_answer, NULL },
	{ CTL_CMD_BANS, NULL, true, NULL, control_bans_text },
	{ CTL_CMD_BAN, NULL, false, control_ban_answer, NULL },
	{ CTL_CMD_UNBAN, NULL, false, control_unban_answer, NULL },
	{ CTL_CMD_ALLOW, NULL, false, control_allow_answer, NULL },
	{ CTL_CMD_SOURCES, NULL, false, control_sources_answer, NULL },
	{ CTL_CMD_FLOWS, NULL, false, control_flows_answer, NULL },
	{ CTL_CMD_RELOAD, NULL, false, control_reload_answer, NULL },
	/* STOP sec. 3.1.1 goal 2: a token is redeemed by an administrator only. */
	{ CTL_CMD_EVIDENCE, "evidence records are readable by root only", false, control_evidence_answer, NULL },
	{ CTL_CMD_WATCH, NULL, true, control_watch_answer, NULL },
	{ CTL_CMD_FLEET, NULL, true, control_fleet_answer, NULL },
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
		ans = control_fail("permission denied");
		goto dump;
	}
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req || !json_is_object(req)) {
		ans = control_fail("not a JSON object: %s", req ? "wrong type" : jerr.text);
		goto dump;
	}
	const char *name = json_string_value(json_object_get(req, "command"));
	for (size_t i = 0; name && !cmd && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			cmd = &commands[i];
	if (!name)
		ans = control_fail("\"command\" missing");
	else if (!cmd)
		ans = control_fail("unknown command \"%.40s\"", name);
	else if (cmd->root_only && uid != 0)
		ans = control_fail("%s", cmd->root_only);
	else if (fleet && !cmd->fleet)
		ans = control_fail("the [fleet] group may ask for status, bans, watch and fleet only");
	else if (cmd->text) {
		text = cmd->text(c, req, uid);
		json_decref(req);
		return text;
	} else
		ans = cmd->handle(c, req, uid);
dump:
	json_decref(req);
	if (!ans)
		ans = control_fail("out of memory");
	text = ans ? json_dumps(ans, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(ans);
	return text;
}

json_t *control_handle(struct control *c, const char *line, size_t len, uid_t uid, gid_t gid)
{
	char *text = control_answer(c, line, len, uid, gid);
	json_t *ans = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	return ans ? ans : control_fail("out of memory");
}

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
		json_t *ans = control_fail("request longer than %d bytes", REQUEST_MAX);
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
	if (c->subscribe && text)
		control_watch_join(c, k);
}
/* Sends what @k's client takes now of k->buf. Returns 1 when some is left for later, 0 when
 * all is sent, -1 when the client is gone. */
int control_conn_send(struct conn *k)
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
	return control_conn_send(k) > 0;
}

/* Moves @k on as far as it goes without waiting (@revents: what poll said it may do), and
 * closes it once it is answered, gone, or past its deadline. */
static void conn_step(struct control *c, struct conn *k, short revents, int64_t now)
{
	bool keep = true, ready = revents != 0;

	if (ready && !k->answering)
		keep = conn_read(c, k);
	if (keep && k->watching)
		keep = control_watch_step(c, k, revents); /* its answer, then the feed */
	else if (keep && k->answering && (ready || k->sent == 0))
		keep = conn_write(k); /* a fresh answer is tried at once */
	if (keep && now >= k->deadline_ms)
		keep = false; /* too slow to send its line, or to take its answer */
	if (!keep)
		conn_close(c, k);
}

/* Takes the waiting connections in, into free slots of @conns; at CONN_MAX the oldest
 * connection that is not a watcher is dropped for each newcomer (watchers are at most
 * CTL_WATCHERS_MAX: there is always another; a watcher is meant to stay). A newcomer is read at
 * once: a client that sent its line with its connect (nfsentryctl does) is answered before
 * later ones can push it out. */
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
	r = c->fd < 0 || c->thread.stop_fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			    listen(c->fd, CONN_MAX) < 0
		    ? -errno
		    : 0;
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
	control_orphans_reap(c);
	pthread_mutex_destroy(&c->orphan_lock);
	free(c);
}
