/* test-engine.c - the engine's side of the ban queue: a scanner whose ban request did not fit
 * in the full queue is asked for again at its next probe, without a second scan event, and the
 * hold applies once the request is in. (A 20,000-source storm lost bans this way:
 * docs/benchmarks.md, "Ban path".) */
#include <netinet/in.h>
#include <stdlib.h>

#include "ban/banq.h"
#include "core/log.h"
#include "engine/engine.h"
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

/* A SYN from 2001:db8:@net::@host to 2001:db8:1::1 port @dport. */
static void probe6(struct engine *e, struct engine_counters *c, uint8_t net, uint8_t host, uint16_t dport)
{
	uint8_t b[60] = { 0x60 };
	struct engine_meta m = { .origin = ORIGIN_CLOSED_PORT, .local = LOCAL_DST };
	clock_gettime(CLOCK_REALTIME, &m.when);
	b[5] = 20, b[6] = IPPROTO_TCP, b[7] = 64;
	b[8] = 0x20, b[9] = 0x01, b[10] = 0x0d, b[11] = 0xb8, b[13] = net, b[23] = host;
	b[24] = 0x20, b[25] = 0x01, b[26] = 0x0d, b[27] = 0xb8, b[29] = 1, b[39] = 1;
	b[40] = 40000 >> 8, b[41] = 40000 & 0xff, b[42] = (uint8_t)(dport >> 8), b[43] = (uint8_t)dport;
	b[52] = 5 << 4, b[53] = 0x02;
	engine_packet(e, b, sizeof(b), sizeof(b), &m, c);
}

int main(void)
{
	struct tracker *t = NULL;
	tracker_new(&t, 1024, key);
	struct flowtab *flows = NULL;
	flowtab_new(&flows, 1024, key);
	struct nfs_config *cfg = NULL;
	config_new_default(&cfg);
	struct banq *q = NULL;
	banq_new(&q, 1); /* room for one request */
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

	/* Issue 10, item 3: a /64 that holds a protected address is tracked address by address. */
	struct netlist *prot = calloc(1, sizeof(*prot));
	char bad[64];
	CHECK(prot && netlist_add_csv(prot, "2001:db8:1::1", bad, sizeof(bad)) == 0 &&
	      engine_set_spared(&e, &cfg->allow, prot) == 0, "protected: 2001:db8:1::1");
	uint64_t before = c.ban_requests;
	for (unsigned p = 1; p <= threshold; p++)
		probe6(&e, &c, 1, 0xa, (uint16_t)p);
	CHECK(c.ban_requests == before + 1 && banq_pop(q, req, 4, 0) == 1 && req[0].addr.plen == 128 &&
	      req[0].addr.a[15] == 0xa, "2001:db8:1::a crosses; its request is for the /128");
	for (unsigned p = 1; p < threshold; p++)
		probe6(&e, &c, 1, 0xb, (uint16_t)p);
	CHECK_EQ(c.ban_requests, before + 1, "2001:db8:1::b's ports count apart from ::a's");
	probe6(&e, &c, 1, 0xb, (uint16_t)threshold);
	CHECK(c.ban_requests == before + 2 && banq_pop(q, req, 4, 0) == 1 && req[0].addr.a[15] == 0xb,
	      "2001:db8:1::b crosses at its own threshold, within ::a's hold");
	/* Another /64 is still one source: rotating addresses does not escape. */
	for (unsigned p = 1; p <= threshold; p++)
		probe6(&e, &c, 5, (uint8_t)p, (uint16_t)p);
	CHECK(c.ban_requests == before + 3 && banq_pop(q, req, 4, 0) == 1 && req[0].addr.plen == 64,
	      "ten addresses of 2001:db8:5::/64 cross as one /64");
	free(prot);

	engine_deinit(&e);
	event_sink_close(events);
	banq_free(q);
	flowtab_free(flows);
	tracker_free(t);
	config_free(cfg);
	return tap_done();
}
