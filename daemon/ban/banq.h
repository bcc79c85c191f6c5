/* banq.h - the hand-off from worker threads to the ban writer: a bounded FIFO of requests.
 * Workers push (never block); the writer pops in bursts, which is what lets it coalesce. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "core/addr.h"
#include "detect/tracker.h"

/* The answer to a request from the control socket: the writer fills it and signals. */
struct ban_reply {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int rc;                     /* 0, or -errno with msg */
	char msg[256];
	struct nfs_addr addr;       /* what was banned or unbanned */
	uint64_t seconds;
};

enum ban_op { BAN_OP_AUTO = 0, BAN_OP_MANUAL_BAN, BAN_OP_MANUAL_UNBAN, BAN_OP_FLEET };

struct ban_fleet_job;

struct ban_request {
	uint8_t op;                 /* enum ban_op */
	uint64_t seconds;           /* manual ban: its length (0: [ban] duration) */
	struct ban_reply *reply;    /* manual requests: where the answer goes (owned by the asker) */
	struct ban_fleet_job *fleet; /* BAN_OP_FLEET: the decisions (the request holds a reference) */
	struct nfs_addr addr;       /* IPv4 host or IPv6 prefix */
	struct nfs_addr host;       /* the offending address itself (addr narrowed to a host) */
	struct timespec t_packet;   /* when the threshold-crossing packet arrived (CLOCK_REALTIME) */
	bool t_kernel;              /* t_packet is the kernel's skb timestamp, not our receive time */
	struct trk_report report;   /* what the tracker saw, for a scan */
	uint8_t det;                /* enum det: why (scan, root-sig, ...) */
	uint8_t retries;            /* the writer's: failed batches this request was in */
	uint16_t queue;
	uint32_t by_uid;            /* manual requests: the asker's uid (SO_PEERCRED), for the log */
	/* A scan whose event the writer writes once it has decided (action ban or refused, and
	 * why): the threshold packet's other end, ports and protocol. Cleared once written. */
	bool scan_event;
	uint8_t proto;
	uint16_t sport, dport;
	struct nfs_addr dst;
};

struct banq;

/* Returns 0 and the queue in *@out, or -ENOMEM. */
int banq_new(struct banq **out, size_t capacity);
/* Accepts NULL. */
void banq_free(struct banq *q);
/* Copies @r in. Returns 0 or -ENOSPC when full (the caller counts it: engine_counters
 * banq_full; a scan ban is asked again at the source's next attempt: tracker_source_ban_lost). */
int banq_push(struct banq *q, const struct ban_request *r);
/* Waits up to @timeout_ms for requests and moves up to @max of them to @out. Returns how many
 * (0 on timeout or after banq_close()). */
size_t banq_pop(struct banq *q, struct ban_request *out, size_t max, int timeout_ms);
/* Wakes the writer for good. */
void banq_close(struct banq *q);
