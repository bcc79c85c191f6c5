/* test-protect.c - resolvers and gateways read from text fixtures (tests/golden/protect). */
#include "decide/protect.h"
#include "tap.h"

static bool has(const struct netlist *l, const char *s)
{
	struct nfs_addr a;
	return nfs_addr_parse(s, false, &a) == 0 && netlist_match(l, &a);
}

int main(void)
{
	struct netlist *l = calloc(1, sizeof(*l));
	CHECK(protect_read_resolv_conf(l, "tests/golden/protect/resolv.conf") == 3, "three nameservers");
	CHECK(has(l, "192.0.2.53") && has(l, "2001:db8::53") && has(l, "fe80::1"), "IPv4, IPv6, link-local with zone");
	l->n = 0;
	CHECK(protect_read_route4(l, "tests/golden/protect/route") == 1 && has(l, "10.0.2.1"), "IPv4 gateway");
	CHECK(protect_read_route6(l, "tests/golden/protect/ipv6_route") == 1 && has(l, "fe80::1"), "IPv6 next hop");
	CHECK(protect_read_route4(l, "/nonexistent") < 0, "missing file reported");
	CHECK(protect_discover(l, true, "/nonexistent", false, NULL) == 1, "discover counts what it could not read");
	/* What each entry is, for the log and the refused events' reason. */
	struct protect_ends ends;
	CHECK(protect_discover(l, true, "tests/golden/protect/resolv.conf", false, &ends) == 0 &&
	      ends.resolvers == ends.local + 3 && ends.resolvers == l->n, "this host's addresses, then three resolvers");
	struct nfs_addr ns;
	const struct nfs_addr *m = nfs_addr_parse("192.0.2.53", false, &ns) == 0 ? netlist_match(l, &ns) : NULL;
	CHECK(m && !strcmp(protect_kind(&ends, (size_t)(m - l->net)), "resolver"), "a nameserver is a resolver");
	CHECK(!strcmp(protect_kind(&ends, ends.resolvers), "gateway"), "what follows the resolvers is a gateway");
	CHECK(ends.local == 0 || !strcmp(protect_kind(&ends, 0), "this host"), "the first entries are this host's");
	free(l);
	return tap_done();
}
