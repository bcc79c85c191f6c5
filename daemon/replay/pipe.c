/* pipe.c - the single-producer single-consumer byte ring of a pipelined replay (see pipe.h).
 *
 * Positions are byte counts that only grow (64 bits: they do not wrap, and are compared as
 * such); a position's place in the ring is pos & mask. @head is what the producer published,
 * @tail what the consumer released; each side keeps its own unpublished position and a cached
 * copy of the other's, in its own cache line, so a packet costs no shared write. Records start on 32-byte boundaries, so the space left
 * before the end of the ring always holds at least a header: a record that does not fit
 * there is preceded by a PAD record to the end. */
#include "replay/pipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

#define ALIGN 32u
#define CACHELINE 64
/* Publish (producer) or release (consumer) at least this often: a batch of records per atomic
 * store, small enough that the other side never waits long for a batch to be handed over. */
#define BATCH_RECORDS 64u
#define BATCH_BYTES_SHIFT 4 /* ... or a sixteenth of the ring */
/* A full ring wakes its producer once this part of it is free (a quarter). */
#define WAKE_ROOM_SHIFT 2
/* Checks of the head before the consumer sleeps: a few microseconds, about what a batch of
 * reading takes, so a consumer only slightly ahead does not pay a sleep and a wake-up. */
#define SPIN_CHECKS 200
/* How far ahead of the record being popped the consumer asks for the ring's lines (see
 * pf_ahead()): the bytes were written on the reader's core, and without it the engine's first
 * touch of each packet (the decoder, telnet-sig's counting) waited for them. Measured: the
 * replay's wall time fell by about a tenth with 16 KiB, a little more with 32 and no more
 * with 64 (bench/engine.sh's capture, docs/benchmarks.md). */
#define PREFETCH_BYTES (32u << 10)
/* Every sleep is also bounded: the wake-up protocol does not need it, it only keeps a missed
 * wake-up (a bug) from becoming a hang. */
#define SLEEP_MAX_MS 100

enum rec_kind { REC_DATA = 1, REC_PAD, REC_LENT };

struct rec {
	uint32_t kind;     /* enum rec_kind */
	uint32_t caplen;
	uint32_t wirelen;
	int32_t nsec;
	int64_t sec;
	const uint8_t *lent; /* REC_LENT: the producer's buffer, valid until the consumer moves on */
};
_Static_assert(sizeof(struct rec) == ALIGN, "a record header is one alignment unit");

struct replay_pipe {
	uint8_t *buf;
	size_t cap, mask;
	pthread_mutex_t lock;
	pthread_cond_t wake_consumer, wake_producer;

	/* shared: positions and the end, each side writing its own line */
	alignas(CACHELINE) _Atomic uint64_t head; /* published by the producer */
	_Atomic bool consumer_sleeps;             /* seq_cst with head: see consumer_wait() */
	alignas(CACHELINE) _Atomic uint64_t tail; /* released by the consumer */
	_Atomic uint64_t producer_wants;          /* 0, or the tail a sleeping producer waits for:
						     seq_cst with tail, see producer_wait() */
	alignas(CACHELINE) _Atomic bool closed;   /* status and err are set before it */
	_Atomic bool aborted;
	int status;
	char err[1024];

