/* test-offences.c - escalation arithmetic and the history file. */
#include <errno.h>
#include <unistd.h>

#include "ban/offences.h"
#include "tap.h"

static const uint8_t key[16] = "k3y-k3y-k3y-k3y!";

int main(void)
{
	CHECK_EQ(offences_ban_seconds(600, 4, 604800, 1), 600, "first offence: duration");
	CHECK_EQ(offences_ban_seconds(600, 4, 604800, 2), 2400, "second: x4");
	CHECK_EQ(offences_ban_seconds(600, 4, 604800, 3), 9600, "third: x16");
	CHECK_EQ(offences_ban_seconds(600, 4, 604800, 9), 604800, "capped at max");
	CHECK_EQ(offences_ban_seconds(600, 4, 604800, 4000000000u), 604800, "huge offence count still capped, quickly");
	CHECK_EQ(offences_ban_seconds(2, 1.5, 100, 2), 3, "fractional factor");
	CHECK_EQ(offences_ban_seconds(600, 1, 604800, 50), 600, "factor 1 never escalates");

	struct offences *o = NULL;
	offences_new(&o, 3, key);
	struct nfs_addr a, b6, c, d;
	nfs_addr_parse("198.51.100.2", false, &a);
	nfs_addr_parse("2001:db8:1::/64", false, &b6);
	nfs_addr_parse("198.51.100.3", false, &c);
	nfs_addr_parse("198.51.100.4", false, &d);
	CHECK_EQ(offences_count(o, &a, 1000, 86400), 0, "unknown address has no offences");
	offences_record(o, &a, 1, 1000);
	offences_record(o, &b6, 2, 1100);
	CHECK_EQ(offences_count(o, &a, 2000, 86400), 1, "remembered");
	CHECK_EQ(offences_count(o, &a, 1000 + 86401, 86400), 0, "forgotten after `forget`");
	offences_record(o, &c, 1, 1200);
	offences_record(o, &d, 1, 1300); /* max 3: the least recently banned (a) goes */
	CHECK(offences_size(o) == 3 && offences_count(o, &a, 1300, 86400) == 0 && offences_count(o, &d, 1300, 86400) == 1,
	      "bounded, oldest forgotten");

	char dir[] = "/tmp/nfsentry-off-XXXXXX", path[64];
	CHECK(mkdtemp(dir) != NULL, "tmpdir");
	snprintf(path, sizeof(path), "%s/offences", dir);
	CHECK(offences_save(o, path) == 0, "save");
	struct offences *o2 = NULL;
	offences_new(&o2, 10, key);
	unsigned bad = 99;
	CHECK(offences_load(o2, path, &bad) == 3 && bad == 0, "load 3");
	CHECK_EQ(offences_count(o2, &b6, 1300, 86400), 2, "IPv6 prefix and count survive");

	/* Damaged lines are skipped, the rest loads. */
	FILE *f = fopen(path, "a");
	fprintf(f, "garbage line\n198.51.100.9 0 5\n10.0.0.0/8x 1 5\n203.0.113.5 7 1500\n198.51.100.10 1 2 extra\n");
	for (int i = 0; i < 300; i++)
		fputc('x', f);
	fprintf(f, "\n");
	fclose(f);
	struct offences *o3 = NULL;
	offences_new(&o3, 10, key);
	struct nfs_addr e;
	nfs_addr_parse("203.0.113.5", false, &e);
	CHECK(offences_load(o3, path, &bad) == 4 && bad == 5, "4 good lines, 5 bad (%u)", bad);
	CHECK_EQ(offences_count(o3, &e, 1500, 86400), 7, "line after damage loads");
	CHECK(offences_load(o3, "/nonexistent/x", &bad) == 0, "missing file is an empty history");
	CHECK(offences_save(o, "/nonexistent/dir/offences") == -ENOENT, "unwritable path reported");
	unlink(path);
	rmdir(dir);
	offences_free(o);
	offences_free(o2);
	offences_free(o3);
	offences_free(NULL);
	return tap_done();
}
