/* addr.c - address parsing, formatting and prefix arithmetic. */
#include "core/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nfs_addr_parse(const char *s, bool allow_host_bits, struct nfs_addr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	struct nfs_addr a = { 0 };
	unsigned long plen;

	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, a.a) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, host, a.a) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	plen = a.family == AF_INET ? 32 : 128;
	if (slash) {
		char *end;
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (errno || *end || plen > (a.family == AF_INET ? 32u : 128u))
			return -EINVAL;
	}
	a.plen = (uint8_t)plen;
	struct nfs_addr masked = nfs_addr_prefix(&a, a.plen);
	if (!allow_host_bits && !nfs_addr_equal(&masked, &a))
		return -EINVAL;
	*out = masked;
	return 0;
}

const char *nfs_addr_format(const struct nfs_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->a, host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	if (a->plen == (a->family == AF_INET ? 32 : 128))
		snprintf(buf, len, "%s", host);
	else
		snprintf(buf, len, "%s/%u", host, a->plen);
	return buf;
}

struct nfs_addr nfs_addr_prefix(const struct nfs_addr *a, unsigned plen)
{
	struct nfs_addr r = *a;
	size_t len = nfs_addr_len(a);

	if (plen > len * 8)
		plen = (unsigned)len * 8;
	r.plen = (uint8_t)plen;
	for (size_t i = 0; i < len; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		r.a[i] &= (uint8_t)(0xff << (8 - plen));
		plen = 0;
	}
	return r;
}

bool nfs_addr_in(const struct nfs_addr *net, const struct nfs_addr *a)
{
	if (net->family != a->family)
		return false;
	struct nfs_addr p = nfs_addr_prefix(a, net->plen);
	return memcmp(p.a, net->a, 16) == 0;
}

bool nfs_addr_equal(const struct nfs_addr *x, const struct nfs_addr *y)
{
	return x->family == y->family && x->plen == y->plen && memcmp(x->a, y->a, 16) == 0;
}
