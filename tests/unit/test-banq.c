/* test-banq.c - the ban queue between the workers and the ban writer: bounded (a full queue
 * refuses with -ENOSPC and keeps what it holds), first in first out across the ring's wrap,
 * requests copied whole (no merging: two requests for one address stay two), a pop bounded by
 * its @max and its timeout, and banq_close() waking a waiting writer for good while still
 * handing over what was queued. Waits are bounded; nothing is asserted about how long they took. */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "ban/banq.h"
#include "tap.h"

static struct ban_request req(uint8_t last, uint8_t det)
{
	struct ban_request r = { .op = BAN_OP_AUTO, .det = det, .queue = last, .seconds = 1000u + last };
	r.addr = (struct nfs_addr){ .family = AF_INET, .plen = 32, .a = { 192, 0, 2, last } };
	r.host = r.addr;
	return r;
}

static struct banq *waitq;
static atomic_int popped = -1;
static atomic_bool waiting;

/* A writer waiting on an empty queue, far longer than the join below allows. */
static void *waiter(void *arg)
{
	struct ban_request out[4];
	(void)arg;
	atomic_store(&waiting, true);
	atomic_store(&popped, (int)banq_pop(waitq, out, 4, 120000));
	return NULL;
}

int main(void)
{
	struct ban_request out[8];
	struct banq *q = NULL;

	CHECK(banq_new(&q, 4) == 0 && q != NULL, "a queue of 4");
	if (!q)
		return tap_done();

	{
		long long got_ = banq_pop(q, out, 8, 0);
		CHECK_EQ(got_, 0, "empty: a pop with no wait returns nothing");
	}
	{
		long long got_ = banq_pop(q, out, 8, 20);
		CHECK_EQ(got_, 0, "empty: a pop that waits returns nothing at its timeout");
	}

	/* Bounds: four fit, the fifth is refused and changes nothing. */
	for (uint8_t i = 1; i <= 4; i++) {
		struct ban_request r = req(i, 1);
		CHECK(banq_push(q, &r) == 0, "push request %u of 4", i);
	}
	struct ban_request extra = req(5, 1);
	{
		long long got_ = banq_push(q, &extra);
		CHECK_EQ(got_, -ENOSPC, "the fifth is refused: -ENOSPC");
	}

	/* Order and bound of a pop: @max taken, oldest first, each whole. */
	size_t n = banq_pop(q, out, 3, 0);
	CHECK_EQ(n, 3, "a pop takes at most its max");
	CHECK(out[0].addr.a[3] == 1 && out[1].addr.a[3] == 2 && out[2].addr.a[3] == 3, "oldest first: 1, 2, 3 (%u %u %u)",
	      out[0].addr.a[3], out[1].addr.a[3], out[2].addr.a[3]);
	CHECK(out[1].seconds == 1002 && out[1].queue == 2 && out[1].host.a[3] == 2 && out[1].addr.plen == 32,
	      "a request comes out as it went in");

	/* Wrap the ring: 4 is still at its head; 5, 6, 7 go in behind it. */
	for (uint8_t i = 5; i <= 7; i++) {
		struct ban_request r = req(i, 2);
		CHECK(banq_push(q, &r) == 0, "push request %u after the wrap", i);
	}
	extra = req(8, 2);
	{
		long long got_ = banq_push(q, &extra);
		CHECK_EQ(got_, -ENOSPC, "full again after the wrap");
	}
	n = banq_pop(q, out, 8, 0);
	CHECK(n == 4 && out[0].addr.a[3] == 4 && out[1].addr.a[3] == 5 && out[2].addr.a[3] == 6 &&
	      out[3].addr.a[3] == 7 && out[3].det == 2, "across the wrap: 4, 5, 6, 7 in order (%zu)", n);

	/* No merging: the queue is a plain FIFO; the writer coalesces. */
	struct ban_request a = req(9, 1), b = req(9, 3);
	CHECK(banq_push(q, &a) == 0 && banq_push(q, &b) == 0, "two requests for one address");
	n = banq_pop(q, out, 8, 0);
	CHECK(n == 2 && out[0].det == 1 && out[1].det == 3, "both come out, in order (%zu)", n);

	/* Close: a waiting writer wakes up, what was queued is still handed over, then nothing. */
	waitq = q;
	pthread_t t;
	pthread_create(&t, NULL, waiter, NULL);
	/* Let it get into its wait (if it is late, the close is seen on entry: the test passes
	 * without proving the wake-up, it cannot fail wrongly). */
	while (!atomic_load(&waiting))
		usleep(1000);
	usleep(200000);
	banq_close(q);
	/* Bounded: a close that did not wake it would leave it waiting its 120 s. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	int joined = pthread_timedjoin_np(t, NULL, &until);
	CHECK(joined == 0 && atomic_load(&popped) == 0, "close wakes a writer waiting on an empty queue (it returns 0)");
	if (joined != 0)
		return tap_done(); /* the waiter still uses the queue */
	extra = req(10, 1);
	{
		long long got_ = banq_push(q, &extra);
		CHECK_EQ(got_, -ENOSPC, "a closed queue refuses pushes");
	}
	{
		long long got_ = banq_pop(q, out, 8, 10000);
		CHECK_EQ(got_, 0, "a pop on a closed empty queue returns at once with nothing");
	}
	banq_free(q);

	q = NULL;
	(void)banq_new(&q, 4);
	a = req(11, 1);
	CHECK(q && banq_push(q, &a) == 0, "a new queue with one request");
	banq_close(q);
	CHECK(banq_pop(q, out, 8, 10000) == 1 && out[0].addr.a[3] == 11, "closing keeps what was queued for the writer");
	{
		long long got_ = banq_pop(q, out, 8, 10000);
		CHECK_EQ(got_, 0, "then nothing");
	}
	banq_free(q);
	banq_free(NULL);
	return tap_done();
}
