/* engine.h - one packet's way through nfsentry: decode, track, decide the verdict, and hand
 * a ban request to the writer when a source crosses the threshold. Shared by all workers. */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ban/banq.h"
#include "core/config.h"
#include "detect/tracker.h"

/* Settings the packet path reads on every packet; a reload stores new values. */
struct engine_settings {
	_Atomic uint32_t threshold, window, hold, ipv6_prefix;
	_Atomic bool accept; /* verdict for closed-port attempts */
};

struct engine {
	struct tracker *tracker; /* not owned */
	struct banq *banq;       /* not owned */
	struct engine_settings set;
	struct timespec t0;      /* monotonic origin of tracker time */
};

/* Per-worker counters; the worker increments, anyone may read. */
struct engine_counters {
	_Atomic uint64_t packets, accepted, dropped, malformed, no_l4, ban_requests, banq_full, tracker_errors;
};

enum engine_verdict { ENGINE_DROP = 0, ENGINE_ACCEPT = 1 };

void engine_init(struct engine *e, struct tracker *t, struct banq *q, const struct nfs_config *c);
void engine_configure(struct engine *e, const struct nfs_config *c);

/* Takes a packet the ruleset queued as a closed-port attempt: @len captured bytes of a packet
 * of @wire_len bytes, that arrived at @when (CLOCK_REALTIME; the kernel's skb timestamp if
 * @when_kernel, else our receive time) on @queue. Returns the verdict. */
enum engine_verdict engine_packet(struct engine *e, const uint8_t *data, size_t len, size_t wire_len,
				  const struct timespec *when, bool when_kernel, uint16_t queue,
				  struct engine_counters *c);
