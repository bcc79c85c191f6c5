/* worker.h - one thread per nfnetlink queue: receive, verdict, hand to the engine. Each
 * worker owns its netlink socket; they share only the engine (tracker and ban queue). */
#pragma once

#include <stdint.h>

#include "core/config.h"
#include "engine/engine.h"

/* Upper bounds (microseconds) of the verdict latency histogram's buckets; the last is +Inf. */
#define WORKER_LATENCY_BUCKETS 10
extern const uint64_t worker_latency_le_us[WORKER_LATENCY_BUCKETS - 1];

struct worker_stats {
	uint64_t packets, accepted, dropped, malformed, no_l4, ban_requests, banq_full, tracker_errors, events;
	uint64_t enobufs, id_gaps, verdict_errors;
	/* From reading a packet's datagram to sending its verdict: counts per bucket (not
	 * cumulative), their sum and count. */
	uint64_t verdict_bucket[WORKER_LATENCY_BUCKETS], verdict_sum_us, verdict_count;
};

struct worker;

/* Threads: the daemon's main thread opens, starts, stops and frees the workers (the one that
 * owns them); worker_queue(), worker_get_stats() and worker_heartbeat() may be called from any
 * thread at any time between worker_open() and worker_free() (the counters are atomics). */

/* Binds queue @queue with the [queue] settings of @c; its packets are @origin's (the closed-
 * port queues or the inspection queues). Returns 0 and @out, or -errno: -EBUSY when another
 * process holds the queue. Does not start the thread. Borrows @e (shared by every worker: it
 * must outlive them); reads @c only here. */
int worker_open(struct worker **out, struct engine *e, uint16_t queue, enum engine_origin origin,
		const struct nfs_config *c);
int worker_start(struct worker *w);
/* Stops and joins the thread; the socket stays bound until worker_free(). */
void worker_stop(struct worker *w);
/* Accepts NULL. Closing the socket unbinds the queue: the kernel drops what was pending. */
void worker_free(struct worker *w);
uint16_t worker_queue(const struct worker *w);
void worker_get_stats(struct worker *w, struct worker_stats *out);
/* CLOCK_MONOTONIC seconds of the thread's last loop turn: a stuck worker stops the watchdog. */
int64_t worker_heartbeat(struct worker *w);
