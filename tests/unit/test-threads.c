/* test-threads.c - the packet path as the daemon runs it: worker threads through one engine
 * (tracker, connection table, packet rings, policy, flood counter), the evidence thread
 * saving a record of each event, the ban writer thread (the real one, with a fake backend in
 * place of the kernel sets: fakeban.h) taking the ban requests off banq and getting the
 * records' tokens back from the evidence thread, and a thread reading the tables and the bans
 * and reloading the settings as the control socket and SIGHUP do.
 * Every worker scans the same sources, each on its own ports, so they meet in the tracker's
 * shards: each source must cross the threshold exactly once. scripts/sanitize.sh runs it
 * under ThreadSanitizer. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "ban/banq.h"
#include "ban/bantable.h"
#include "ban/writer.h"
#include "core/log.h"
#include "engine/engine.h"
#include "evidence/saver.h"
#include "fakeban.h"
#include "tap.h"
#include "tcp4.h"

#define WORKERS 4
#define SOURCES 64
#define PORTS 5 /* per worker and source: 4 x 5 = 20 ports, past the threshold of 10 */

static const uint8_t key[16] = "threadsthreadsth";

static struct engine engine;
static struct nfs_config *cfg;
static struct banq *banq;
static struct banwriter *writer;
static atomic_bool workers_done;
static atomic_uint reader_rounds; /* the reader's rounds so far: the workers start after its first */
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

static int count_cb(const struct ban_entry *e, void *data)
{
	(void)e;
	(*(unsigned *)data)++;
	return 0;
}

static void ban_token(void *w, const struct nfs_addr *addr, const char *token)
{
	banwriter_set_token(w, addr, token);
}

/* The control socket's "sources", "flows", "bans" and "stats", and reloads, while packets flow. */
static void *reader(void *arg)
{
	struct trk_summary s[16];
	struct flow_summary f[16];
	unsigned *rounds = arg;

	while (!atomic_load(&workers_done)) {
		tracker_top(engine.tracker, s, 16, atomic_load(&engine.set.window), engine_clock(&engine));
		flowtab_top(engine.flows, f, 16);
		unsigned bans = 0;
		struct banwriter_stats bs;
		banwriter_list(writer, count_cb, &bans);
		banwriter_get_stats(writer, &bs);
		engine_configure(&engine, cfg);
		banwriter_reconfigure(writer, cfg, NULL, NULL);
		(*rounds)++;
		atomic_fetch_add(&reader_rounds, 1);
	}
	return NULL;
}

