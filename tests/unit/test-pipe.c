/* test-pipe.c - the replay's ring (replay/pipe.h): packets come out whole and in order through
 * wrap-arounds, big and lent records, either side faster; the end, a reader's error and an
 * abort reach the other side; nothing waits for ever (meson's timeout would fail the test). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay/pipe.h"
#include "tap.h"

#define BIG 300000u /* over half of a 256 KiB ring: lent, never copied */

/* The bytes of packet @i: a pattern from its number, so a record cut, overwritten or out of
 * order is seen. */
static uint8_t byte_of(uint32_t i, uint32_t k)
{
	return (uint8_t)(i * 131u + k * 7u + (k >> 8));
}

/* Packet @i's length: a mix of tiny, ordinary, odd and (every 97th) big ones. */
static uint32_t len_of(uint32_t i, uint32_t big)
{
	static const uint32_t lens[] = { 1, 40, 54, 60, 61, 333, 1500, 1514, 4000, 9000, 31, 32, 33 };

	if (big && i % 97 == 96)
		return big + i % 3;
	return lens[i % (sizeof(lens) / sizeof(lens[0]))];
}

struct side {
	struct replay_pipe *p;
	uint32_t count, big;
	int status;        /* what the producer closes with */
	unsigned slow;     /* spin this many rounds a packet: the slower side */
	int pushed_r;      /* the producer's last push result */
	uint32_t pushed;
	uint8_t *buf;      /* the producer's own buffer, reused for every packet (as libpcap's) */
};

static void busy(unsigned rounds, uint32_t i)
{
	for (volatile unsigned k = 0; k < rounds; k++)
		if ((k & 255) == 255 && i % 5 == 0)
			sched_yield();
}

static void *producer_main(void *arg)
{
	struct side *s = arg;

	for (uint32_t i = 0; i < s->count; i++) {
		uint32_t len = len_of(i, s->big);
		for (uint32_t k = 0; k < len; k++)
			s->buf[k] = byte_of(i, k);
		struct pcapsrc_packet pk = { .data = s->buf, .caplen = len, .wirelen = len + i % 4,
					     .ts = { .tv_sec = 1000 + i, .tv_nsec = (long)i * 1000 } };
		s->pushed_r = replay_pipe_push(s->p, &pk);
		if (s->pushed_r < 0)
			return NULL;
		s->pushed++;
		busy(s->slow, i);
	}
	replay_pipe_close(s->p, s->status, s->status < 0 ? "damaged at record 12" : NULL);
	return NULL;
}

/* Pops everything; returns how many packets were whole and in order, and the final result. */
static uint32_t consume(struct replay_pipe *p, uint32_t big, unsigned slow, int *end, char *err, size_t errlen)
{
	struct pcapsrc_packet pk;
	uint32_t good = 0, i = 0;
	int r;

	while ((r = replay_pipe_pop(p, &pk, err, errlen)) > 0) {
		uint32_t len = len_of(i, big);
		bool ok = pk.caplen == len && pk.wirelen == len + i % 4 && pk.ts.tv_sec == 1000 + (time_t)i &&
			  pk.ts.tv_nsec == (long)i * 1000;
		for (uint32_t k = 0; ok && k < len; k++)
			ok = pk.data[k] == byte_of(i, k);
		good += ok;
		i++;
		busy(slow, i);
	}
	*end = r;
	return good;
}

/* Runs @count packets through a ring of @cap bytes, the producer in a thread. */
static void run(const char *name, size_t cap, uint32_t count, uint32_t big, unsigned pslow, unsigned cslow,
		int status)
{
	struct side s = { .count = count, .big = big, .status = status, .slow = pslow };
	pthread_t th;
	char err[64] = "";
	int end;

	s.buf = malloc(big ? big + 2 : 9000);
	CHECK(s.buf && replay_pipe_new(&s.p, cap) == 0, "%s: ring of %zu bytes", name, cap);
	pthread_create(&th, NULL, producer_main, &s);
	uint32_t good = consume(s.p, big, cslow, &end, err, sizeof(err));
	pthread_join(th, NULL);
	CHECK(good == count, "%s: %u of %u packets whole and in order", name, good, count);
	if (status < 0) {
		CHECK(end == status && !strcmp(err, "damaged at record 12"),
		      "%s: the reader's error after its packets (%d, \"%s\")", name, end, err);
	} else {
		CHECK(end == 0, "%s: the end after the last packet (%d)", name, end);
	}
	/* The end stays the end. */
	struct pcapsrc_packet pk;
	CHECK(replay_pipe_pop(s.p, &pk, err, sizeof(err)) == end, "%s: popping again gives the end again", name);
	replay_pipe_free(s.p);
	free(s.buf);
}

