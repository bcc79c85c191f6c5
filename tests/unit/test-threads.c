/* test-threads.c - the packet path as the daemon runs it: worker threads through one engine
 * (tracker, connection table, packet rings, policy, flood counter), the evidence thread
 * saving a record of each event, a writer thread taking the ban requests off banq, and a
 * thread reading the tables and reloading the settings as the control socket and SIGHUP do.
 * Every worker scans the same sources, each on its own ports, so they meet in the tracker's
 * shards: each source must cross the threshold exactly once. scripts/sanitize.sh runs it
 * under ThreadSanitizer. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ban/banq.h"
#include "core/log.h"
#include "engine/engine.h"
#include "evidence/saver.h"
#include "tap.h"
#include "tcp4.h"

#define WORKERS 4
#define SOURCES 64
#define PORTS 5 /* per worker and source: 4 x 5 = 20 ports, past the threshold of 10 */

static const uint8_t key[16] = "threadsthreadsth";

static struct engine engine;
static struct nfs_config *cfg;
static struct banq *banq;
static atomic_bool workers_done;
static struct engine_counters counters[WORKERS];

static void *worker(void *arg)
{
	int w = (int)(intptr_t)arg;
	uint8_t pkt[128];

	for (unsigned s = 0; s < SOURCES; s++) {
		for (int p = 0; p < PORTS; p++) {
			struct engine_meta m = { .origin = ORIGIN_CLOSED_PORT, .local = LOCAL_DST, .queue = (uint16_t)w };
			clock_gettime(CLOCK_REALTIME, &m.when);
			size_t len = tcp4(pkt, s, 40000, (uint16_t)(1000 + w * PORTS + p), 0x02, NULL);
			engine_packet(&engine, pkt, len, len, &m, &counters[w]);
		}
		/* A connection of the inspection queue: this host answers with an SSH banner on a
		 * port that is not SSH's (ssh-sig, an alert). */
		struct engine_meta m = { .origin = ORIGIN_INSPECT, .local = LOCAL_SRC, .queue = (uint16_t)(8 + w) };
		clock_gettime(CLOCK_REALTIME, &m.when);
		size_t len = tcp4(pkt, s, (uint16_t)(3000 + w), 41000, 0x18, "SSH-2.0-OpenSSH_9.2p1\r\n");
		/* tcp4() writes the host as the destination; this packet goes the other way. */
		uint8_t tmp[4];
		memcpy(tmp, pkt + 12, 4), memcpy(pkt + 12, pkt + 16, 4), memcpy(pkt + 16, tmp, 4);
		engine_packet(&engine, pkt, len, len, &m, &counters[w]);
	}
	return NULL;
}

static atomic_uint popped, popped_bad;

static void *writer(void *arg)
{
	struct ban_request req[32];
	size_t n;

	while ((n = banq_pop(banq, req, 32, 100)) > 0 || !atomic_load(&workers_done))
		for (size_t i = 0; i < n; i++) {
			atomic_fetch_add(&popped, 1);
			if (req[i].det != DET_SCAN || req[i].addr.family != AF_INET || !req[i].scan_event ||
			    req[i].proto != IPPROTO_TCP || req[i].dst.family != AF_INET)
				atomic_fetch_add(&popped_bad, 1);
		}
	return NULL;
}

/* The control socket's "sources" and "flows", and reloads, while packets flow. */
static void *reader(void *arg)
{
	struct trk_summary s[16];
	struct flow_summary f[16];
	unsigned *rounds = arg;

	while (!atomic_load(&workers_done)) {
		tracker_top(engine.tracker, s, 16, atomic_load(&engine.set.window), engine_clock(&engine));
		flowtab_top(engine.flows, f, 16);
		engine_configure(&engine, cfg);
		(*rounds)++;
	}
	return NULL;
}

