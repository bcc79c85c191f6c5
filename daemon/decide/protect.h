/* protect.h - peers the host depends on, which a -450 ban would cut off: its resolvers and
 * its gateways. nfsentry never bans them (README: "Who is never banned"). */
#pragma once

#include <stdbool.h>

#include "core/netlist.h"

/* What each entry of a discovered list is: entries [0, local) are this host's addresses,
 * [local, resolvers) its resolvers, the rest its gateways. */
struct protect_ends {
	size_t local, resolvers;
};

/* Fills @out with this host's own addresses, the nameservers of @resolv_conf (if @resolvers)
 * and the next hops of the IPv4/IPv6 routing tables (if @gateways), in that order, and @ends
 * (may be NULL) with where each kind ends. Unreadable sources are skipped: returns the number
 * of sources that could not be read (0 = all read), a documented outcome (docs/hacking.md),
 * never negative: the list then holds what could be read, and the caller warns. */
int protect_discover(struct netlist *out, bool resolvers, const char *resolv_conf, bool gateways,
		     struct protect_ends *ends);
/* "this host", "resolver" or "gateway": what entry @i of a list with @ends is. */
const char *protect_kind(const struct protect_ends *ends, size_t i);

/* The parsers, for tests: each reads one file's text format from @path. Return entries added
 * or -errno. */
int protect_read_resolv_conf(struct netlist *out, const char *path);
int protect_read_route4(struct netlist *out, const char *path);
int protect_read_route6(struct netlist *out, const char *path);
