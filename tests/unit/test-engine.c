/* test-engine.c - the engine's side of the ban queue: a scanner whose ban request did not fit
 * in the full queue is asked for again at its next probe, without a second scan event, and the
 * hold applies once the request is in. (A 20,000-source storm lost bans this way:
 * docs/benchmarks.md, "Ban path".) */
#include <netinet/in.h>

#include "ban/banq.h"
#include "core/log.h"
#include "decide/engine.h"
#include "tap.h"
#include "tcp4.h"

static const uint8_t key[16] = "engineengineengi";

static void probe(struct engine *e, struct engine_counters *c, unsigned src, uint16_t dport)
{
	uint8_t pkt[64];
	struct engine_meta m = { .origin = ORIGIN_CLOSED_PORT, .local = LOCAL_DST };
	clock_gettime(CLOCK_REALTIME, &m.when);
	size_t len = tcp4(pkt, src, 40000, dport, 0x02, NULL);
	engine_packet(e, pkt, len, len, &m, c);
}

int main(void)
{
	struct tracker *t = tracker_new(1024, key);
	struct flowtab *flows = flowtab_new(1024, key);
	struct nfs_config *cfg = config_new_default();
	struct banq *q = banq_new(1); /* room for one request */
	struct event_sink *events = NULL;
	struct engine e;
	struct engine_counters c = { 0 };
	struct ban_request req[4];

	log_set_level(LOG_LVL_ERR);
	CHECK(t && flows && cfg && q && event_sink_open(&events, "/dev/null", NULL) == 0 &&
	      engine_init(&e, t, flows, q, events, cfg) == 0, "engine, tables, a ban queue of one");
	if (tap_failed)
		return tap_done();
	unsigned threshold = (unsigned)cfg->threshold;

	for (unsigned p = 1; p <= threshold; p++)
		probe(&e, &c, 1, (uint16_t)p);
	CHECK_EQ(c.ban_requests, 1, "source 1 crosses: its request fills the queue");
	for (unsigned p = 1; p <= threshold; p++)
		probe(&e, &c, 2, (uint16_t)p);
	CHECK(c.ban_requests == 2 && c.banq_full == 1, "source 2 crosses too: its request is lost and counted");
	CHECK_EQ(e.detections[DET_SCAN], 2, "one scan event each");

	probe(&e, &c, 2, (uint16_t)(threshold + 1));
	CHECK(c.ban_requests == 3 && c.banq_full == 2, "source 2's next probe asks again, the queue still full");
	CHECK_EQ(e.detections[DET_SCAN], 2, "without another scan event");

	CHECK(banq_pop(q, req, 4, 0) == 1 && req[0].addr.a[2] == 1, "the writer takes source 1's request");
	probe(&e, &c, 2, (uint16_t)(threshold + 2));
	CHECK(c.ban_requests == 4 && c.banq_full == 2, "source 2's next probe gets its request in");
	CHECK_EQ(e.detections[DET_SCAN], 2, "still one scan event for source 2");
	probe(&e, &c, 2, (uint16_t)(threshold + 3));
	probe(&e, &c, 1, (uint16_t)(threshold + 1));
	CHECK_EQ(c.ban_requests, 4, "once in, the hold applies again (and to source 1)");
	CHECK(banq_pop(q, req, 4, 0) == 1 && req[0].addr.a[2] == 2 && req[0].det == DET_SCAN,
	      "the queue holds source 2's request, a scan ban");

	engine_deinit(&e);
	event_sink_close(events);
	banq_free(q);
	flowtab_free(flows);
	tracker_free(t);
	config_free(cfg);
	return tap_done();
}
