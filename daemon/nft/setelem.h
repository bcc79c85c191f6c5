/* setelem.h - ban set elements in table inet nfsentry: build NEWSETELEM batches, commit them
 * surviving a refused element, and list what a set holds. */
#pragma once

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "nft/nl.h"

#define NFTSET_TABLE "nfsentry"
#define NFTSET_BAN4 "ban4"
#define NFTSET_BAN6 "ban6" /* flags interval, timeout: holds prefixes */
/* Prefix bans of distributed scans (flags interval, timeout): apart from ban4, a hash set
 * that cannot hold prefixes, and from ban6, whose /64s a /48 would overlap (an interval set
 * refuses overlapping elements). */
#define NFTSET_BANNET4 "bannet4"
#define NFTSET_BANNET6 "bannet6"
/* Bans of the fleet (CrowdSec's decisions, applied by nfsentry-crowdsec: docs/crowdsec.md), in
 * sets of their own: a fleet decision and a local ban of the same address live and expire
 * apart, a fleet unban can only ever delete a fleet element, and `nft list ruleset` shows which
 * is which. Addresses (Ip scope) in hash sets, prefixes (Range scope) in interval sets. */
#define NFTSET_FLEET4 "fleet4"
#define NFTSET_FLEET6 "fleet6"
#define NFTSET_FLEETNET4 "fleetnet4"
#define NFTSET_FLEETNET6 "fleetnet6"
#define NFTSET_BATCH_MAX 256 /* elements per transaction; bounds the ack burst */

struct nftset_elem {
	struct nfs_addr addr; /* IPv4 host (ban4), or IPv6 prefix (ban6); with @net a prefix */
	bool net;             /* a prefix ban of a distributed scan: bannet4 or bannet6 */
	bool fleet;           /* a fleet ban: fleet4/fleet6, or with @net fleetnet4/fleetnet6 */
	uint64_t timeout_ms;  /* 0 = the set's default */
	uint64_t expires_ms;  /* time left: filled by nftset_dump(); when adding, 0 = the
				 whole timeout, else a restored ban's remaining time */
};

static inline const char *nftset_name(const struct nfs_addr *a)
{
	return a->family == AF_INET ? NFTSET_BAN4 : NFTSET_BAN6;
}

/* The set that holds @e: nftset_name(), or bannet4/bannet6 for a prefix ban (an IPv4 prefix
 * is always one); for a fleet ban fleet4/fleet6, or fleetnet4/fleetnet6 with @net or a prefix. */
static inline const char *nftset_elem_set(const struct nftset_elem *e)
{
	if (e->fleet) {
		if (e->addr.family == AF_INET)
			return e->net || e->addr.plen != 32 ? NFTSET_FLEETNET4 : NFTSET_FLEET4;
		return e->net || e->addr.plen != 128 ? NFTSET_FLEETNET6 : NFTSET_FLEET6;
	}
	if (e->addr.family == AF_INET)
		return e->net || e->addr.plen != 32 ? NFTSET_BANNET4 : NFTSET_BAN4;
	return e->net ? NFTSET_BANNET6 : NFTSET_BAN6;
}

/* Appends one message (NEWSETELEM or DELSETELEM per @type) for @e to @b with sequence @seq,
 * asking for an ack. NEWSETELEM is exclusive: an element already in the set is refused with
 * -EEXIST rather than silently kept. Returns 0 or -ENOSPC (batch full). */
int nftset_batch_add(struct mnl_nlmsg_batch *b, uint16_t type, const struct nftset_elem *e, uint32_t seq);

/* Adds (NFT_MSG_NEWSETELEM) or removes (NFT_MSG_DELSETELEM) @n <= NFTSET_BATCH_MAX elements
 * as one transaction. A transaction with one refused message is aborted by the kernel as a
 * whole, so refused elements are taken out and the rest is sent again. @res[i] gets 0 or the
 * kernel's -errno for element i. Returns the number applied, or -errno when the conversation
 * failed and the outcome is unknown. */
int nftset_commit(struct nl *nl, uint16_t type, const struct nftset_elem *e, size_t n, int *res);

/* Deletes @out and adds @in in one transaction, so that a full set takes @in in place of @out
 * (the kernel lets an add use the room a delete of the same transaction frees) and neither
 * happens without the other. @res gets the kernel's answer to each: 0 or -errno. Returns 0
 * when both were applied, the first refusal's -errno (nothing applied), or -errno when the
 * conversation failed and the outcome is unknown. */
int nftset_swap(struct nl *nl, const struct nftset_elem *out, const struct nftset_elem *in, int res[2]);

/* Builds in @buf (NL_MSG_BUF bytes) a request of @type (NFT_MSG_GETSET, or NFT_MSG_GETSETELEM)
 * about @set of table inet nfsentry, with @flags and sequence @seq. Returns the message in
 * @buf, or NULL when out of memory. */
struct nlmsghdr *nftset_request(char *buf, uint16_t type, uint16_t flags, const char *set, uint32_t seq);

/* Calls @cb for each element of @set: the intervals of ban6, bannet4, bannet6, fleetnet4 and
 * fleetnet6 folded back into prefixes (e->net set for the bannet and fleetnet sets, e->fleet for
 * the fleet sets); any other set is taken to hold addresses (ban4, fleet4, fleet6, active4,
 * active6). Returns 0, or -ENOENT when the table or the set does not exist, or
 * another -errno. */
int nftset_dump(struct nl *nl, const char *set, int (*cb)(const struct nftset_elem *e, void *data), void *data);

/* What a set's declaration says that decides whether nfsentry can write bans to it. */
struct nftset_decl {
	uint32_t flags;  /* NFT_SET_INTERVAL, NFT_SET_TIMEOUT, ... */
	uint32_t policy; /* NFT_SET_POL_PERFORMANCE (also when the kernel sends none) or _MEMORY */
};
/* Reads @set's declaration into @out. Returns 0, -ENOENT when the table or the set does not
 * exist, or -errno. */
int nftset_decl_read(struct nl *nl, const char *set, struct nftset_decl *out);
