/* test-addr.c - addresses, prefixes and network lists. */
#include <errno.h>

#include "core/addr.h"
#include "core/netlist.h"
#include "tap.h"

static struct nfs_addr A(const char *s)
{
	struct nfs_addr a;
	if (nfs_addr_parse(s, true, &a) < 0) {
		printf("Bail out! bad literal %s\n", s);
		exit(1);
	}
	return a;
}

int main(void)
{
	struct nfs_addr a;
	char buf[NFS_ADDR_STRLEN];

	CHECK(nfs_addr_parse("192.0.2.1", false, &a) == 0 && a.family == AF_INET && a.plen == 32, "v4 host");
	CHECK_STR(nfs_addr_format(&a, buf, sizeof(buf)), "192.0.2.1", "v4 format");
	CHECK(nfs_addr_parse("2001:db8::/32", false, &a) == 0 && a.plen == 32, "v6 prefix");
	CHECK_STR(nfs_addr_format(&a, buf, sizeof(buf)), "2001:db8::/32", "v6 format");
	CHECK(nfs_addr_parse("192.0.2.1/24", false, &a) == -EINVAL, "host bits refused");
	CHECK(nfs_addr_parse("192.0.2.1/24", true, &a) == 0 && !strcmp(nfs_addr_format(&a, buf, sizeof(buf)), "192.0.2.0/24"),
	      "host bits cleared when allowed");
	static const char *bad[] = { "", "/24", "192.0.2.1/33", "::/129", "192.0.2/24", "1.2.3.4/", "1.2.3.4/-1",
				     "1.2.3.4/ 8", "fe80::1%eth0", "2001:db8::1:2:3:4:5:6:7" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(nfs_addr_parse(bad[i], true, &a) == -EINVAL, "refuses \"%s\"", bad[i]);

	struct nfs_addr h = A("2001:db8:1:2:aaaa::1");
	struct nfs_addr p = nfs_addr_prefix(&h, 64);
	CHECK_STR(nfs_addr_format(&p, buf, sizeof(buf)), "2001:db8:1:2::/64", "prefix 64");
	p = nfs_addr_prefix(&h, 61);
	CHECK_STR(nfs_addr_format(&p, buf, sizeof(buf)), "2001:db8:1::/61", "prefix 61");
	struct nfs_addr n24 = A("10.1.2.0/24"), in = A("10.1.2.77"), out = A("10.1.3.1");
	CHECK(nfs_addr_in(&n24, &in) && !nfs_addr_in(&n24, &out), "nfs_addr_in");
	CHECK(!nfs_addr_in(&n24, &h), "families differ");

	struct netlist *l = calloc(1, sizeof(*l));
	char bad_item[80];
	CHECK(netlist_add_csv(l, "127.0.0.0/8, ::1/128,192.0.2.0/24  2001:db8::/48", bad_item, sizeof(bad_item)) == 0 &&
	      l->n == 4, "csv of 4");
	CHECK(netlist_add_csv(l, "10.0.0.0/8, nonsense", bad_item, sizeof(bad_item)) == -EINVAL &&
	      !strcmp(bad_item, "nonsense"), "bad item named: %s", bad_item);
	struct nfs_addr x = A("192.0.2.200");
	CHECK(netlist_match(l, &x) != NULL, "match v4");
	x = A("198.51.100.1");
	CHECK(netlist_match(l, &x) == NULL, "no match v4");
	x = A("2001:db8:0:5::/64");
	CHECK(netlist_overlap(l, &x) != NULL, "/64 inside allowed /48 overlaps");
	x = A("2001:db8::/32");
	CHECK(netlist_overlap(l, &x) != NULL, "/32 containing allowed /48 overlaps");
	x = A("2001:db9::/64");
	CHECK(netlist_overlap(l, &x) == NULL, "disjoint prefix does not overlap");
	size_t before = l->n;
	CHECK(netlist_add_csv(l, "127.0.0.0/8", bad_item, sizeof(bad_item)) == 0 && l->n == before, "duplicates kept once");
	l->n = NETLIST_MAX;
	CHECK(netlist_add_csv(l, "203.0.113.0/24", bad_item, sizeof(bad_item)) == -E2BIG, "bounded");
	free(l);
	return tap_done();
}
