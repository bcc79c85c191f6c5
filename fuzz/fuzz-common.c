/* fuzz-common.c - see fuzz.h. */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"

/* Small tables, so that a short input reaches eviction too. */
#define FUZZ_MAX_SOURCES 256
#define FUZZ_MAX_FLOWS 256
#define FUZZ_MAX_RINGS 64

static const uint8_t fuzz_key[16] = "nfsentry-fuzzing";

/* Built once: the events' JSON is encoded and written, to a sink that costs nothing. */
static struct event_sink *fuzz_events(void)
{
	static struct event_sink *sink;
	FILE *null;

	if (sink)
		return sink;
	log_set_level(LOG_LVL_ERR); /* every event is also logged at notice */
	null = fopen("/dev/null", "we");
	if (!null || event_sink_open(&sink, NULL, null) < 0) {
		fprintf(stderr, "fuzz: cannot open /dev/null as the events' stream\n");
		abort();
	}
	return sink;
}

int fuzz_engine_init(struct fuzz_engine *fe, uint8_t knobs)
{
	struct nfs_config *c = NULL;
	config_new_default(&c);

	memset(fe, 0, sizeof(*fe));
	if (!c)
		return -ENOMEM;
	c->max_sources = FUZZ_MAX_SOURCES;
	c->max_flows = FUZZ_MAX_FLOWS;
	if (knobs & FUZZ_KNOB_THRESHOLD)
		c->threshold = 2;
	c->verdict_accept = knobs & FUZZ_KNOB_ACCEPT;
	c->report_standard_ports = knobs & FUZZ_KNOB_STANDARD;
	if (knobs & FUZZ_KNOB_BAN_ALL)
		for (int d = 0; d < DET_COUNT; d++)
			c->policy.action[d] = ACTION_BAN;
	if (knobs & FUZZ_KNOB_FLOOD)
		c->flood_syn_rate = 10;
	if (knobs & FUZZ_KNOB_PREFIX)
		c->ipv6_prefix = 128;
	fe->cfg = c;
	tracker_new(&fe->tracker, (uint32_t)c->max_sources, fuzz_key);
	flowtab_new(&fe->flows, (uint32_t)c->max_flows, fuzz_key);
	if (!fe->tracker || !fe->flows ||
	    pktring_new(&fe->ring, FUZZ_MAX_RINGS, (unsigned)c->evidence_packets, (unsigned)c->evidence_snaplen,
			fuzz_key) < 0 ||
	    engine_init(&fe->engine, fe->tracker, fe->flows, NULL, fuzz_events(), c) < 0) {
		pktring_free(fe->ring);
		flowtab_free(fe->flows);
		tracker_free(fe->tracker);
		config_free(c);
		return -ENOMEM;
	}
	engine_set_evidence(&fe->engine, NULL, fe->ring);
	return 0;
}

void fuzz_engine_finish(struct fuzz_engine *fe)
{
	struct engine_counters *n = &fe->cnt;

	engine_finish(&fe->engine, n);
	/* Every packet gets exactly one verdict. */
	if (atomic_load(&n->packets) != atomic_load(&n->accepted) + atomic_load(&n->dropped)) {
		fprintf(stderr, "fuzz: %llu packets but %llu accepted + %llu dropped\n",
			(unsigned long long)atomic_load(&n->packets), (unsigned long long)atomic_load(&n->accepted),
			(unsigned long long)atomic_load(&n->dropped));
		abort();
	}
	engine_deinit(&fe->engine);
	pktring_free(fe->ring);
	flowtab_free(fe->flows);
	tracker_free(fe->tracker);
	config_free(fe->cfg);
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("nfsentry-fuzz", MFD_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "fuzz: memfd_create: %s\n", strerror(errno));
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);
		if (n <= 0) {
			fprintf(stderr, "fuzz: writing the memfd: %s\n", strerror(errno));
			abort();
		}
		off += (size_t)n;
	}
	return path;
}
