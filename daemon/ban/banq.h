/* banq.h - the hand-off from worker threads to the ban writer: a bounded FIFO of requests.
 * Workers push (never block); the writer pops in bursts, which is what lets it coalesce. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/addr.h"
#include "detect/tracker.h"

struct ban_request {
	struct nfs_addr addr;       /* IPv4 host or IPv6 prefix */
	struct nfs_addr host;       /* the offending address itself (addr narrowed to a host) */
	struct timespec t_packet;   /* when the threshold-crossing packet arrived (CLOCK_REALTIME) */
	bool t_kernel;              /* t_packet is the kernel's skb timestamp, not our receive time */
	struct trk_report report;   /* what the tracker saw, for a scan */
	uint8_t det;                /* enum det: why (scan, root-sig, ...) */
	uint16_t queue;
};

struct banq;

/* Returns NULL on allocation failure. */
struct banq *banq_new(size_t capacity);
void banq_free(struct banq *q);
/* Copies @r in. Returns 0 or -ENOSPC when full (the caller counts it; the source will cross
 * again after its hold time). */
int banq_push(struct banq *q, const struct ban_request *r);
/* Waits up to @timeout_ms for requests and moves up to @max of them to @out. Returns how many
 * (0 on timeout or after banq_close()). */
size_t banq_pop(struct banq *q, struct ban_request *out, size_t max, int timeout_ms);
/* Wakes the writer for good. */
void banq_close(struct banq *q);
uint64_t banq_dropped(struct banq *q);
