/* protectwatch.c - see protectwatch.h. rtnetlink(7) multicast groups for routes and
 * addresses; inotify(7) on directories, since a file replaced by rename(2) is a new inode
 * that a watch on the old one never sees. */
#include "decide/protectwatch.h"

#include <errno.h>
#include <libgen.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/log.h"

#define DIR_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE)

struct protect_watch {
	struct mnl_socket *rt; /* NULL: routes not watched */
	int ino;               /* -1: resolv_conf not watched */
	char path[PATH_MAX];   /* resolv_conf as configured */
	/* The watched directories and the name that matters in each: the file's own, and its
	 * symlink target's (re-read after every change: the link may be re-pointed). */
	int wd_link, wd_target;
	char name_link[NAME_MAX + 1], name_target[NAME_MAX + 1];
};

/* Splits @path into its directory and last name; false if either does not fit. */
static bool split(const char *path, char *dir, size_t dirlen, char *name, size_t namelen)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (strlen(path) >= sizeof(a))
		return false;
	strcpy(a, path);
	strcpy(b, path);
	const char *d = dirname(a), *n = basename(b);
	if (strlen(d) >= dirlen || strlen(n) >= namelen)
		return false;
	strcpy(dir, d);
	strcpy(name, n);
	return true;
}

/* (Re)watches the directory of the symlink target of the file, if it is one elsewhere. */
static void watch_target(struct protect_watch *pw)
{
	char real[PATH_MAX], dir[PATH_MAX], name[NAME_MAX + 1];
	int wd = -1;

	if (realpath(pw->path, real) && split(real, dir, sizeof(dir), name, sizeof(name))) {
		wd = inotify_add_watch(pw->ino, dir, DIR_EVENTS);
		if (wd == pw->wd_link && !strcmp(name, pw->name_link))
			wd = -1; /* not a symlink (or one within the same directory, under the same name) */
	}
	if (pw->wd_target >= 0 && pw->wd_target != wd && pw->wd_target != pw->wd_link)
		(void)inotify_rm_watch(pw->ino, pw->wd_target);
	pw->wd_target = wd;
	if (wd >= 0)
		snprintf(pw->name_target, sizeof(pw->name_target), "%s", name);
}

int protect_watch_open(struct protect_watch **out, const char *resolv_conf, bool routes)
{
	struct protect_watch *pw = calloc(1, sizeof(*pw));
	char dir[PATH_MAX];

	if (!pw)
		return -ENOMEM;
	pw->ino = pw->wd_link = pw->wd_target = -1;
	if (routes) {
		pw->rt = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (!pw->rt || mnl_socket_bind(pw->rt, RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR |
							       RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
			log_warn("cannot follow route changes (rtnetlink: %s): new gateways are learnt at the next reload",
				 strerror(errno));
			if (pw->rt)
				mnl_socket_close(pw->rt);
			pw->rt = NULL;
		}
	}
	if (resolv_conf && resolv_conf[0]) {
		snprintf(pw->path, sizeof(pw->path), "%s", resolv_conf);
		pw->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (pw->ino >= 0 && split(pw->path, dir, sizeof(dir), pw->name_link, sizeof(pw->name_link)))
			pw->wd_link = inotify_add_watch(pw->ino, dir, DIR_EVENTS);
		if (pw->wd_link < 0) {
			log_warn("cannot watch %s (inotify: %s): new resolvers are learnt at the next reload", resolv_conf,
				 strerror(errno));
			if (pw->ino >= 0)
				close(pw->ino);
			pw->ino = -1;
		} else {
			watch_target(pw);
		}
	}
	*out = pw;
	return 0;
}

void protect_watch_close(struct protect_watch *pw)
{
	if (!pw)
		return;
	if (pw->rt)
		mnl_socket_close(pw->rt);
	if (pw->ino >= 0)
		close(pw->ino);
	free(pw);
}

size_t protect_watch_fds(const struct protect_watch *pw, struct pollfd *out)
{
	size_t n = 0;
	if (pw->rt)
		out[n++] = (struct pollfd){ .fd = mnl_socket_get_fd(pw->rt), .events = POLLIN };
	if (pw->ino >= 0)
		out[n++] = (struct pollfd){ .fd = pw->ino, .events = POLLIN };
	return n;
}

static int route_cb(const struct nlmsghdr *h, void *data)
{
	bool *changed = data;

	*changed |= h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE || h->nlmsg_type == RTM_NEWADDR ||
		    h->nlmsg_type == RTM_DELADDR;
	return MNL_CB_OK;
}

/* Any route or address message counts: the lists are re-read whole, so telling a default
 * route from another is not worth the parsing. */
static bool read_routes(struct protect_watch *pw)
{
	static char buf[32768]; /* rtnetlink sends at most a page (or 8 KiB) per datagram */
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { 0 };
	bool changed = false;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(pw->rt, buf, sizeof(buf));
		if (n < 0) {
			if (errno == ENOBUFS) /* notices were lost: anything may have changed */
				changed = true;
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			return changed; /* EAGAIN: all read */
		}
		/* Notices carry the seq and portid of whoever made the change: check neither.
		 * Control messages (none expected) have no entry in @ctl: skipped, not an end. */
		(void)mnl_cb_run2(buf, (size_t)n, 0, 0, route_cb, &changed, ctl, NLMSG_MIN_TYPE);
	}
}

static bool read_files(struct protect_watch *pw)
{
	/* inotify(7): room for at least one event with the longest name. */
	static char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;

	for (;;) {
		ssize_t n = read(pw->ino, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (size_t off = 0; off + sizeof(struct inotify_event) <= (size_t)n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)(buf + off);
			size_t len = sizeof(*ev) + ev->len;
			if (len > (size_t)n - off)
				break;
			if (ev->mask & IN_Q_OVERFLOW)
				changed = true;
			else if (ev->len && ((ev->wd == pw->wd_link && !strcmp(ev->name, pw->name_link)) ||
					     (ev->wd == pw->wd_target && !strcmp(ev->name, pw->name_target))))
				changed = true;
			off += len;
		}
	}
	if (changed)
		watch_target(pw);
	return changed;
}

bool protect_watch_read(struct protect_watch *pw)
{
	bool changed = false;
	if (pw->rt)
		changed |= read_routes(pw);
	if (pw->ino >= 0)
		changed |= read_files(pw);
	return changed;
}
