/* pending.h - the local bans not yet accepted by the LAPI, oldest first, kept in
 * state_dir/pending.jsonl so that a restart or a LAPI outage loses none. Bounded: at most
 * @max; when full, the oldest gives way (it has the least time left to matter). The file is
 * rewritten whole and atomically (core/atomicfile.h) by pending_save(), which the bridge
 * calls once per turn of its loop when something changed, not once per ban. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "alert.h"

struct pending {
	struct cs_ban *items; /* a ring of max */
	size_t head, n, max;
	size_t dropped;       /* oldest items pushed out because the queue was full */
	bool dirty;           /* changed since the last save */
};

/* Returns 0 or -ENOMEM / -EINVAL (@max 0). */
int pending_init(struct pending *p, size_t max);
void pending_deinit(struct pending *p);
/* Appends @b (the oldest is dropped when full: returns 1 then, else 0). */
int pending_push(struct pending *p, const struct cs_ban *b);
/* The @i-th oldest item (i < n). */
struct cs_ban *pending_at(struct pending *p, size_t i);
/* Removes the @k oldest items. */
void pending_pop(struct pending *p, size_t k);
/* The newest item for @addr, or NULL: an evidence token finds its ban through it. */
struct cs_ban *pending_find(struct pending *p, const struct nfs_addr *addr);
/* Writes the queue to @path atomically (mode 0600). Returns 0 or -errno. */
int pending_save(struct pending *p, const char *path);
/* Appends the items of @path (a missing file is an empty queue). Lines that do not parse are
 * skipped and counted in *@bad. Returns 0 or -errno. */
int pending_load(struct pending *p, const char *path, size_t *bad);
