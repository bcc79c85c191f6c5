/* setlookup.h - questions about single elements of the sets the ruleset fills by itself (the
 * active peers: active4, active6, active6net): is this address in the set, and since when.
 * Every question is one GETSETELEM message; a burst of them goes out in one datagram, so it
 * costs one round trip, not one per address. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "nft/nl.h"

#define NFTSET_ACTIVE4 "active4"       /* IPv4 peers that exchanged data with this host */
#define NFTSET_ACTIVE6 "active6"       /* the same, IPv6, per address */
#define NFTSET_ACTIVE6NET "active6net" /* the /64s of active6's addresses */
#define NFTSET_LOOKUP_MAX 768          /* questions per call: three per ban request of a burst */

struct nftset_query {
	const char *set;      /* in table inet nfsentry; a name of at most 32 bytes */
	struct nfs_addr key;  /* looked up exactly: an IPv4 or IPv6 address (plen ignored) */
	/* answers */
	bool found;
	uint64_t age_ms;      /* since the element was last added or refreshed: its timeout (its
				 own, or the set's) minus the time it has left */
	int err;              /* 0 (found or not), or -ENOENT when the set does not exist, or
				 the kernel's -errno */
};

/* Calls @cb for each address in @set (active4 or active6) with its age as above, in one dump:
 * as many calls as the set holds (at most its size in the ruleset, 65536 as shipped).
 * Returns 0, -ENOENT when the table or the set does not exist, or -errno. */
int nftset_ages(struct nl *nl, const char *set, void (*cb)(const struct nfs_addr *a, uint64_t age_ms, void *data),
		void *data);

/* Asks about @n <= NFTSET_LOOKUP_MAX elements. Returns 0 (each query answered in its fields),
 * -E2BIG, or -errno when the conversation failed (then no answer can be trusted). */
int nftset_lookup(struct nl *nl, struct nftset_query *q, size_t n);
