/* writer.h - the ban writer thread: takes ban requests from the workers, decides (allowlist,
 * protected peers, already banned, escalation: ban/plan.h), and commits the bans to the kernel
 * sets in batches (ban/backend.h). The one place where a ban is decided and logged. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ban/banq.h"
#include "ban/bantable.h"
#include "core/config.h"
#include "core/event.h"
#include "evidence/saver.h"

struct banwriter;

/* Upper bounds (microseconds) of the ban latency histogram's buckets; the last is +Inf. */
#define BANWRITER_LATENCY_BUCKETS 10
extern const uint64_t banwriter_latency_le_us[BANWRITER_LATENCY_BUCKETS - 1];

/* What became of one decision of the fleet (banwriter_fleet(), below). */
enum ban_fleet_outcome {
	BAN_FLEET_BANNED,    /* in the kernel now (or its fleet ban extended to a later end) */
	BAN_FLEET_ALREADY,   /* the fleet's set had it already, ending no sooner, or a fleet range holds it */
	BAN_FLEET_UNBANNED,  /* lifted */
	BAN_FLEET_ABSENT,    /* an unban of what the fleet's sets do not hold: fine (the stream repeats) */
	BAN_FLEET_PROTECTED, /* this host, a resolver or a gateway, or a range that holds one; or a
				special-purpose source (loopback, link-local, multicast, ...) */
	BAN_FLEET_ALLOWED,   /* [allow] networks overlaps it */
	BAN_FLEET_TOO_WIDE,  /* a range wider than [fleet] min_prefix4 / min_prefix6 */
	BAN_FLEET_FULL,      /* [fleet] max_bans reached, or the set is at its size */
	BAN_FLEET_REFUSED,   /* the kernel refused it (no fleet sets: an old ruleset), or failed */
	BAN_FLEET_INVALID,   /* not an address or prefix, or a ban of 0 seconds */
	BAN_FLEET_OUTCOMES
};
/* "banned", "already", "unbanned", "absent", "protected", "allowed", "too_wide", "full",
 * "refused", "invalid": the control socket's JSON keys. */
const char *ban_fleet_outcome_name(enum ban_fleet_outcome o);

struct banwriter_stats {
	uint64_t added, refused_by_kernel, not_banned_allowed, not_banned_protected, already_banned,
		batches;
	uint64_t not_banned_active; /* scans of peers that exchanged data lately: alerts only */
	/* batches that failed as a whole (the table or its sets gone, or the netlink conversation
	 * broken: outcome unknown); their requests are retried, and given up after the last try */
	uint64_t batch_errors, retried, given_up;
	uint64_t displaced;        /* bans deleted to make room for a new one in a full set */
	uint64_t restored;         /* bans put back: saved ones at start, or after the table came back */
	uint64_t expired, removed; /* bans that left the sets: timed out, or deleted by hand */
	uint64_t active;           /* bans in the sets at the last look */
	uint64_t last_latency_us;  /* threshold packet to kernel ack, last ban */
	/* threshold packet to kernel ack, every ban: a histogram (counts per bucket, not
	 * cumulative), their sum and count */
	uint64_t latency_bucket[BANWRITER_LATENCY_BUCKETS];
	uint64_t latency_sum_us, latency_count;
	/* the fleet's decisions by outcome (enum ban_fleet_outcome, above), and its bans held */
	uint64_t fleet[BAN_FLEET_OUTCOMES];
	uint64_t fleet_active;
};

/* Opens the netlink socket (the nft backend) and loads the offence history from
 * @c->state_dir. Does not start the thread. Returns 0 and the writer in *@out, or -errno; it
 * logs which step failed (an exception to "the caller logs": the step is known only here).
 * Borrows @q and @events (they must outlive banwriter_free()); copies what it needs of @c. */
int banwriter_new(struct banwriter **out, const struct nfs_config *c, struct banq *q, struct event_sink *events,
		  const uint8_t key16[16]);
struct ban_backend;
/* The same with the sets behind @be (borrowed: it must outlive the writer; the unit tests
 * pass a fake). */
int banwriter_new_backend(struct banwriter **out, const struct nfs_config *c, struct banq *q,
			  struct event_sink *events, const uint8_t key16[16], struct ban_backend *be);
struct banwriter_restored {
	unsigned in_kernel4, in_kernel6; /* already in the sets (kept; hand-made bans adopted) */
	unsigned restored;               /* saved bans put back with their time left */
	unsigned expired, failed;
	unsigned fleet; /* the fleet's bans in its sets (kept: nfsentry-crowdsec applies the rest) */
};