	/* producer's own */
	alignas(CACHELINE) uint64_t wpos, tail_seen, published;
	uint32_t unpublished;
	/* consumer's own */
	alignas(CACHELINE) uint64_t rpos, head_seen, released, fetched;
	uint32_t unreleased;
	bool lent_held; /* the record just popped was lent: release at once on the next pop */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static inline size_t rec_size(uint32_t caplen)
{
	return sizeof(struct rec) + (((size_t)caplen + ALIGN - 1) & ~(size_t)(ALIGN - 1));
}

int replay_pipe_new(struct replay_pipe **out, size_t capacity)
{
	struct replay_pipe *p;

	if (capacity < 4096 || (capacity & (capacity - 1)))
		return -EINVAL;
	p = aligned_alloc(CACHELINE, sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->buf = aligned_alloc(CACHELINE, capacity);
	if (!p->buf) {
		free(p);
		return -ENOMEM;
	}
	/* Touch the ring now: its pages fault in here, once, not in the reader's first lap. */
	memset(p->buf, 0, capacity);
	p->cap = capacity;
	p->mask = capacity - 1;
	pthread_mutex_init(&p->lock, NULL);
	clock_cond_init(&p->wake_consumer);
	clock_cond_init(&p->wake_producer);
	*out = p;
	return 0;
}

void replay_pipe_free(struct replay_pipe *p)
{
	if (!p)
		return;
	pthread_cond_destroy(&p->wake_consumer);
	pthread_cond_destroy(&p->wake_producer);
	pthread_mutex_destroy(&p->lock);
	free(p->buf);
	free(p);
}

static void pipe_sleep(struct replay_pipe *p, pthread_cond_t *cv)
{
	struct timespec until = clock_mono_after(SLEEP_MAX_MS);

	pthread_cond_timedwait(cv, &p->lock, &until);
}

/* --- producer --- */

static void producer_publish(struct replay_pipe *p)
{
	p->unpublished = 0;
	p->published = p->wpos;
	atomic_store(&p->head, p->wpos); /* seq_cst: before the load of consumer_sleeps */
	if (atomic_load(&p->consumer_sleeps)) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_signal(&p->wake_consumer);
		pthread_mutex_unlock(&p->lock);
	}
}

/* Sleeps until the consumer released up to @want (or aborted). Returns 0 or -ECANCELED. */
static int producer_wait(struct replay_pipe *p, uint64_t want)
{
	/* The consumer may be waiting for what is not published yet. */
	if (p->published != p->wpos)
		producer_publish(p);
	pthread_mutex_lock(&p->lock);
	/* seq_cst store, then load of tail; the consumer stores tail, then loads producer_wants:
	 * one of the two sees the other, so either this does not sleep or it is signalled (under
	 * the lock, so not between the check and the wait). */
	atomic_store(&p->producer_wants, want);
	while (!atomic_load(&p->aborted) && atomic_load(&p->tail) < want)
		pipe_sleep(p, &p->wake_producer);
	atomic_store(&p->producer_wants, 0);
	pthread_mutex_unlock(&p->lock);
	p->tail_seen = atomic_load_explicit(&p->tail, memory_order_acquire);
	return atomic_load(&p->aborted) ? -ECANCELED : 0;
}

/* Makes @need bytes from wpos free. Returns 0, or -ECANCELED. */
static int producer_room(struct replay_pipe *p, size_t need)
{
	if (p->wpos + need - p->tail_seen <= p->cap)
		return 0;
	p->tail_seen = atomic_load_explicit(&p->tail, memory_order_acquire);
	if (p->wpos + need - p->tail_seen <= p->cap)
		return 0;
	/* Full: sleep until a good part of the ring is free, not just this record's room, so the
	 * two sides meet once per many packets. Without spinning: that takes a while. */
	size_t want = need > p->cap >> WAKE_ROOM_SHIFT ? need : p->cap >> WAKE_ROOM_SHIFT;
	return producer_wait(p, p->wpos + want - p->cap);
}

int replay_pipe_push(struct replay_pipe *p, const struct pcapsrc_packet *pk)
{
	bool lend = rec_size(pk->caplen) > p->cap / 2;
	size_t size = lend ? sizeof(struct rec) : rec_size(pk->caplen);
	size_t room = p->cap - (p->wpos & p->mask); /* to the end of the ring: a multiple of ALIGN */
	size_t pad = size > room ? room : 0;
	int r;

	if (atomic_load_explicit(&p->aborted, memory_order_relaxed))
		return -ECANCELED;
	r = producer_room(p, pad + size);
	if (r < 0)
		return r;
	if (pad) {
		((struct rec *)(p->buf + (p->wpos & p->mask)))->kind = REC_PAD;
		p->wpos += pad;
	}
	struct rec *h = (struct rec *)(p->buf + (p->wpos & p->mask));
	*h = (struct rec){ .kind = lend ? REC_LENT : REC_DATA, .caplen = pk->caplen, .wirelen = pk->wirelen,
			   .nsec = (int32_t)pk->ts.tv_nsec, .sec = (int64_t)pk->ts.tv_sec,
			   .lent = lend ? pk->data : NULL };
	if (!lend && pk->caplen)
		memcpy(h + 1, pk->data, pk->caplen);
	p->wpos += size;
	/* A lent record is the producer's buffer: wait until the consumer moved past it (it
	 * releases a lent record on its next pop) before the buffer is reused. */
	if (lend)
		return producer_wait(p, p->wpos);
	if (++p->unpublished >= BATCH_RECORDS || p->wpos - p->published >= p->cap >> BATCH_BYTES_SHIFT)
		producer_publish(p);
	return 0;
}

void replay_pipe_close(struct replay_pipe *p, int status, const char *err)
{
	p->status = status;
	snprintf(p->err, sizeof(p->err), "%s", err && status < 0 ? err : "");
	/* closed after status and err, and before head, which the consumer reads after closed:
	 * a consumer that sees closed sees the final head. */
	atomic_store(&p->closed, true);
	producer_publish(p);
	/* A consumer that saw the old head and closed unset may be about to sleep: under the
	 * lock it either has not checked yet (and will see closed) or sleeps (and is woken). */
	pthread_mutex_lock(&p->lock);
	pthread_cond_signal(&p->wake_consumer);
	pthread_mutex_unlock(&p->lock);
}

/* --- consumer --- */

static void consumer_release(struct replay_pipe *p)
{
	p->unreleased = 0;
	p->released = p->rpos;
	atomic_store(&p->tail, p->rpos); /* seq_cst: before the load of producer_wants */
	uint64_t want = atomic_load(&p->producer_wants);
	if (want && p->rpos >= want) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_signal(&p->wake_producer);
		pthread_mutex_unlock(&p->lock);
	}
}

