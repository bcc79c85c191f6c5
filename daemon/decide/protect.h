/* protect.h - peers the host depends on, which a -450 ban would cut off: its resolvers and
 * its gateways. nfsentry never bans them (README: "Who is never banned"). */
#pragma once

#include <stdbool.h>

#include "decide/netlist.h"

/* Fills @out with this host's own addresses, the nameservers of @resolv_conf (if @resolvers)
 * and the next hops of the IPv4/IPv6 routing tables (if @gateways). Unreadable sources are skipped: returns the number
 * of sources that could not be read (0 = all read). */
int protect_discover(struct netlist *out, bool resolvers, const char *resolv_conf, bool gateways);

/* The parsers, for tests: each reads one file's text format from @path. Return entries added
 * or -errno. */
int protect_read_resolv_conf(struct netlist *out, const char *path);
int protect_read_route4(struct netlist *out, const char *path);
int protect_read_route6(struct netlist *out, const char *path);
