/* engine.c - see engine.h. */
#include "decide/engine.h"

#include <netinet/in.h>
#include <string.h>

#include "core/log.h"
#include "decode/packet.h"

/* After a ban request a source must keep crossing for this long before another request: the
 * ban normally lands within milliseconds, so packets after the hold mean it did not. */
#define ENGINE_HOLD_S 10

void engine_configure(struct engine *e, const struct nfs_config *c)
{
	atomic_store(&e->set.threshold, (uint32_t)c->threshold);
	atomic_store(&e->set.window, (uint32_t)c->window);
	atomic_store(&e->set.hold, c->duration < ENGINE_HOLD_S ? (uint32_t)c->duration : ENGINE_HOLD_S);
	atomic_store(&e->set.ipv6_prefix, (uint32_t)c->ipv6_prefix);
	atomic_store(&e->set.accept, c->verdict_accept);
}

void engine_init(struct engine *e, struct tracker *t, struct banq *q, const struct nfs_config *c)
{
	memset(e, 0, sizeof(*e));
	e->tracker = t;
	e->banq = q;
	clock_gettime(CLOCK_MONOTONIC, &e->t0);
	engine_configure(e, c);
}

static uint32_t engine_now(const struct engine *e)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec - e->t0.tv_sec) + 1;
}

enum engine_verdict engine_packet(struct engine *e, const uint8_t *data, size_t len, size_t wire_len,
				  const struct timespec *when, bool when_kernel, uint16_t queue,
				  struct engine_counters *c)
{
	enum engine_verdict v = atomic_load(&e->set.accept) ? ENGINE_ACCEPT : ENGINE_DROP;
	struct pkt p;
	int r;

	atomic_fetch_add_explicit(&c->packets, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(v == ENGINE_ACCEPT ? &c->accepted : &c->dropped, 1, memory_order_relaxed);
	r = pkt_decode(data, len, wire_len, &p);
	if (r < 0) {
		atomic_fetch_add_explicit(&c->malformed, 1, memory_order_relaxed);
		return v;
	}
	if (r == PKT_NO_L4 || (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP)) {
		atomic_fetch_add_explicit(&c->no_l4, 1, memory_order_relaxed);
		return v;
	}

	struct trk_params tp = {
		.threshold = atomic_load(&e->set.threshold),
		.window = atomic_load(&e->set.window),
		.hold = atomic_load(&e->set.hold),
	};
	struct trk_attempt a = { .proto = p.proto, .port = p.dport, .tcp_flags = p.tcp_flags, .now = engine_now(e) };
	struct nfs_addr key = p.src.family == AF_INET6 ? nfs_addr_prefix(&p.src, atomic_load(&e->set.ipv6_prefix)) : p.src;
	struct ban_request req = { .addr = key, .t_packet = *when, .t_kernel = when_kernel, .queue = queue };

	r = tracker_source_touch(e->tracker, &key, &a, &tp, &req.report);
	if (r < 0) {
		atomic_fetch_add_explicit(&c->tracker_errors, 1, memory_order_relaxed);
		return v;
	}
	if (r == TRK_CROSSED) {
		atomic_fetch_add_explicit(&c->ban_requests, 1, memory_order_relaxed);
		if (banq_push(e->banq, &req) < 0)
			atomic_fetch_add_explicit(&c->banq_full, 1, memory_order_relaxed);
	}
	return v;
}