static bool consumer_ready(struct replay_pipe *p)
{
	return atomic_load(&p->aborted) || atomic_load(&p->closed) || atomic_load(&p->head) != p->rpos;
}

/* Waits until head moves, the producer closes or someone aborts: a short spin (a batch is
 * usually on its way), then sleeps. */
static void consumer_wait(struct replay_pipe *p)
{
	for (int i = 0; i < SPIN_CHECKS; i++) {
		if (consumer_ready(p))
			return;
		cpu_relax();
	}
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->consumer_sleeps, true); /* seq_cst, then the loads of consumer_ready() */
	while (!consumer_ready(p))
		pipe_sleep(p, &p->wake_consumer);
	atomic_store(&p->consumer_sleeps, false);
	pthread_mutex_unlock(&p->lock);
}

/* The bytes were written on the other core: ask for the next records' lines now, a line at a
 * time as the consumer moves on, so they are on their way while the engine works on this one.
 * Only what was published: the producer may be writing past head_seen. */
static inline void pf_ahead(struct replay_pipe *p)
{
	uint64_t end = p->rpos + PREFETCH_BYTES;

	if (end > p->head_seen)
		end = p->head_seen;
	if (p->fetched < p->rpos)
		p->fetched = p->rpos & ~(uint64_t)(CACHELINE - 1);
	for (; p->fetched < end; p->fetched += CACHELINE)
		__builtin_prefetch(p->buf + (p->fetched & p->mask));
}

int replay_pipe_pop(struct replay_pipe *p, struct pcapsrc_packet *out, char *err, size_t errlen)
{
	if (atomic_load_explicit(&p->aborted, memory_order_relaxed))
		return -ECANCELED;
	/* The lent record popped last time is done (this is the caller's next call): the producer
	 * waits for it. */
	if (p->lent_held) {
		p->lent_held = false;
		consumer_release(p);
	}
	for (;;) {
		if (p->rpos == p->head_seen) {
			p->head_seen = atomic_load_explicit(&p->head, memory_order_acquire);
			if (p->rpos == p->head_seen) {
				/* Empty: what was read is free (the record popped last is done too). */
				if (p->rpos != p->released)
					consumer_release(p);
				consumer_wait(p);
				bool closed = atomic_load(&p->closed); /* before head: see replay_pipe_close() */
				p->head_seen = atomic_load_explicit(&p->head, memory_order_acquire);
				if (p->rpos == p->head_seen) {
					if (atomic_load(&p->aborted))
						return -ECANCELED;
					if (!closed)
						continue;
					if (p->status < 0 && err && errlen)
						snprintf(err, errlen, "%s", p->err);
					return p->status < 0 ? p->status : 0;
				}
			}
		}
		struct rec *h = (struct rec *)(p->buf + (p->rpos & p->mask));
		if (h->kind == REC_PAD) {
			p->rpos += p->cap - (p->rpos & p->mask);
			continue;
		}
		*out = (struct pcapsrc_packet){ .data = h->kind == REC_LENT ? h->lent : (const uint8_t *)(h + 1),
						.caplen = h->caplen, .wirelen = h->wirelen,
						.ts = { .tv_sec = (time_t)h->sec, .tv_nsec = h->nsec } };
		if (h->kind == REC_LENT) {
			p->rpos += sizeof(struct rec);
			p->lent_held = true;
			return 1;
		}
		pf_ahead(p);
		/* The records before this one are done: release them in batches. This one stays
		 * until the next call. */
		if (++p->unreleased >= BATCH_RECORDS || p->rpos - p->released >= p->cap >> BATCH_BYTES_SHIFT)
			consumer_release(p);
		p->rpos += rec_size(h->caplen);
		return 1;
	}
}

void replay_pipe_abort(struct replay_pipe *p)
{
	atomic_store(&p->aborted, true);
	pthread_mutex_lock(&p->lock);
	pthread_cond_signal(&p->wake_producer);
	pthread_cond_signal(&p->wake_consumer);
	pthread_mutex_unlock(&p->lock);
}
