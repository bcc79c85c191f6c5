/* feed.h - bans and unbans as they happen, for the control socket's `watch` command (and so
 * for nfsentry-crowdsec, which publishes this host's bans to the fleet: docs/crowdsec.md).
 *
 * A bounded ring of events with sequence numbers. The ban writer puts (never blocks, never
 * fails: the oldest event is overwritten); readers keep their own next sequence number and
 * learn how many events they lost when they fell behind by more than the ring holds. A slow
 * or stalled reader can therefore neither block the writer nor grow memory: it loses events
 * and is told so, and resynchronises from the ban list (`bans`).
 * Thread-safe: one mutex; put and read copy events in and out under it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ban/origin.h"
#include "core/addr.h"

enum ban_feed_kind {
	BAN_FEED_BAN,      /* a ban went into a set */
	BAN_FEED_UNBAN,    /* a ban was lifted before its time (why says by what) */
	BAN_FEED_EVIDENCE, /* the evidence record of an earlier ban was written: its token */
};

enum ban_feed_why {
	BAN_FEED_WHY_NONE,
	BAN_FEED_WHY_MANUAL,    /* nfsentryctl unban */
	BAN_FEED_WHY_PROTECTED, /* the address became protected (a resolver, a gateway, allowed) */
	BAN_FEED_WHY_FLEET,     /* the fleet deleted its decision */
};

struct ban_feed_event {
	uint64_t seq;         /* set by ban_feed_put(): 1, 2, ... */
	uint8_t kind;         /* enum ban_feed_kind */
	uint8_t origin;       /* enum ban_origin */
	uint8_t det;          /* enum det: why the ban (DET_MANUAL for manual and fleet bans) */
	uint8_t why;          /* enum ban_feed_why: unbans only */
	struct nfs_addr addr; /* IPv4 host, IPv6 prefix, or a prefix (dscan, fleet range) */
	uint64_t seconds;     /* the ban's length (bans) */
	int64_t until_ms;     /* when it ends, realtime (bans) */
	uint32_t events;      /* what the detector counted (a scan: its attempts), or 0 */
	char token[65];       /* evidence token (BAN_FEED_EVIDENCE), or "" */
};

struct ban_feed;

/* A ring of @capacity (> 0) events. Returns 0 and the feed in *@out, or -ENOMEM / -EINVAL.
 * The caller owns it: ban_feed_free(). */
int ban_feed_new(struct ban_feed **out, size_t capacity);
/* Accepts NULL. */
void ban_feed_free(struct ban_feed *f);
/* Copies @e in with the next sequence number (also written back to e->seq), overwriting the
 * oldest event when the ring is full, and makes ban_feed_fd() readable. Never blocks. */
void ban_feed_put(struct ban_feed *f, struct ban_feed_event *e);
/* An eventfd (non-blocking, close-on-exec) that is readable after a put; a reader polls it
 * and calls ban_feed_drain() before reading. Owned by the feed. */
int ban_feed_fd(const struct ban_feed *f);
/* Empties ban_feed_fd(). */
void ban_feed_drain(struct ban_feed *f);
/* Copies to @out up to @max events of sequence >= *@next, oldest first, and advances *@next
 * past them. When events older than the ring holds were asked for, *@lost gets how many were
 * skipped (else 0). Returns how many were copied. A new reader starts at ban_feed_next_seq(). */
size_t ban_feed_read(struct ban_feed *f, uint64_t *next, struct ban_feed_event *out, size_t max, uint64_t *lost);
/* The sequence number the next put will get (1 for a fresh feed). */
uint64_t ban_feed_next_seq(struct ban_feed *f);
