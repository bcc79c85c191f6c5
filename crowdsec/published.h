/* published.h - which local bans the LAPI already has, by address and end, so that reading
 * the daemon's `bans` again (after a restart of either, or after the watch lost events) does
 * not publish them twice. Bounded (@max, the oldest forgotten first: publishing one twice is
 * the harmless failure) and kept in state_dir/published.txt, one "ADDRESS UNTIL" a line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

struct published {
	struct pub_entry {
		struct nfs_addr addr;
		int64_t until;
		uint32_t next; /* the next slot of its hash chain, or PUB_NONE */
	} *items; /* a ring of max */
	uint32_t *buckets; /* nbuckets heads of chains of slots: a lookup per decision of the stream
			    * must not walk the whole memory (100,000 decisions x 40,000 entries) */
	size_t nbuckets;
	size_t head, n, max;
	uint8_t key[16]; /* SipHash key (addrhash.h): the addresses are a scanner's choice */
	bool dirty;
};

#define PUB_NONE UINT32_MAX

int published_init(struct published *p, size_t max);
void published_deinit(struct published *p);
void published_add(struct published *p, const struct nfs_addr *addr, int64_t until);
/* True if @addr was published with an end within @slack seconds of @until (the daemon's
 * `bans` gives seconds left, so an end read from it is off by up to a second or two). */
bool published_has(const struct published *p, const struct nfs_addr *addr, int64_t until, int64_t slack);
/* Forgets entries that ended before @now. */
void published_expire(struct published *p, int64_t now);
int published_save(struct published *p, const char *path);
/* A missing file is an empty memory; bad lines are skipped. Returns 0 or -errno. */
int published_load(struct published *p, const char *path);
