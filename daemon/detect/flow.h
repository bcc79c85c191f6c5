/* flow.h - per-connection state for the backdoor detectors (signatures, timing), shared by
 * all workers. TCP only: the detectors of Zhang & Paxson read TCP byte streams.
 *
 * Bounded like the tracker: max_flows in 64 shards, least recently seen evicted, SipHash
 * with a secret key over the connection's canonical 5-tuple. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "decode/packet.h"
#include "detect/interactive.h"
#include "detect/sig.h"

/* A connection seen from its initiator when known (SYN without ACK seen), else from the side
 * seen first. */
struct flow_tuple {
	struct nfs_addr client, server;
	uint16_t cport, sport;
	bool initiator_known;
};

enum flow_finding_kind { FLOW_FOUND_SIG, FLOW_FOUND_INTERACTIVE };

struct flow_finding {
	enum flow_finding_kind kind;
	struct sig_hit sig;    /* FLOW_FOUND_SIG */
	struct ia_result ia;   /* FLOW_FOUND_INTERACTIVE (ssh_len set when ssh-len also holds) */
};

#define FLOW_FINDINGS_MAX 8

struct flow_report {
	struct flow_tuple tuple;
	int dir;                /* this packet's direction: 0 client->server, 1 back */
	bool drop;              /* the flow was marked for dropping */
	bool established;       /* the server answered with SYN-ACK */
	bool created;           /* this packet opened the flow */
	uint32_t packets;       /* packets of the flow so far, both directions */
	uint64_t last_us;       /* time of the latest packet */
	/* the client's first packet, for telling what a refused probe was */
	uint8_t client_flags, client_ttl, client_optlen;
	uint16_t client_ip_id, client_window;
	uint32_t client_syn_len; /* payload of the client's SYN (a probe if not 0) */
	int nfound;
	struct flow_finding found[FLOW_FINDINGS_MAX];
};

struct flow_stats {
	uint64_t flows, evicted;
};

struct flowtab;

/* Returns 0 and the table in *@out, or -ENOMEM. */
int flowtab_new(struct flowtab **out, uint32_t max_flows, const uint8_t key16[16]);
/* Accepts NULL. Findings of flows still open are reported through flowtab_finish_all() by the
 * caller. */
void flowtab_free(struct flowtab *t);
/* The table is one thread's alone from now on (a replay): no locks (shardmap_set_single). */
void flowtab_set_single(struct flowtab *t);

/* Feeds decoded TCP packet @p seen at @t_us. Fills @rep (the flow, this packet's direction,
 * the flow's drop mark, and what the detectors found on this packet). Returns 0, or -ENOMEM
 * (the packet was not recorded), or -EINVAL if @p is not TCP. */
int flowtab_packet(struct flowtab *t, const struct pkt *p, uint64_t t_us, struct flow_report *rep);
/* Marks the flow of @tuple so later packets report drop = true. */
void flowtab_mark_drop(struct flowtab *t, const struct flow_tuple *tuple);
/* Runs the end-of-connection tests (telnet-sig's, the timing algorithm's final evaluation)
 * on every flow, calling @cb for each flow with findings, and forgets all flows. For the end
 * of a replay, and at shutdown. @cb runs under a shard's lock: it must not use the table. */
void flowtab_finish_all(struct flowtab *t, void (*cb)(const struct flow_report *rep, void *data), void *data);
void flowtab_get_stats(struct flowtab *t, struct flow_stats *out);

struct flow_summary {
	struct flow_tuple tuple;
	uint32_t packets;
	bool drop;
};

/* The (at most) @max connections with the most packets, most first. Returns how many. */
size_t flowtab_top(struct flowtab *t, struct flow_summary *out, size_t max);