/* At start: adopts what ban4 and ban6 hold, and puts back the bans saved in state_dir/bans
 * that the kernel lost (a reboot) with their remaining time, in batches. Returns 0, -ENOENT
 * if a set is missing, or -errno. */
int banwriter_restore(struct banwriter *w, struct banwriter_restored *out);
/* Ban events become evidence records (NULL: they carry no token); the records' tokens come
 * back through banwriter_set_token(). Call before banwriter_start(). */
void banwriter_set_evidence(struct banwriter *w, struct evidence *ev);
/* Remembers the token of @addr's ban record in the ban table (the writer thread puts it there,
 * or banwriter_finish()). Thread-safe. */
void banwriter_set_token(struct banwriter *w, const struct nfs_addr *addr, const char *token);
int banwriter_start(struct banwriter *w);
struct protect_ends;
/* Swaps in the ban settings of @c and the list of protected peers with what each entry is
 * (all copied; @ends may be NULL: all "gateway"). */
void banwriter_reconfigure(struct banwriter *w, const struct nfs_config *c, const struct netlist *protect,
			   const struct protect_ends *ends);
/* Swaps in a new list of protected peers (copied), the rest unchanged: the resolvers or routes
 * changed while running. Bans of addresses now protected are lifted by the thread, and said.
 * Returns 0 or -ENOMEM (the old list stays). */
int banwriter_set_protected(struct banwriter *w, const struct netlist *protect, const struct protect_ends *ends);
/* Commits what is queued and stops the thread; what still fails is given up. Those last bans'
 * records go to the evidence thread: stop it next (evidence_stop()), then banwriter_finish(). */
void banwriter_stop(struct banwriter *w);
/* After banwriter_stop() and evidence_stop(): takes the last tokens, re-reads the sets and saves
 * the ban table and the offence history. Saved before the evidence thread had stopped, the
 * table would miss the tokens of the last bans. banwriter_free() calls it too. */
void banwriter_finish(struct banwriter *w);
void banwriter_free(struct banwriter *w);
void banwriter_get_stats(struct banwriter *w, struct banwriter_stats *out);
/* Calls @cb on every ban the writer knows of, this host's then the fleet's (e->origin says
 * whose), under its lock: @cb must not call back. */
void banwriter_list(struct banwriter *w, int (*cb)(const struct ban_entry *e, void *data), void *data);
/* Adds @net to the running allowlist (until the next reload). Returns 0 or -errno. */
int banwriter_allow(struct banwriter *w, const struct nfs_addr *net);

/* The fleet's decisions (CrowdSec's, through nfsentry-crowdsec and the control socket's `fleet`
 * command: docs/crowdsec.md). They go to sets of their own (fleet4, fleet6, fleetnet4,
 * fleetnet6) and to a table of their own, bounded by [fleet] max_bans; a fleet unban can only
 * lift a fleet ban, never one of this host's. */

struct ban_fleet_item {
	struct nfs_addr addr; /* host (plen 32/128) or prefix (host bits are cleared) */
	uint64_t seconds;     /* ban: its remaining length (capped at [fleet] max_duration); unban: 0 */
	bool unban;
	uint8_t outcome;      /* out: enum ban_fleet_outcome */
};

/* At most this many items per call (the control command's limit is 1000). */
#define BAN_FLEET_ITEMS_MAX 65536

/* Applies @n fleet decisions through the writer thread, in NFTSET_BATCH_MAX transactions, with
 * the same protection as local bans (allowlist, protected peers: this host, resolvers,
 * gateways; a Range containing a protected address is refused whole). The unbans of @items go
 * first, then the bans. A ban of an address the fleet holds already is extended when it ends
 * more than a minute later; a range that holds narrower fleet ranges takes their place. Waits up
 * to @timeout_ms for the thread; fills each item's outcome.
 * Thread-safe (the control thread calls it). Returns 0, -ETIMEDOUT (outcomes unknown; the job
 * stays valid: refcounted, never freed under the writer), -ENOMEM, -E2BIG (more than
 * BAN_FLEET_ITEMS_MAX), or -ESHUTDOWN (the writer is not running). It logs one line per call
 * with the counts (and a warning per protected or allowed address, as for local bans, up to 16
 * per call). */
int banwriter_fleet(struct banwriter *w, struct ban_fleet_item *items, size_t n, int timeout_ms);
struct ban_feed;
/* The feed the writer puts ban, unban and evidence events in (borrowed: it must outlive the
 * writer; NULL: none); call before banwriter_start(). */
void banwriter_set_feed(struct banwriter *w, struct ban_feed *feed);