int main(void)
{
	pthread_t w[WORKERS], wr, rd;
	struct tracker *t = NULL;
	tracker_new(&t, 4096, key);
	struct flowtab *flows = NULL;
	flowtab_new(&flows, 4096, key);
	struct event_sink *events = NULL;
	struct pktring *ring = NULL;
	struct evidence *ev = NULL;
	char dir[] = "/tmp/test-threads-XXXXXX", err[256], cmd[64];
	unsigned rounds = 0;

	log_set_level(LOG_LVL_ERR);
	config_new_default(&cfg);
	banq_new(&banq, 4096);
	CHECK(cfg && mkdtemp(dir), "a scratch folder for the evidence records");
	if (tap_failed)
		return tap_done();
	snprintf(cfg->evidence_dir, sizeof(cfg->evidence_dir), "%s", dir);
	cfg->attribution = false; /* /proc walks would only slow the saver down */
	CHECK(t && flows && banq && event_sink_open(&events, "/dev/null", NULL) == 0 &&
	      pktring_new(&ring, 4096, (unsigned)cfg->evidence_packets, (unsigned)cfg->evidence_snaplen, key) == 0 &&
	      evidence_new(&ev, cfg, ring, events, err, sizeof(err)) == 0 && evidence_start(ev) == 0 &&
	      engine_init(&engine, t, flows, banq, events, cfg) == 0,
	      "engine, tables, rings, evidence thread, ban queue, events");
	if (tap_failed)
		return tap_done();
	engine_set_evidence(&engine, ev, ring);

	pthread_create(&wr, NULL, writer, NULL);
	pthread_create(&rd, NULL, reader, &rounds);
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&w[i], NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&workers_done, true);
	pthread_join(rd, NULL);
	pthread_join(wr, NULL);
	evidence_stop(ev); /* saves what is queued */

	uint64_t packets = 0, verdicts = 0, requests = 0, full = 0, errors = 0;
	for (int i = 0; i < WORKERS; i++) {
		packets += counters[i].packets;
		verdicts += counters[i].accepted + counters[i].dropped;
		requests += counters[i].ban_requests;
		full += counters[i].banq_full;
		errors += counters[i].tracker_errors + counters[i].malformed;
	}
	CHECK_EQ(packets, WORKERS * SOURCES * (PORTS + 1), "packets counted");
	CHECK_EQ(verdicts, packets, "one verdict per packet");
	CHECK_EQ(errors, 0, "no tracker errors, nothing malformed");
	CHECK_EQ(requests, SOURCES, "each source crossed once");
	CHECK_EQ(full, 0, "the ban queue never filled");
	CHECK_EQ(atomic_load(&popped), SOURCES, "the writer took every request");
	CHECK_EQ(atomic_load(&popped_bad), 0, "requests arrive whole");
	CHECK_EQ(engine.detections[DET_SCAN], SOURCES, "one scan event per source");
	CHECK_EQ(engine.detections[DET_SSH_SIG], WORKERS * SOURCES, "one ssh-sig event per connection");
	CHECK(engine.detections[DET_FLOOD] <= 1, "at most one flood event a minute (%llu)",
	      (unsigned long long)engine.detections[DET_FLOOD]);
	struct tracker_stats ts;
	struct flow_stats fs;
	tracker_get_stats(t, &ts);
	flowtab_get_stats(flows, &fs);
	CHECK_EQ(ts.sources, SOURCES, "sources tracked");
	CHECK_EQ(fs.flows, WORKERS * SOURCES, "connections tracked");
	CHECK(rounds > 0, "the reader ran %u rounds alongside", rounds);
	struct evidence_stats es;
	evidence_get_stats(ev, &es);
	uint64_t events_made = 0;
	for (int d = 0; d < DET_COUNT; d++)
		events_made += engine.detections[d];
	/* A scan whose ban was requested carries its event to the ban writer, which writes it with
	 * its decision (this stub writer does not): all the others went to the evidence thread. */
	CHECK_EQ(es.queued + es.dropped, events_made - SOURCES, "every other event went to the evidence thread");
	CHECK(es.saved == es.queued && es.failed == 0 && es.store.records == es.saved && es.saved > 0,
	      "a record saved for each event queued (%llu)", (unsigned long long)es.saved);

	engine_deinit(&engine);
	evidence_free(ev);
	pktring_free(ring);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	event_sink_close(events);
	banq_free(banq);
	flowtab_free(flows);
	tracker_free(t);
	config_free(cfg);
	return tap_done();
}
