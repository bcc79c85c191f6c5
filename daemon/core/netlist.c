/* netlist.c - linear match: lists are short (admins' allowlists) and bounded. */
#include "core/netlist.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int netlist_add(struct netlist *l, const struct nfs_addr *net)
{
	for (size_t i = 0; i < l->n; i++)
		if (nfs_addr_equal(&l->net[i], net))
			return 0;
	if (l->n >= NETLIST_MAX)
		return -E2BIG;
	l->net[l->n++] = *net;
	return 0;
}

int netlist_add_csv(struct netlist *l, const char *csv, char *err, size_t errlen)
{
	const char *p = csv;

	while (*p) {
		char item[NFS_ADDR_STRLEN + 8];
		size_t n = strcspn(p, ", \t");
		struct nfs_addr a;
		int r;

		if (n == 0) {
			p++;
			continue;
		}
		if (n >= sizeof(item)) {
			snprintf(err, errlen, "%.*s", (int)(n > 60 ? 60 : n), p);
			return -EINVAL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (nfs_addr_parse(item, false, &a) < 0) {
			snprintf(err, errlen, "%s", item);
			return -EINVAL;
		}
		r = netlist_add(l, &a);
		if (r < 0) {
			snprintf(err, errlen, "%s", item);
			return r;
		}
		p += n;
	}
	return 0;
}

const struct nfs_addr *netlist_match(const struct netlist *l, const struct nfs_addr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (nfs_addr_in(&l->net[i], a))
			return &l->net[i];
	return NULL;
}

const struct nfs_addr *netlist_overlap(const struct netlist *l, const struct nfs_addr *p)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct nfs_addr *net = &l->net[i];
		if (net->family != p->family)
			continue;
		unsigned plen = net->plen < p->plen ? net->plen : p->plen;
		struct nfs_addr x = nfs_addr_prefix(net, plen), y = nfs_addr_prefix(p, plen);
		if (memcmp(x.a, y.a, 16) == 0)
			return net;
	}
	return NULL;
}
