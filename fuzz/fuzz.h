/* fuzz.h - what the harnesses share: libFuzzer's entry points (also called by replay-main.c,
 * which replays a corpus without libFuzzer) and the daemon objects they feed. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/event.h"
#include "engine/engine.h"
#include "detect/flow.h"
#include "detect/tracker.h"
#include "evidence/pktring.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Capture seconds of a harness's first packet (2023-11-14): any fixed time will do. */
#define FUZZ_EPOCH 1700000000

/* A replay engine (no ban queue: bans become events) as `nfsentry replay` builds it, with its
 * own tracker and connection table, and the packet rings that live evidence records copy
 * from; events go to /dev/null as JSON. */
struct fuzz_engine {
	struct nfs_config *cfg;
	struct tracker *tracker;
	struct flowtab *flows;
	struct pktring *ring;
	struct engine engine;
	struct engine_counters cnt;
};

/* The defaults, changed by the bits of @knobs (FUZZ_KNOB_*) so that a short input can reach
 * each detector's ban and report paths. Returns 0 or -ENOMEM. */
#define FUZZ_KNOB_THRESHOLD 0x01 /* [scan] threshold = 2 */
#define FUZZ_KNOB_ACCEPT 0x02    /* [scan] verdict = accept */
#define FUZZ_KNOB_STANDARD 0x04  /* [detect] report_standard_ports = yes */
#define FUZZ_KNOB_BAN_ALL 0x08   /* every detector's action is ban */
#define FUZZ_KNOB_FLOOD 0x10     /* [detect] flood_syn_rate = 10 */
#define FUZZ_KNOB_PREFIX 0x20    /* [ban] ipv6_prefix = 128 */
int fuzz_engine_init(struct fuzz_engine *fe, uint8_t knobs);
/* Ends the replay (engine_finish) and frees; checks the counters add up (aborts if not). */
void fuzz_engine_finish(struct fuzz_engine *fe);

/* A path whose file holds exactly @data (a memfd, reopened through /proc/self/fd: every
 * open starts at offset 0). Valid until the next call. Aborts if it cannot be made. */
const char *fuzz_file(const uint8_t *data, size_t size);
