/* test-feed.c - the ban feed behind the control socket's `watch` (ban/feed.h): sequence numbers
 * from 1, events copied whole and in order, a reader that fell behind told how many it lost
 * (never handed an overwritten slot), a reader at the present handed nothing, a number from the
 * future brought back to the present, the eventfd readable after a put and empty after a drain. */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "ban/feed.h"
#include "tap.h"

static struct ban_feed_event ev(uint8_t last)
{
	struct ban_feed_event e = { .kind = BAN_FEED_BAN, .origin = BAN_ORIGIN_DETECTOR, .seconds = 100u + last };
	e.addr = (struct nfs_addr){ .family = AF_INET, .plen = 32, .a = { 192, 0, 2, last } };
	return e;
}

static bool readable(struct ban_feed *f)
{
	struct pollfd p = { .fd = ban_feed_fd(f), .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

int main(void)
{
	struct ban_feed *f = NULL;
	struct ban_feed_event out[8], e;
	uint64_t next, lost = 99;
	size_t n;

	CHECK_EQ(ban_feed_new(&f, 0), -EINVAL, "a ring of 0 events is refused");
	CHECK_EQ(ban_feed_new(&f, 4), 0, "a ring of 4 events");
	CHECK_EQ(ban_feed_next_seq(f), 1, "a fresh feed's next sequence number is 1");
	CHECK(!readable(f), "nothing put: the eventfd is not readable");

	next = ban_feed_next_seq(f);
	CHECK_EQ(ban_feed_read(f, &next, out, 8, &lost), 0, "a reader at the present gets nothing");
	CHECK_EQ(lost, 0, "and lost nothing");

	e = ev(1);
	ban_feed_put(f, &e);
	CHECK_EQ(e.seq, 1, "the first put gets sequence 1, written back");
	CHECK(readable(f), "a put makes the eventfd readable");
	ban_feed_drain(f);
	CHECK(!readable(f), "a drain empties it");
	e = ev(2);
	ban_feed_put(f, &e);
	n = ban_feed_read(f, &next, out, 8, &lost);
	CHECK_EQ(n, 2, "the reader gets both events");
	CHECK_EQ(out[0].seq, 1, "oldest first");
	CHECK_EQ(out[1].addr.a[3], 2, "copied whole: the second event's address");
	CHECK_EQ(out[1].seconds, 102, "and its length");
	CHECK_EQ(next, 3, "the reader's next number moved past them");

	for (uint8_t i = 3; i <= 9; i++) {
		e = ev(i);
		ban_feed_put(f, &e);
	}
	/* events 1..9 put, the ring holds 6..9: a reader at 3 lost 3, 4 and 5 */
	n = ban_feed_read(f, &next, out, 2, &lost);
	CHECK_EQ(lost, 3, "a reader behind by more than the ring is told how many it lost");
	CHECK_EQ(n, 2, "a read is bounded by its max");
	CHECK_EQ(out[0].seq, 6, "and starts at the oldest event held, never at an overwritten slot");
	CHECK_EQ(out[0].addr.a[3], 6, "whose content is that event's");
	n = ban_feed_read(f, &next, out, 8, &lost);
	CHECK_EQ(n, 2, "the rest: events 8 and 9");
	CHECK_EQ(lost, 0, "nothing lost this time");
	CHECK_EQ(out[1].seq, 9, "up to the newest");

	next = 1000;
	CHECK_EQ(ban_feed_read(f, &next, out, 8, &lost), 0, "a number from the future reads nothing");
	CHECK_EQ(next, 10, "and is brought back to the present");
	e = ev(10);
	ban_feed_put(f, &e);
	CHECK_EQ(ban_feed_read(f, &next, out, 8, &lost), 1, "so the next put reaches that reader");

	ban_feed_free(f);
	ban_feed_free(NULL);
	return tap_done();
}