int main(void)
{
	pthread_t w[WORKERS], rd;
	struct tracker *t = NULL;
	tracker_new(&t, 4096, key);
	struct flowtab *flows = NULL;
	flowtab_new(&flows, 4096, key);
	struct event_sink *events = NULL;
	struct pktring *ring = NULL;
	struct evidence *ev = NULL;
	char dir[] = "/tmp/test-threads-XXXXXX", state[] = "/tmp/test-threads-state-XXXXXX", err[256], cmd[80];
	struct fakeban *fake = fakeban_new();
	unsigned rounds = 0;

	log_set_level(LOG_LVL_ERR);
	config_new_default(&cfg);
	banq_new(&banq, 4096);
	CHECK(cfg && fake && mkdtemp(dir) && mkdtemp(state), "scratch folders for the evidence records and the bans");
	if (tap_failed)
		return tap_done();
	snprintf(cfg->evidence_dir, sizeof(cfg->evidence_dir), "%s", dir);
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", state);
	cfg->attribution = false; /* /proc walks would only slow the saver down */
	CHECK(t && flows && banq && event_sink_open(&events, "/dev/null", NULL) == 0 &&
	      pktring_new(&ring, 4096, (unsigned)cfg->evidence_packets, (unsigned)cfg->evidence_snaplen, key) == 0 &&
	      evidence_new(&ev, cfg, ring, events, err, sizeof(err)) == 0 &&
	      banwriter_new_backend(&writer, cfg, banq, events, key, &fake->b) == 0 &&
	      engine_init(&engine, t, flows, banq, events, cfg) == 0,
	      "engine, tables, rings, evidence, ban writer, ban queue, events");
	if (tap_failed)
		return tap_done();
	engine_set_evidence(&engine, ev, ring);
	banwriter_set_evidence(writer, ev);
	evidence_set_ban_hook(ev, ban_token, writer);
	struct banwriter_restored restored;
	CHECK(banwriter_restore(writer, &restored) == 0 && evidence_start(ev) == 0 && banwriter_start(writer) == 0,
	      "the evidence and ban writer threads start");
	if (tap_failed)
		return tap_done();

	pthread_create(&rd, NULL, reader, &rounds);
	/* The workers start once the reader is in its loop (a round done; at most 10 s): else,
	 * on a busy machine, they could all finish before the reader's thread first runs. */
	for (int ms = 0; ms < 10000 && !atomic_load(&reader_rounds); ms++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&w[i], NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&workers_done, true);
	pthread_join(rd, NULL);
	/* The daemon's order: the writer (its last bans' records go to the evidence thread), the
	 * evidence thread (saves what is queued, and hands the tokens back), then the writer saves. */
	banwriter_stop(writer);
	evidence_stop(ev);
	banwriter_finish(writer);

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
	struct banwriter_stats bs;
	banwriter_get_stats(writer, &bs);
	CHECK_EQ(bs.added, SOURCES, "the writer banned every source once");
	CHECK_EQ(fakeban_size(fake), SOURCES, "the sets hold every source");
	unsigned whole = 0;
	for (unsigned s = 0; s < SOURCES; s++) {
		struct nfs_addr src = { .family = AF_INET, .plen = 32, .a = { 10, 0, (uint8_t)s, 1 } }; /* tcp4() */
		whole += fakeban_timeout(fake, &src) == cfg->duration * 1000;
	}
	CHECK_EQ(whole, SOURCES, "requests arrive whole: each source banned for [ban] duration");
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
	CHECK(rounds > 0, "the reader ran %u rounds (the workers started after its first)", rounds);
	struct evidence_stats es;
	evidence_get_stats(ev, &es);
	uint64_t events_made = 0;
	for (int d = 0; d < DET_COUNT; d++)
		events_made += engine.detections[d];
	/* A scan whose ban was requested carries its event to the ban writer, which writes it with
	 * its decision, and the ban's own event: all the others went to the evidence thread
	 * directly. */
	CHECK_EQ(es.queued + es.dropped, events_made - SOURCES + 2 * SOURCES,
		 "every other event went to the evidence thread, the scans' and the bans' through the writer");
	CHECK(es.saved == es.queued && es.failed == 0 && es.store.records == es.saved && es.saved > 0,
	      "a record saved for each event queued (%llu)", (unsigned long long)es.saved);

	/* Each ban's record token came back from the evidence thread, and was saved. */
	struct bantable *saved = NULL;
	bantable_new(&saved, 4 * SOURCES, key);
	unsigned bad = 0, tokens = 0;
	snprintf(cmd, sizeof(cmd), "%s/bans", state);
	int loaded = saved ? bantable_load(saved, cmd, &bad) : -ENOMEM;
	CHECK_EQ(loaded, SOURCES, "state_dir/bans holds every ban");
	for (unsigned s = 0; saved && s < SOURCES; s++) {
		struct nfs_addr src = { .family = AF_INET, .plen = 32, .a = { 10, 0, (uint8_t)s, 1 } };
		const struct ban_entry *e = bantable_get(saved, &src);
		tokens += e && strlen(e->token) == 64;
	}
	CHECK_EQ(tokens, SOURCES, "with its evidence token");
	bantable_free(saved);

	engine_deinit(&engine);
	banwriter_free(writer);
	fakeban_free(&fake->b);
	evidence_free(ev);
	pktring_free(ring);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, state);
	CHECK(system(cmd) == 0, "cleanup");
	event_sink_close(events);
	banq_free(banq);
	flowtab_free(flows);
	tracker_free(t);
	config_free(cfg);
	return tap_done();
}
