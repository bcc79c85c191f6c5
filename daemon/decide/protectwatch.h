/* protectwatch.h - notices that the protected peers may have changed while running: routes
 * and addresses (rtnetlink: DHCP or a router advertisement brought a new gateway) and the
 * resolver file (inotify: a new nameserver). The caller then reads them again with
 * protect_discover(); this only says when. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

struct protect_watch;

/* Watches routes and addresses (if @routes) and the file @resolv_conf (NULL: not), through
 * its directory: resolv.conf is usually replaced by a rename, and may be a symlink (then the
 * directory of its target is watched too). What cannot be watched is logged and skipped.
 * Returns 0 or -ENOMEM. */
int protect_watch_open(struct protect_watch **out, const char *resolv_conf, bool routes);
void protect_watch_close(struct protect_watch *pw); /* accepts NULL */
/* Fills @out (room for PROTECT_WATCH_FDS) with the descriptors to poll for POLLIN; returns how many. */
#define PROTECT_WATCH_FDS 2
size_t protect_watch_fds(const struct protect_watch *pw, struct pollfd *out);
/* Reads everything pending (never blocks). Returns true when a route, an address or the
 * resolver file changed (or notices were lost: then it may have). */
bool protect_watch_read(struct protect_watch *pw);
