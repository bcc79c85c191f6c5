/* saver.h - the evidence thread (docs/evidence.md). Every alert and every ban becomes an
 * evidence record: the event, the packets the ring kept of its source or connection, the
 * configuration that applied and, when a socket of this host is involved, the processes
 * behind it (daemon/attrib). The record goes to the store; its token is added to the event,
 * which only then is written to the events file and logged. The packet path only queues
 * (never waits); process attribution (milliseconds of /proc reading) happens here. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "attrib/attrib.h"
#include "core/config.h"
#include "core/event.h"
#include "evidence/pktring.h"
#include "evidence/store.h"

/* What a record holds besides the event. Zero means nothing more. */
struct evidence_ctx {
	struct pktring_key ring;        /* kind 0: no packets */
	bool attribute;                 /* a socket of this host is involved: */
	struct attrib_socket_key sock;  /*   this one */
	bool ban;                       /* a ban: its token goes to the ban table */
	struct nfs_addr ban_addr;
};

struct evidence;

/* Threads: the daemon's main thread makes, starts, stops and frees it and reconfigures it;
 * the workers and the ban writer submit events (decide/report.c); the ban hook runs on the evidence thread. */

/* Opens the store in c->evidence_dir. @ring may be NULL (no packets). Returns 0 or -errno
 * with a reason in @err. Borrows @ring and @events: they must outlive evidence_stop(). */
int evidence_new(struct evidence **out, const struct nfs_config *c, struct pktring *ring, struct event_sink *events,
		 char *err, size_t errlen);
/* Called with every ban's token once its record is saved (the ban writer keeps it). @cb runs
 * on the evidence thread. Call before evidence_start(). */
void evidence_set_ban_hook(struct evidence *e, void (*cb)(void *data, const struct nfs_addr *addr, const char *token),
			   void *data);
int evidence_start(struct evidence *e);
/* Saves what is queued, then stops the thread. */
void evidence_stop(struct evidence *e);
void evidence_free(struct evidence *e); /* accepts NULL */
/* A reload: the settings copied into records, the size bound, attribution. Thread-safe (the
 * settings change under the saver's lock, the bound under the store's). */
void evidence_configure(struct evidence *e, const struct nfs_config *c);

/* Takes @ev. With @e NULL (no evidence: replay, or [evidence] dir empty) the event goes to
 * @events at once. Otherwise it is queued; when the queue is full it goes out at once
 * without a token, and evidence_stats.dropped counts it. Thread-safe. */
void evidence_submit(struct evidence *e, struct event_sink *events, json_t *ev, const struct evidence_ctx *ctx);

struct evidence_stats {
	uint64_t queued, saved, dropped, failed;  /* records: asked for, saved, not saved (queue full, write error) */
	uint64_t attrib_lookups, attrib_found, attrib_us; /* process attribution: tries, sockets found, time spent */
	struct evstore_stats store;
};
/* Thread-safe. */
void evidence_get_stats(struct evidence *e, struct evidence_stats *out);
/* The store the thread writes to (borrowed: valid until evidence_free()). The store is
 * thread-safe (evidence/store.h), so the control thread reads records through it. */
struct evstore *evidence_store(struct evidence *e);
