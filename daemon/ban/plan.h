/* plan.h - the ban writer's decisions, kept pure: ban requests, the ban settings, what the
 * ruleset saw of their sources, the offence history and the ban table in; set elements to
 * commit or delete, skips and outcomes out. No I/O, no locks, no clock (the time is passed
 * in), no logging: the writer thread logs and reports each outcome once, where it applies it
 * (ban/apply.c, ban/manual.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ban/banq.h"
#include "ban/bantable.h"
#include "ban/offences.h"
#include "core/netlist.h"
#include "decide/protect.h"
#include "nft/setelem.h"

/* The [ban] and [allow] settings the writer decides with, and the protected peers. */
struct ban_settings {
	uint64_t duration, max_duration, forget, ipv6_prefix;
	uint64_t active_peers; /* seconds; 0: active peers are banned like anyone */
	double factor;
	struct netlist allow, protect;
	struct protect_ends ends; /* what each protected entry is */
	/* [fleet] */
	uint64_t fleet_max_bans, fleet_min_prefix4, fleet_min_prefix6, fleet_max_duration;
};

/* What the ruleset saw of a scan request's source (sets active4, active6, active6net): it
 * exchanged data with this host within [allow] active_peers (host), or an address of its /64
 * did (net). Only a peer that completed a handshake gets data from this host, so neither can
 * be forged by a scan (docs/security.md, "Item 6"). */
struct ban_active {
	bool host, net;
	uint64_t age_s;
	/* A distributed scan's request: its prefix holds active peer @peer (age_s is then its). */
	bool in_prefix;
	struct nfs_addr peer;
};

/* What becomes of one request of a burst. */
enum ban_verdict {
	BAN_VERDICT_MANUAL = 0,    /* from the control socket: not planned with the burst */
	BAN_VERDICT_BAN,           /* elems[elem] of the plan */
	BAN_VERDICT_DUP,           /* the same address as an earlier element of the burst */
	BAN_VERDICT_ALLOWED,       /* allowlisted by allow.net[net] */
	BAN_VERDICT_PROTECTED,     /* holds protected peer protect.net[net] */
	BAN_VERDICT_ACTIVE,        /* an active peer itself: a scan alone does not ban it */
	BAN_VERDICT_ACTIVE_PREFIX, /* a distributed scan's prefix that holds an active peer */
};

/* Why a request's IPv6 prefix was narrowed to its host. */
enum ban_narrow {
	BAN_NARROW_NONE = 0,
	BAN_NARROW_LISTED, /* the prefix holds allowed or protected addresses */
	BAN_NARROW_ACTIVE, /* the prefix holds an active peer (not the scanner) */
};

struct ban_step {
	uint8_t verdict;      /* enum ban_verdict */
	uint8_t narrowed;     /* enum ban_narrow */
	struct nfs_addr addr; /* what is banned or refused: the request's addr, or its host */
	size_t net;           /* ALLOWED, PROTECTED: the entry's index in allow or protect */
	size_t elem;          /* BAN: the element's index */
};

struct ban_plan {
	size_t n; /* steps: one per request, in order */
	struct ban_step step[NFTSET_BATCH_MAX];
	size_t m; /* elements to add, in the order of their requests */
	struct nftset_elem elems[NFTSET_BATCH_MAX];
	uint32_t offence[NFTSET_BATCH_MAX]; /* which offence of its address each element is */
	size_t from[NFTSET_BATCH_MAX];      /* each element's request */
};

/* Plans @n <= NFTSET_BATCH_MAX requests: @act[i] is what the ruleset saw of request i's source
 * (all false: nothing seen, or not asked), @o the offence history (only read), @now_s the wall
 * clock in seconds (offences are stored with it). An IPv6 prefix that holds allowed, protected
 * or active addresses is narrowed to the offending host; then duplicates, the allowlist,
 * protected peers and active peers are skipped, in that order; the rest escalate with their
 * previous offences. */
void ban_plan_burst(struct ban_plan *p, const struct ban_request *req, size_t n, const struct ban_active *act,
		    const struct ban_settings *s, struct offences *o, int64_t now_s);

/* Plans a ban asked for on the control socket: the same rules as for automatic bans (an
 * IPv6 host widened to [ban] ipv6_prefix, allowlisted and protected addresses refused), its
 * length the request's or [ban] duration. Fills @e; returns BAN_VERDICT_BAN, or
 * BAN_VERDICT_ALLOWED or BAN_VERDICT_PROTECTED with the entry's index in @net. */
enum ban_verdict ban_plan_manual(const struct ban_request *rq, const struct ban_settings *s, struct nftset_elem *e,
				 size_t *net);

/* The bans to lift because they hold a protected peer now. */
struct ban_lift {
	size_t n;
	struct nftset_elem e[NFTSET_BATCH_MAX]; /* to delete */
	size_t net[NFTSET_BATCH_MAX];           /* the protected entry inside each: its index in protect */
};

/* A peer that became protected while banned (a new gateway or resolver that a forged scan had
 * already got banned) would stay cut off until the ban expires. Fills @l with the bans of
 * @bans (only read; the caller holds what guards it) that overlap a protected entry of @s, in
 * the table's order, NFTSET_BATCH_MAX at most: the rest at the next change, more is not a
 * real case. */
void ban_plan_protected(struct ban_lift *l, struct bantable *bans, const struct ban_settings *s);

/* Plans an unban asked for on the control socket: fills @e with the ban the writer knows that
 * is @rq->host or holds it (its IPv6 prefix, a distributed scan's prefix: then in its bannet
 * set), the first in @bans' order (only read; the caller holds what guards it); else with
 * @rq->host itself, an IPv6 host widened to [ban] ipv6_prefix as a ban by hand of it was. */
void ban_plan_unban(const struct ban_request *rq, struct bantable *bans, const struct ban_settings *s,
		    struct nftset_elem *e);

/* The set of @in is full: which ban of @bans (only read) gives way to it. The one of @in's set
 * that expires soonest: a set filled with bans of forged sources then cannot keep the next real
 * scanner out, and the long bans of repeat offenders go last. Bans made by hand (through the
 * control socket, or with nft and adopted) are the operator's and never give way. Returns
 * true and the ban in @out, or false when none can. */
bool ban_plan_displaced(struct bantable *bans, const struct nftset_elem *in, struct ban_entry *out);

/* The kernel's answer to one element of a committed batch. */
enum ban_answer {
	BAN_ANSWER_ADDED = 0,
	BAN_ANSWER_ALREADY, /* -EEXIST: banned by hand, or an earlier ban of queued packets */
	BAN_ANSWER_NO_SET,  /* -ENOENT: no such table or set: not a refusal of this ban, retried */
	BAN_ANSWER_FULL,    /* -ENFILE: the set is at its size */
	BAN_ANSWER_REFUSED, /* any other -errno */
};

enum ban_answer ban_plan_answer(int res);
