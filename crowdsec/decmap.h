/* decmap.h - the fleet's decisions the bridge applied: value (an address or prefix) -> the
 * ids of the decisions naming it, and the latest end among them. The LAPI may hold several
 * decisions for one value (two machines saw the same scanner), but its decision stream
 * reports them per value, not per decision (crowdsec 1.4.6, measured: with ids 1 and 2 on one
 * address, deleting id 2 produced no "deleted" entry at all; deleting id 1 then produced a
 * "deleted" entry for id 1 only). So a "deleted" entry means the value has no decision left
 * at the LAPI: decmap_del() forgets the value with all its ids, whichever id was named. Bounded: at most @max decision ids in all, whatever the
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
/* Forgets @addr and all the decision ids held for it (a "deleted" entry in the stream: the
 * value has no decision left at the LAPI). Returns 1 when it was held (unban it), -ENOENT
 * when not (the stream repeats deletions: that is fine). */
int decmap_del(struct decmap *m, const struct nfs_addr *addr);
/* The latest end held for @addr, or -ENOENT. */
int decmap_until(const struct decmap *m, const struct nfs_addr *addr, int64_t *until_ms);
/* Decision ids and values held. */
size_t decmap_ids(const struct decmap *m);
size_t decmap_values(const struct decmap *m);
/* Calls @cb for each value (in no order); @cb must not change the map. */
void decmap_foreach(const struct decmap *m, void (*cb)(const struct nfs_addr *addr, int64_t until_ms, void *arg),
		    void *arg);
