/* protect.c - reads /etc/resolv.conf, /proc/net/route and /proc/net/ipv6_route. Plain text
 * files the kernel and libc already maintain; no netlink conversation needed. */
#include "decide/protect.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Calls @parse on every line of @path; a line it turns into an address is added to @out.
 * Returns the number added or -errno. */
static int read_lines(struct netlist *out, const char *path, bool (*parse)(const char *line, struct nfs_addr *a))
{
	FILE *f = fopen(path, "re");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct nfs_addr a;
		if (parse(line, &a) && netlist_add(out, &a) == 0)
			n++;
	}
	fclose(f);
	return n;
}

static bool parse_nameserver(const char *line, struct nfs_addr *a)
{
	char addr[128];
	/* "nameserver fe80::1%eth0" names a link-local server with its zone: drop the zone. */
	return sscanf(line, " nameserver %127[0-9a-fA-F.:]", addr) == 1 && nfs_addr_parse(addr, false, a) == 0;
}

static bool parse_route4(const char *line, struct nfs_addr *a)
{
	char ifname[64];
	unsigned dst, gw, flags;
	/* Iface Destination Gateway Flags ...: the gateway is the raw (network-order) u32
	 * printed with %08X, so copying its bytes back gives the address. */
	if (sscanf(line, "%63s %x %x %x", ifname, &dst, &gw, &flags) != 4 || gw == 0)
		return false;
	*a = (struct nfs_addr){ .family = AF_INET, .plen = 32 };
	memcpy(a->a, &gw, 4);
	return true;
}

static bool parse_route6(const char *line, struct nfs_addr *a)
{
	char dst[33], src[33], nh[33];
	unsigned dplen, splen;
	bool zero = true;

	/* dst dst_plen src src_plen nexthop metric refcnt use flags iface */
	if (sscanf(line, "%32s %x %32s %x %32s", dst, &dplen, src, &splen, nh) != 5 || strlen(nh) != 32)
		return false;
	*a = (struct nfs_addr){ .family = AF_INET6, .plen = 128 };
	for (int i = 0; i < 16; i++) {
		unsigned b;
		if (sscanf(nh + 2 * i, "%2x", &b) != 1)
			return false;
		a->a[i] = (uint8_t)b;
		zero &= b == 0;
	}
	return !zero;
}

int protect_read_resolv_conf(struct netlist *out, const char *path)
{
	return read_lines(out, path, parse_nameserver);
}

int protect_read_route4(struct netlist *out, const char *path)
{
	return read_lines(out, path, parse_route4);
}

int protect_read_route6(struct netlist *out, const char *path)
{
	return read_lines(out, path, parse_route6);
}

/* This host's own addresses: a ban on them (a spoofed "scan" from ourselves) would cut the
 * host off from itself. */
static int read_local(struct netlist *out)
{
	struct ifaddrs *ifa, *i;
	int n = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		struct nfs_addr a = { 0 };
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			a.family = AF_INET;
			a.plen = 32;
			memcpy(a.a, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			a.family = AF_INET6;
			a.plen = 128;
			memcpy(a.a, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		if (netlist_add(out, &a) == 0)
			n++;
	}
	freeifaddrs(ifa);
	return n;
}

int protect_discover(struct netlist *out, bool resolvers, const char *resolv_conf, bool gateways,
		     struct protect_ends *ends)
{
	int failed = 0;

	out->n = 0;
	if (read_local(out) < 0)
		failed++;
	if (ends)
		ends->local = out->n;
	if (resolvers && protect_read_resolv_conf(out, resolv_conf) < 0)
		failed++;
	if (ends)
		ends->resolvers = out->n;
	if (gateways) {
		if (protect_read_route4(out, "/proc/net/route") < 0)
			failed++;
		if (protect_read_route6(out, "/proc/net/ipv6_route") < 0)
			failed++;
	}
	return failed;
}

const char *protect_kind(const struct protect_ends *ends, size_t i)
{
	return i < ends->local ? "this host" : i < ends->resolvers ? "resolver" : "gateway";
}
