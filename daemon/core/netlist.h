/* netlist.h - a bounded list of IPv4/IPv6 networks (the allowlist, protected peers). */
#pragma once

#include "core/addr.h"

#define NETLIST_MAX 4096

struct netlist {
	size_t n;
	struct nfs_addr net[NETLIST_MAX];
};

/* Adds a comma- or space-separated list of CIDRs/addresses. Returns 0, -EINVAL (with the
 * offending item copied into @err) or -E2BIG past NETLIST_MAX. */
int netlist_add_csv(struct netlist *l, const char *csv, char *err, size_t errlen);
int netlist_add(struct netlist *l, const struct nfs_addr *net);
/* Returns the first network containing host address @a, or NULL. */
const struct nfs_addr *netlist_match(const struct netlist *l, const struct nfs_addr *a);
/* Returns the first network that shares any address with prefix @p, or NULL. Used for IPv6
 * bans, which cover a whole prefix. */
const struct nfs_addr *netlist_overlap(const struct netlist *l, const struct nfs_addr *p);
