/* test-cs-decmap.c - the value -> decision ids map (crowdsec/decmap.h): a value is unbanned
 * with all its ids by one deleted entry (crowdsec 1.4.6 reports only the last decision of a
 * value deleted), deletions repeat harmlessly, the bound holds. */
#include <errno.h>
#include <stdio.h>

#include "decmap.h"
#include "tap.h"

static struct nfs_addr A(const char *s)
{
	struct nfs_addr a;
	if (nfs_addr_parse(s, false, &a) < 0)
		abort();
	return a;
}

static void count(const struct nfs_addr *a, int64_t until, void *arg)
{
	(*(size_t *)arg)++;
}

int main(void)
{
	struct decmap *m;
	struct nfs_addr x = A("192.0.2.7"), y = A("2001:db8::/64");
	int64_t until;

	CHECK_EQ(decmap_new(&m, 0), -EINVAL, "a map of 0 is refused");
	CHECK_EQ(decmap_new(&m, 5), 0, "a map of 5 ids");
	CHECK_EQ(decmap_add(m, &x, 1, 1000), 1, "new value: ban");
	CHECK_EQ(decmap_add(m, &x, 1, 1000), 0, "same id again: nothing");
	CHECK_EQ(decmap_add(m, &x, 2, 500), 0, "a second decision ending earlier: nothing for the kernel");
	CHECK_EQ(decmap_add(m, &x, 3, 2000), 1, "a third ending later: ban longer");
	CHECK(decmap_until(m, &x, &until) == 0 && until == 2000, "the latest end is held");
	CHECK_EQ(decmap_ids(m), 3, "3 ids");
	CHECK_EQ(decmap_values(m), 1, "1 value");
	/* crowdsec 1.4.6 reports deletions per value: with ids 1, 2 and 3 on x, deleting 3 and 1
	 * says nothing; deleting 2, the last, sends a "deleted" entry naming 2 only. That entry
	 * means x has no decision left: the whole value goes, whatever other ids were held. */
	CHECK_EQ(decmap_del(m, &x), 1, "a deleted entry for a value with three ids: unban");
	CHECK_EQ(decmap_ids(m), 0, "its three ids forgotten (the map does not fill with dead ids)");
	CHECK_EQ(decmap_values(m), 0, "and the value");
	CHECK_EQ(decmap_del(m, &x), -ENOENT, "again (the stream repeats deletions): absent, nothing else");
	CHECK_EQ(decmap_until(m, &x, &until), -ENOENT, "gone");
	CHECK_EQ(decmap_del(m, &y), -ENOENT, "an unknown value");
	CHECK_EQ(decmap_add(m, &x, 4, 3000), 1, "a new decision on the value later: ban again");
	CHECK_EQ(decmap_add(m, &x, 5, 1000), 0, "a second one");
	CHECK_EQ(decmap_del(m, &x), 1, "deleted: unban, both ids go");
	CHECK_EQ(decmap_ids(m), 0, "no id left");

	/* The bound: ids, whatever the values. */
	for (int i = 0; i < 5; i++) {
		char s[32];
		snprintf(s, sizeof(s), "198.51.100.%d", i);
		struct nfs_addr a = A(s);
		CHECK_EQ(decmap_add(m, &a, 100 + i, 1000), 1, "filling");
	}
	CHECK_EQ(decmap_add(m, &y, 200, 1000), -ENOSPC, "a sixth id on a new value: full");
	struct nfs_addr z = A("198.51.100.0");
	CHECK_EQ(decmap_add(m, &z, 201, 1000), -ENOSPC, "a sixth id on a held value: full too");
	CHECK_EQ(decmap_add(m, &z, 100, 9000), 1, "a known id still moves the end");
	CHECK_EQ(decmap_del(m, &z), 1, "one goes");
	CHECK_EQ(decmap_add(m, &y, 200, 1000), 1, "room again");
	decmap_free(m);

	/* Many values (growth of the buckets), all found again. */
	CHECK_EQ(decmap_new(&m, 100000), 0, "a map of 100000");
	int bad = 0;
	for (int i = 0; i < 100000; i++) {
		struct nfs_addr a = { .family = AF_INET, .plen = 32, .a = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
		bad += decmap_add(m, &a, i, i) != 1;
	}
	CHECK_EQ(bad, 0, "100000 values added");
	size_t n = 0;
	decmap_foreach(m, count, &n);
	CHECK_EQ(n, 100000, "foreach sees them all");
	for (int i = 0; i < 100000; i++) {
		struct nfs_addr a = { .family = AF_INET, .plen = 32, .a = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
		bad += decmap_del(m, &a) != 1;
	}
	CHECK_EQ(bad, 0, "and deleted");
	CHECK_EQ(decmap_values(m) + decmap_ids(m), 0, "empty");
	decmap_free(m);
	decmap_free(NULL);
	return tap_done();
}
