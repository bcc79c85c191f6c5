/* decmap.h - the fleet's decisions the bridge applied: value (an address or prefix) -> the
 * ids of the decisions naming it, and the latest end among them. The LAPI may hold several
 * decisions for one value (two machines saw the same scanner); the value is unbanned only
 * when the last of them is deleted. Bounded: at most @max decision ids in all, whatever the
 * stream sends. Keys are hashed with a secret key (SipHash), so a fleet member cannot choose
 * values that collide. Not thread-safe (the bridge has one thread). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

struct decmap;

/* Returns 0 and an empty map of at most @max ids in *@out, or -ENOMEM / -EINVAL. */
int decmap_new(struct decmap **out, size_t max);
/* Accepts NULL. */
void decmap_free(struct decmap *m);
/* Records decision @id on @addr, ending at @until_ms (any clock, as long as one). Returns
 * 1 when the value is new or its end moved later (the daemon must be told: ban it until
 * then), 0 when nothing changed for the kernel (a known id, or an earlier end than one
 * already held), -ENOSPC when the map holds @max ids, -ENOMEM. */
int decmap_add(struct decmap *m, const struct nfs_addr *addr, int64_t id, int64_t until_ms);
/* Forgets decision @id on @addr. Returns 1 when that was the value's last decision (unban
 * it), 0 when others still hold it, -ENOENT when the id was not held (the stream repeats
 * deletions: that is fine). */
int decmap_del(struct decmap *m, const struct nfs_addr *addr, int64_t id);
/* The latest end held for @addr, or -ENOENT. */
int decmap_until(const struct decmap *m, const struct nfs_addr *addr, int64_t *until_ms);
/* Decision ids and values held. */
size_t decmap_ids(const struct decmap *m);
size_t decmap_values(const struct decmap *m);
/* Calls @cb for each value (in no order); @cb must not change the map. */
void decmap_foreach(const struct decmap *m, void (*cb)(const struct nfs_addr *addr, int64_t until_ms, void *arg),
		    void *arg);
