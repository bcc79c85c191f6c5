/* engine.h - one packet's way through nfsentry: decode, then the closed-port tracker or the
 * connection detectors, then the policy: an event, a verdict, a ban request. Shared by the
 * worker threads (live) and by `nfsentry replay` (offline, capture time, no kernel). */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ban/banq.h"
#include "core/config.h"
#include "core/event.h"
#include "core/netlist.h"
#include "core/policy.h"
#include "detect/flow.h"
#include "detect/sctpeps.h"
#include "detect/tracker.h"
#include "evidence/pktring.h"
#include "evidence/saver.h"

/* Settings the packet path reads on every packet; a reload stores new values. */
struct engine_settings {
	_Atomic uint32_t threshold, window, hold, ipv6_prefix;
	_Atomic uint32_t prefix4, prefix6, prefix_threshold, prefix_sources; /* distributed scans */
	_Atomic bool accept; /* verdict for closed-port attempts */
	_Atomic uint64_t flood_syn_rate;
	_Atomic uint64_t ban_seconds; /* replay: the ban a replay reports */
	_Atomic bool report_standard;
};

struct engine_spared;

struct engine {
	struct tracker *tracker; /* not owned */
	struct tracker *prefixes; /* not owned; NULL: no distributed-scan detection */
	struct flowtab *flows;   /* not owned */
	struct banq *banq;       /* not owned; NULL in replay: bans become events */
	struct event_sink *events; /* not owned; may be NULL (events only logged) */
	struct evidence *evidence; /* not owned; NULL: events carry no token */
	struct pktring *ring;      /* not owned; NULL: records hold no packets */
	bool replay;
	struct engine_settings set;
	pthread_rwlock_t policy_lock;
	struct policy policy;
	/* Under policy_lock. The allowlist and the protected peers: an IPv6 prefix that holds
	 * one of them is tracked address by address. NULL: none known (a replay). */
	struct engine_spared *spared;
	struct timespec t0;      /* monotonic origin of tracker time (live) */
	int64_t replay_t0;       /* capture second of the first packet (replay) */
	/* SYN flood: SYNs in the current second, and when a flood was last reported */
	_Atomic int64_t flood_second;
	_Atomic uint64_t flood_syns;
	_Atomic int64_t flood_reported;
	_Atomic uint64_t detections[DET_COUNT]; /* events raised, per detector */
	struct sctpeps sctp;     /* which SCTP ports are open (nft cannot tell) */
};

/* Per-worker counters; the worker increments, anyone may read. */
struct engine_counters {
	_Atomic uint64_t packets, accepted, dropped, malformed, no_l4, ban_requests, banq_full, tracker_errors,
		events;
};

enum engine_verdict { ENGINE_DROP = 0, ENGINE_ACCEPT = 1 };

/* Where a packet comes from. */
enum engine_origin {
	ORIGIN_CLOSED_PORT, /* the fail-closed queue: nothing on this host would accept it */
	ORIGIN_INSPECT,     /* the fail-open queue: early and small packets of connections */
	ORIGIN_REPLAY,      /* a capture: both, with closed ports inferred from the replies */
};

/* Which side of the packet is this host (for whom to ban). */
enum engine_local { LOCAL_UNKNOWN, LOCAL_DST, LOCAL_SRC };

struct engine_meta {
	struct timespec when;    /* CLOCK_REALTIME arrival, or capture time */
	bool when_kernel;        /* @when is the kernel's timestamp */
	uint16_t queue;
	enum engine_origin origin;
	enum engine_local local;
	uint32_t mark;           /* the packet mark (NFQA_MARK; 0 when none): see decode/marktag.h */
};

/* @flows and @events may be NULL (no connection detectors; events only logged). @q NULL
 * makes a replay engine. Returns 0 or -errno. Borrows @t, @flows, @q and @events: they must
 * outlive the engine (engine_deinit() frees none of them); copies the settings of @c. */
int engine_init(struct engine *e, struct tracker *t, struct flowtab *flows, struct banq *q,
		struct event_sink *events, const struct nfs_config *c);
void engine_deinit(struct engine *e);
void engine_configure(struct engine *e, const struct nfs_config *c);
/* Live: events become evidence records (@evidence), which hold the packets @ring keeps of
 * each source and connection. Either may be NULL. Call before the first packet. */
void engine_set_evidence(struct engine *e, struct evidence *evidence, struct pktring *ring);

/* The allowlist and the protected peers (both copied; either may be NULL): the ban writer
 * narrows a ban of an IPv6 prefix that holds one of them to the scanner's own address, so
 * such a prefix is tracked address by address too (docs/security.md, item 3). Call at start
 * and whenever either list changes. Returns 0, or -ENOMEM (the previous lists stay). */
int engine_set_spared(struct engine *e, const struct netlist *allow, const struct netlist *protect);
/* Distributed scans: closed ports are also counted per prefix ([scan] prefix4, prefix6) in
 * @prefixes (not owned). Call before the first packet. */
void engine_set_prefixes(struct engine *e, struct tracker *prefixes);
/* Adds @net to the allowlist set by engine_set_spared() (a network allowed at run time).
 * Returns 0 or -errno. */
int engine_spare(struct engine *e, const struct nfs_addr *net);

/* Takes @len captured bytes of a packet of @wire_len bytes. Returns the verdict. */
enum engine_verdict engine_packet(struct engine *e, const uint8_t *data, size_t len, size_t wire_len,
				  const struct engine_meta *m, struct engine_counters *c);
/* Seconds on the engine's clock, as the tracker counts them. */
uint32_t engine_clock(struct engine *e);
/* End of a replay (or shutdown): final evaluation of every open connection. */
void engine_finish(struct engine *e, struct engine_counters *c);
