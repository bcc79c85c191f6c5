/* tracker.h - per-source closed-port attempts, shared by all workers.
 *
 * A source is an IPv4 address or an IPv6 prefix (so rotating addresses inside one /64 is one
 * source). Memory is bounded by max_sources (new sources wait on probation and are evicted
 * first; see tracker.c), by a ghost list of 2 x max_sources hashes, and by the threshold (a
 * source keeps at most that many distinct ports). Buckets are chosen by SipHash with a secret
 * key so chosen source addresses cannot pile into one bucket. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"

/* Probe classes after Bejtlich, "Interpreting Network Traffic" (scan types and look-alikes). */
#include <stdbool.h>

enum trk_class {
	TRK_SYN,    /* SYN alone: half-open or connect scan */
	TRK_FIN,    /* FIN alone */
	TRK_NULL,   /* no flags */
	TRK_XMAS,   /* FIN+PSH+URG */
	TRK_ACK,    /* ACK alone: firewall-mapping scan */
	TRK_TCP_OTHER,
	TRK_SYNACK, /* unsolicited SYN-ACK: backscatter of a spoofed SYN flood, not a probe */
	TRK_RST,    /* RST: backscatter or a late reset, not a probe */
	TRK_UDP,
	TRK_SCTP,   /* SCTP INIT to a closed port (nmap -sY) */
	TRK_PROTO,  /* a protocol nothing on the host handles (nmap -sO), port 0 */
	TRK_CLASSES
};

struct trk_attempt {
	uint8_t proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;  /* destination port */
	uint8_t tcp_flags;
	bool syn_data;  /* a SYN carrying payload: a probe (load balancers), not a scan by itself */
	bool tcp_opts;  /* a SYN with the options an OS connect() sends (timestamps, window scale) */
	uint8_t ttl;
	uint16_t ip_id, window;
	uint32_t now;   /* seconds on the daemon's monotonic clock */
	uint32_t who;   /* a prefix's table: which of its sources tried the port (see trk_params) */
};

struct trk_params {
	uint32_t threshold; /* distinct (proto, port) pairs within window that cross */
	uint32_t window;    /* seconds */
	uint32_t hold;      /* after a ban request, seconds before another may be made */
	/* A table of prefixes (a distributed scan): the ports within the window must also come
	 * from at least this many distinct trk_attempt.who. 0 or 1: no such condition. */
	uint32_t min_sources;
};

/* What a touch saw. Filled on every successful touch. */
struct trk_report {
	uint32_t ports;          /* distinct ports within the window, this one included */
	uint32_t sources;        /* with min_sources: distinct who among those ports, counted up
				  * to min_sources when the ports reach the threshold, else 0 */
	uint32_t first_seen, last_seen;
	uint32_t counts[TRK_CLASSES];
	uint32_t connect_syns;   /* SYNs with OS connect() options (a connect scan, not raw) */
	uint32_t syn_data;       /* SYNs carrying data */
	/* Bejtlich: fields that tie packets to a tool. */
	uint8_t ttl_min, ttl_max;
	uint16_t ip_id_first, window_first;
	bool ip_id_fixed;        /* every packet so far had the same IP ID */
	/* Once-per-source findings, true on the touch that made them */
	bool backscatter;        /* SYN-ACK/RST to `threshold` distinct ports: someone spoofs it */
	bool probe;              /* first SYN with data */
	bool ban_again;          /* TRK_CROSSED again after tracker_source_ban_lost(): the scan
				  * was reported; only its ban is still to be requested */
};

enum trk_outcome {
	TRK_COUNTED = 0,   /* recorded, below threshold (or a ban already requested) */
	TRK_CROSSED = 1,   /* this attempt crossed the threshold: request a ban */
	TRK_IGNORED = 2,   /* recorded in counts only: a class that is never a probe */
};

struct tracker_stats {
	uint64_t sources, evicted;
	uint64_t probation;                       /* of sources: on probation (one port so far) */
	uint64_t evicted_probation, evicted_main; /* of evicted: per stage */
	uint64_t promoted;                        /* sources that left probation with a second port */
};

struct tracker;

/* @key: 16 secret bytes (the SipHash key: crypto_shorthash_KEYBYTES). Returns 0 and the tracker in *@out, or
 * -ENOMEM. */
int tracker_new(struct tracker **out, uint32_t max_sources, const uint8_t key[16]);
/* Accepts NULL. */
void tracker_free(struct tracker *t);
/* The tracker is one thread's alone from now on (a replay): no locks (shardmap_set_single). */
void tracker_set_single(struct tracker *t);

enum trk_class trk_classify(uint8_t proto, uint8_t tcp_flags);
const char *trk_class_name(enum trk_class c);

/* Records @a from @src (already reduced to its prefix). Returns an enum trk_outcome, or
 * -ENOMEM (nothing recorded). Thread-safe. */
int tracker_source_touch(struct tracker *t, const struct nfs_addr *src, const struct trk_attempt *a,
			 const struct trk_params *p, struct trk_report *out);
/* The ban requested when @src crossed did not reach the ban writer (its queue was full): the
 * hold is lifted, so that @src's next attempt crosses again, with ban_again set. */
void tracker_source_ban_lost(struct tracker *t, const struct nfs_addr *src);
void tracker_get_stats(struct tracker *t, struct tracker_stats *out);

struct trk_summary {
	struct nfs_addr addr;
	uint32_t ports;          /* distinct ports still within @window */
	uint32_t first_seen, last_seen;
	uint32_t counts[TRK_CLASSES];
};

/* The (at most) @max sources with the most closed ports within @window at @now (tracker
 * seconds), most first. Returns how many were written. */
size_t tracker_top(struct tracker *t, struct trk_summary *out, size_t max, uint32_t window, uint32_t now);
