/* protect.c - reads /etc/resolv.conf, /proc/net/route and /proc/net/ipv6_route. Plain text
 * files the kernel and libc already maintain; no netlink conversation needed. */
#include "decide/protect.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int protect_read_resolv_conf(struct netlist *out, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char addr[128];
		struct nfs_addr a;
		/* "nameserver fe80::1%eth0" names a link-local server with its zone: drop the zone. */
		if (sscanf(line, " nameserver %127[0-9a-fA-F.:]", addr) == 1 && nfs_addr_parse(addr, false, &a) == 0 &&
		    netlist_add(out, &a) == 0)
			n++;
	}
	fclose(f);
	return n;
}

int protect_read_route4(struct netlist *out, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char ifname[64];
		unsigned dst, gw, flags;
		/* Iface Destination Gateway Flags ...; addresses in host byte order of the kernel,
		 * printed as %08X of the raw (network-order) u32 */
		if (sscanf(line, "%63s %x %x %x", ifname, &dst, &gw, &flags) != 4 || gw == 0)
			continue;
		struct nfs_addr a = { .family = AF_INET, .plen = 32 };
		memcpy(a.a, &gw, 4);
		if (netlist_add(out, &a) == 0)
			n++;
	}
	fclose(f);
	return n;
}

int protect_read_route6(struct netlist *out, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char dst[33], src[33], nh[33];
		unsigned dplen, splen;
		/* dst dst_plen src src_plen nexthop metric refcnt use flags iface */
		if (sscanf(line, "%32s %x %32s %x %32s", dst, &dplen, src, &splen, nh) != 5 || strlen(nh) != 32)
			continue;
		struct nfs_addr a = { .family = AF_INET6, .plen = 128 };
		bool zero = true;
		for (int i = 0; i < 16; i++) {
			unsigned b;
			if (sscanf(nh + 2 * i, "%2x", &b) != 1)
				goto next;
			a.a[i] = (uint8_t)b;
			zero &= b == 0;
		}
		if (!zero && netlist_add(out, &a) == 0)
			n++;
next:;
	}
	fclose(f);
	return n;
}

int protect_discover(struct netlist *out, bool resolvers, const char *resolv_conf, bool gateways)
{
	int failed = 0;

	out->n = 0;
	if (resolvers && protect_read_resolv_conf(out, resolv_conf) < 0)
		failed++;
	if (gateways) {
		if (protect_read_route4(out, "/proc/net/route") < 0)
			failed++;
		if (protect_read_route6(out, "/proc/net/ipv6_route") < 0)
			failed++;
	}
	return failed;
}
