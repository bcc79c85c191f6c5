/* addr.h - IPv4/IPv6 addresses and prefixes as one value type. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address or prefix. IPv4 uses a[0..3]; the rest stays zero so the struct hashes and
 * compares as plain bytes. */
struct nfs_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t plen;   /* prefix length; 32 or 128 for a host */
	uint8_t pad[2];
	uint8_t a[16];
};

#define NFS_ADDR_STRLEN 50 /* INET6_ADDRSTRLEN + "/128" */

/* "192.0.2.1", "2001:db8::/64": returns 0 or -EINVAL. Host bits under a prefix must be zero
 * unless @allow_host_bits (then they are cleared). */
int nfs_addr_parse(const char *s, bool allow_host_bits, struct nfs_addr *out);
/* Formats without the prefix length when it is a full host. */
const char *nfs_addr_format(const struct nfs_addr *a, char *buf, size_t len);
/* Copies @a with bits past @plen cleared. */
struct nfs_addr nfs_addr_prefix(const struct nfs_addr *a, unsigned plen);
/* True if host address @a lies inside prefix @net. */
bool nfs_addr_in(const struct nfs_addr *net, const struct nfs_addr *a);
bool nfs_addr_equal(const struct nfs_addr *x, const struct nfs_addr *y);
static inline size_t nfs_addr_len(const struct nfs_addr *a) { return a->family == AF_INET ? 4 : 16; }