/* One thread: what was pushed before the close comes out, then the end, with no second thread
 * to wake anyone (a publish that waited for a sleeper would hang here). */
static void one_thread(void)
{
	struct replay_pipe *p;
	struct pcapsrc_packet pk;
	uint8_t buf[201];
	char err[16];
	uint32_t good = 0, pushed = 0;

	CHECK(replay_pipe_new(&p, 4096) == 0, "one thread: ring");
	/* 32-byte headers and payloads rounded up to 32: 0 to 40 bytes, 20 records, under 4 KiB. */
	for (uint32_t i = 0; i < 20; i++) {
		for (uint32_t k = 0; k < i * 2; k++)
			buf[k] = byte_of(i, k);
		pk = (struct pcapsrc_packet){ .data = buf, .caplen = i * 2, .wirelen = i * 3 };
		pushed += replay_pipe_push(p, &pk) == 0;
	}
	replay_pipe_close(p, 0, NULL);
	for (uint32_t i = 0; replay_pipe_pop(p, &pk, err, sizeof(err)) == 1; i++) {
		bool ok = pk.caplen == i * 2 && pk.wirelen == i * 3;
		for (uint32_t k = 0; ok && k < pk.caplen; k++)
			ok = pk.data[k] == byte_of(i, k);
		good += ok;
	}
	CHECK(pushed == 20 && good == 20, "one thread: %u pushed, %u popped whole and in order", pushed, good);
	CHECK(replay_pipe_pop(p, &pk, err, sizeof(err)) == 0, "one thread: then the end");
	replay_pipe_free(p);
}

struct abort_case {
	struct replay_pipe *p;
	int r;
	uint32_t pushed;
};

static void *fill_main(void *arg)
{
	struct abort_case *a = arg;
	uint8_t b[1000] = { 0 };
	struct pcapsrc_packet pk = { .data = b, .caplen = sizeof(b), .wirelen = sizeof(b) };

	/* 4 KiB hold three of these: the fourth push waits until the abort. */
	while ((a->r = replay_pipe_push(a->p, &pk)) == 0)
		a->pushed++;
	return NULL;
}

int main(void)
{
	one_thread();

	run("1 MiB ring, even pace", 1u << 20, 200000, 0, 0, 0, 0);
	run("4 KiB ring: wrap-around at every few records", 4096, 100000, 0, 0, 0, 0);
	run("producer slower", 8192, 20000, 0, 2000, 0, 0);
	run("consumer slower", 8192, 20000, 0, 0, 2000, 0);
	run("big records: 262,144 bytes copied in a 1 MiB ring", 1u << 20, 400, 262144, 0, 0, 0);
	run("big records lent (over half of a 256 KiB ring)", 1u << 18, 1000, BIG, 0, 0, 0);
	run("lent records, consumer slower", 1u << 18, 500, BIG, 0, 3000, 0);
	run("the reader's error", 4096, 5000, 0, 0, 0, -EIO);
	run("the reader's error, nothing before it", 4096, 0, 0, 0, 0, -EIO);
	run("an empty file", 4096, 0, 0, 0, 0, 0);

	/* The consumer gives up while the producer waits for room: its push returns -ECANCELED. */
	struct abort_case a = { 0 };
	pthread_t th;
	CHECK(replay_pipe_new(&a.p, 4096) == 0, "abort: ring");
	pthread_create(&th, NULL, fill_main, &a);
	struct pcapsrc_packet pk;
	char err[16];
	CHECK(replay_pipe_pop(a.p, &pk, err, sizeof(err)) == 1 && pk.caplen == 1000, "abort: one packet popped");
	replay_pipe_abort(a.p);
	pthread_join(th, NULL);
	CHECK(a.r == -ECANCELED && a.pushed >= 1, "abort: the producer's push returns -ECANCELED (%d after %u)",
	      a.r, a.pushed);
	CHECK(a.pushed == 3, "abort: three 1,000-byte packets fit a 4 KiB ring (%u)", a.pushed);
	CHECK(replay_pipe_pop(a.p, &pk, err, sizeof(err)) == -ECANCELED,
	      "abort: popping after an abort gives -ECANCELED, not the packets left");
	replay_pipe_free(a.p);

	size_t bad_sizes[] = { 0, 1000, 4095, 4097, 3u << 12 };
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		struct replay_pipe *p = NULL;
		CHECK(replay_pipe_new(&p, bad_sizes[i]) == -EINVAL && !p, "a ring of %zu bytes is refused",
		      bad_sizes[i]);
	}
	return tap_done();
}
