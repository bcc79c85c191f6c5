/* test-cs-pending.c - the pending queue and the published memory (crowdsec/pending.h,
 * published.h): bounded, saved and loaded back whole, a damaged file read as far as it goes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pending.h"
#include "published.h"
#include "tap.h"

static struct cs_ban ban(const char *addr, int64_t until)
{
	struct cs_ban b = { .detector = "scan", .origin = "nfsentry", .at = until - 600, .until = until, .events = 11 };
	nfs_addr_parse(addr, false, &b.addr);
	return b;
}

int main(void)
{
	char dir[] = "/tmp/test-cs-pending.XXXXXX", path[128], path2[128];
	struct pending p, q;
	size_t bad;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/pending.jsonl", dir);
	snprintf(path2, sizeof(path2), "%s/published.txt", dir);

	CHECK_EQ(pending_init(&p, 0), -EINVAL, "a queue of 0 is refused");
	CHECK_EQ(pending_init(&p, 3), 0, "a queue of 3");
	struct cs_ban b1 = ban("192.0.2.1", 1000), b2 = ban("2001:db8::/64", 2000), b3 = ban("192.0.2.3", 3000),
		      b4 = ban("192.0.2.4", 4000);
	snprintf(b2.token, sizeof(b2.token), "abcdef");
	CHECK_EQ(pending_push(&p, &b1), 0, "push");
	CHECK_EQ(pending_push(&p, &b2), 0, "push");
	CHECK_EQ(pending_push(&p, &b3), 0, "push");
	CHECK_EQ(pending_push(&p, &b4), 1, "a fourth into 3: the oldest gives way");
	CHECK_EQ(p.n, 3, "3 held");
	CHECK_EQ(p.dropped, 1, "1 dropped");
	CHECK_EQ(pending_at(&p, 0)->until, 2000, "the oldest is now the second");
	CHECK(pending_find(&p, &b1.addr) == NULL, "the dropped one is gone");
	CHECK(pending_find(&p, &b4.addr) == pending_at(&p, 2), "found by address");
	CHECK_EQ(pending_save(&p, path), 0, "saved");
	CHECK(!p.dirty, "clean after the save");

	CHECK_EQ(pending_init(&q, 10), 0, "another queue");
	CHECK_EQ(pending_load(&q, path, &bad), 0, "loaded");
	CHECK_EQ(bad, 0, "no bad line");
	CHECK_EQ(q.n, 3, "3 back");
	CHECK(q.n == 3 && !memcmp(&pending_at(&q, 0)->addr, &b2.addr, sizeof(b2.addr)) &&
	      !strcmp(pending_at(&q, 0)->token, "abcdef") && pending_at(&q, 0)->events == 11 &&
	      pending_at(&q, 0)->at == 1400 && !strcmp(pending_at(&q, 0)->detector, "scan") &&
	      !strcmp(pending_at(&q, 0)->origin, "nfsentry"), "the first one back as it was, token and all");
	CHECK(q.n == 3 && pending_at(&q, 2)->until == 4000, "in order");
	pending_pop(&q, 2);
	CHECK_EQ(q.n, 1, "two popped");
	pending_pop(&q, 5);
	CHECK_EQ(q.n, 0, "popping more than held empties it");
	pending_deinit(&q);

	/* A damaged file: a cut line, garbage, a bad address, an oversized field: the good ones stay. */
	FILE *f = fopen(path, "ae");
	fputs("{\"address\":\"192.0.2.9\",\"detector\":\"scan\"\nnot json\n"
	      "{\"address\":\"999.0.2.1\",\"detector\":\"scan\",\"origin\":\"nfsentry\",\"at\":1,\"until\":2,\"events\":1,\"token\":\"\"}\n"
	      "{\"address\":\"192.0.2.10\",\"detector\":\"scan\",\"origin\":\"nfsentry\",\"at\":1,\"until\":2,\"events\":-1,\"token\":\"\"}\n"
	      "{\"address\":\"192.0.2.11\",\"detector\":\"scan\",\"origin\":\"nfsentry\",\"at\":1,\"until\":2,\"events\":1,\"token\":\""
	      "0123456789012345678901234567890123456789012345678901234567890123456789\"}\n", f);
	fclose(f);
	CHECK_EQ(pending_init(&q, 10), 0, "another queue");
	CHECK_EQ(pending_load(&q, path, &bad), 0, "a damaged file loads");
	CHECK_EQ(q.n, 3, "the 3 good lines");
	CHECK_EQ(bad, 5, "5 bad lines counted");
	pending_deinit(&q);
	CHECK_EQ(pending_init(&q, 2), 0, "a smaller queue");
	CHECK_EQ(pending_load(&q, path, &bad), 0, "loads into a smaller queue");
	CHECK_EQ(q.n, 2, "bounded by the new queue_max");
	pending_deinit(&q);
	unlink(path);
	CHECK_EQ(pending_init(&q, 2), 0, "a queue");
	CHECK_EQ(pending_load(&q, path, &bad), 0, "a missing file is an empty queue");
	CHECK_EQ(q.n, 0, "empty");
	pending_deinit(&q);
	pending_deinit(&p);

	/* The published memory. */
	struct published m, m2;
	CHECK_EQ(published_init(&m, 3), 0, "a memory of 3");
	published_add(&m, &b1.addr, 1000);
	published_add(&m, &b2.addr, 2000);
	CHECK(published_has(&m, &b1.addr, 1002, 3), "found within the slack");
	CHECK(!published_has(&m, &b1.addr, 1010, 3), "a later end is another ban: not published");
	CHECK(!published_has(&m, &b3.addr, 3000, 3), "another address");
	published_add(&m, &b3.addr, 3000);
	published_add(&m, &b4.addr, 4000);
	CHECK(!published_has(&m, &b1.addr, 1000, 3), "bounded: the oldest forgotten");
	CHECK_EQ(published_save(&m, path2), 0, "saved");
	CHECK_EQ(published_init(&m2, 3), 0, "another");
	CHECK_EQ(published_load(&m2, path2), 0, "loaded");
	CHECK(m2.n == 3 && published_has(&m2, &b2.addr, 2000, 0) && published_has(&m2, &b4.addr, 4000, 0), "back whole");
	published_expire(&m2, 2500);
	CHECK(m2.n == 2 && !published_has(&m2, &b2.addr, 2000, 0) && published_has(&m2, &b3.addr, 3000, 0),
	      "expired ones forgotten, the rest kept");
	published_deinit(&m);
	published_deinit(&m2);

	/* Many: the ring overwrites its oldest and their hash chains stay right (found is what
	 * is held, nothing else), through an expiry that moves every entry. */
	CHECK_EQ(published_init(&m, 40000), 0, "a memory of 40000");
	for (int i = 0; i < 50000; i++) {
		struct nfs_addr a = { .family = AF_INET, .plen = 32, .a = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
		published_add(&m, &a, 100000 + i);
	}
	int wrong = 0;
	for (int i = 0; i < 50000; i++) {
		struct nfs_addr a = { .family = AF_INET, .plen = 32, .a = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
		wrong += published_has(&m, &a, 100000 + i, 0) != (i >= 10000);
	}
	CHECK_EQ(wrong, 0, "50000 into 40000: the 40000 newest found, the 10000 oldest not");
	published_expire(&m, 130000);
	for (int i = 0; i < 50000; i++) {
		struct nfs_addr a = { .family = AF_INET, .plen = 32, .a = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
		wrong += published_has(&m, &a, 100000 + i, 0) != (i >= 30000);
	}
	CHECK_EQ(wrong, 0, "after an expiry, exactly the unexpired found");
	for (int i = 0; i < 5000; i++) {
		struct nfs_addr a = { .family = AF_INET6, .plen = 64, .a = { 0x20, 1, (uint8_t)(i >> 8), (uint8_t)i } };
		published_add(&m, &a, 200000);
	}
	struct nfs_addr probe = { .family = AF_INET, .plen = 32, .a = { 10, 0, 0x75, 0x30 } }; /* i = 30000 */
	CHECK(published_has(&m, &probe, 130000, 0) && m.n == 25000, "adding after the expiry keeps the rest");
	published_deinit(&m);
	unlink(path2);
	rmdir(dir);
	return tap_done();
}
