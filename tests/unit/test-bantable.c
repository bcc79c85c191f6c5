/* test-bantable.c - the saved ban table: round trip, expiry, damaged lines, bounds. */
#include <errno.h>
#include <unistd.h>

#include "ban/bantable.h"
#include "tap.h"

static const uint8_t key[16] = "bantablebantable";

static struct ban_entry B(const char *a, uint32_t off, uint64_t t, int64_t until)
{
	struct ban_entry e = { .offence = off, .timeout_s = t, .until_ms = until };
	nfs_addr_parse(a, false, &e.addr);
	return e;
}

static void put(struct bantable *t, const char *a, uint32_t off, uint64_t tm, int64_t until)
{
	struct ban_entry e = B(a, off, tm, until);
	bantable_put(t, &e);
}

static const struct ban_entry *get(struct bantable *t, const char *a)
{
	struct ban_entry e = B(a, 0, 0, 0);
	return bantable_get(t, &e.addr);
}

static int count_cb(const struct ban_entry *e, void *data)
{
	(void)e;
	(*(int *)data)++;
	return 0;
}

int main(void)
{
	struct bantable *t = NULL;
	bantable_new(&t, 3, key);
	char dir[] = "/tmp/nfsentry-bans-XXXXXX", path[64];
	unsigned bad;

	CHECK(t && mkdtemp(dir), "new");
	snprintf(path, sizeof(path), "%s/bans", dir);
	put(t, "198.51.100.2", 1, 600, 2000000);
	put(t, "2001:db8:5::/64", 2, 2400, 3000000);
	put(t, "198.51.100.3", 1, 600, 500); /* over by now=1000 */
	CHECK(bantable_size(t) == 3, "three");
	const struct ban_entry *g = get(t, "2001:db8:5::/64");
	CHECK(g && g->offence == 2 && g->timeout_s == 2400, "get");
	CHECK(bantable_save(t, path, 1000) == 2, "save skips the expired one");
	put(t, "198.51.100.9", 1, 60, 9000); /* max 3: oldest goes */
	CHECK(bantable_size(t) == 3 && !get(t, "198.51.100.2"), "bounded");
	struct ban_entry gone = B("2001:db8:5::/64", 0, 0, 0), never = B("192.0.2.1", 0, 0, 0);
	CHECK(bantable_del(t, &gone.addr) == 0 && !get(t, "2001:db8:5::/64") && bantable_size(t) == 2 &&
	      get(t, "198.51.100.9"), "del: that one only");
	CHECK(bantable_del(t, &gone.addr) == -ENOENT && bantable_del(t, &never.addr) == -ENOENT, "del: none, -ENOENT");
	put(t, "198.51.100.10", 1, 60, 9000);
	put(t, "198.51.100.11", 1, 60, 9000); /* room again after the del: one more, then the oldest goes */
	CHECK(bantable_size(t) == 3 && !get(t, "198.51.100.3") && get(t, "198.51.100.9"), "del frees room");

	struct bantable *u = NULL;
	bantable_new(&u, 100, key);
	CHECK(bantable_load(u, path, &bad) == 2 && bad == 0, "load");
	g = get(u, "198.51.100.2");
	CHECK(g && g->until_ms == 2000000 && g->timeout_s == 600, "round trip keeps times");
	FILE *f = fopen(path, "a");
	fprintf(f, "junk\n10.0.0.0/8 1 60 5000\n198.51.100.7 0 60 5000\n198.51.100.8 1 0 5000\n198.51.100.6 1 60 5000 x\n"
		   "203.0.113.1 3 7200 99999999\n10.1.0.0/24 1 60 5000 distributed-scan\n");
	fclose(f);
	bantable_clear(u);
	CHECK(bantable_size(u) == 0, "clear");
	CHECK(bantable_load(u, path, &bad) == 4 && bad == 5, "damaged lines skipped (%u), the rest loads, a distributed "
	      "scan's IPv4 prefix too", bad);
	int n = 0;
	bantable_foreach(u, count_cb, &n);
	CHECK(n == 4, "foreach");
	CHECK(bantable_load(u, "/nonexistent/bans", &bad) == 0, "no file: nothing");

	/* Origins (issue 13): implied by the detector when the line has none, as every older file
	 * and every ban saved today; written only when the detector does not imply it. */
	bantable_clear(u);
	f = fopen(path, "w");
	fprintf(f, "198.51.100.20 1 60 5000\n198.51.100.21 1 60 5000 scan\n198.51.100.22 1 60 5000 manual -\n"
		   "198.51.100.23 1 60 5000 manual - crowdsec\n198.51.100.24 1 60 5000 scan - mars\n");
	fclose(f);
	CHECK(bantable_load(u, path, &bad) == 4 && bad == 1, "origins load; an unknown origin is a damaged line");
	g = get(u, "198.51.100.20");
	CHECK(g && g->origin == BAN_ORIGIN_MANUAL, "an old line without a detector: made by hand");
	g = get(u, "198.51.100.21");
	CHECK(g && g->origin == BAN_ORIGIN_DETECTOR, "a detector's ban: origin nfsentry");
	g = get(u, "198.51.100.23");
	CHECK(g && g->origin == BAN_ORIGIN_FLEET, "an explicit origin: crowdsec");
	CHECK(bantable_save(u, path, 1000) == 4, "saved");
	char line[256];
	unsigned seven = 0, lines = 0;
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char w1[64], w2[64], w3[64], w4[64], w5[64], w6[80], w7[64];
		if (line[0] == '#')
			continue;
		lines++;
		seven += sscanf(line, "%63s %63s %63s %63s %63s %79s %63s", w1, w2, w3, w4, w5, w6, w7) == 7;
	}
	if (f)
		fclose(f);
	CHECK(lines == 4 && seven == 1, "only the ban whose detector does not imply its origin has a 7th field (%u)",
	      seven);
	CHECK(bantable_save(u, "/nonexistent/dir/bans", 0) == -ENOENT, "unwritable reported");
	unlink(path);
	rmdir(dir);
	bantable_free(t);
	bantable_free(u);
	bantable_free(NULL);
	return tap_done();
}
