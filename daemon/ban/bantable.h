/* bantable.h - the bans nfsentry knows are in the kernel, saved in state_dir so they survive
 * a reboot (kernel sets do not). The kernel is the truth while it runs: the ban writer
 * rebuilds this table from the sets periodically and restores it into fresh sets at start.
 * Not thread-safe, and not locked here: the ban writer thread alone changes it (under its lock)
 * and reads it without; other threads only read it, under that lock (banwriter_list()). A put
 * moves the entry to the head of the LRU list, so a walk (bantable_foreach(), bantable_save())
 * must not run beside a put from another thread. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ban/origin.h"
#include "core/addr.h"

struct ban_entry {
	struct nfs_addr addr; /* IPv4 host or IPv6 prefix */
	uint32_t offence;     /* which offence of this address the ban is for */
	uint64_t timeout_s;   /* the ban's length when it was made */
	int64_t until_ms;     /* when it ends, realtime */
	uint8_t det;          /* enum det: why (DET_MANUAL for hand-made and fleet bans) */
	uint8_t origin;       /* enum ban_origin: who (ban/origin.h) */
	char token[65];       /* its evidence record (docs/evidence.md), or "" */
};

struct bantable;

/* The origin a ban of detector @det has when nothing else says: manual for DET_MANUAL (nfsentryctl,
 * nft by hand), else this host's detectors. */
enum ban_origin bantable_origin_of_det(uint8_t det);

/* @max: entries kept (least recently put forgotten first). Returns 0 and the table in *@out,
 * or -ENOMEM. */
int bantable_new(struct bantable **out, uint32_t max, const uint8_t key16[16]);
/* Accepts NULL. */
void bantable_free(struct bantable *t);
/* Adds or replaces the entry of e->addr. Returns 0 or -ENOMEM. */
int bantable_put(struct bantable *t, const struct ban_entry *e);
/* The entry of @addr, or NULL. Valid until the next change. */
const struct ban_entry *bantable_get(struct bantable *t, const struct nfs_addr *addr);
/* Forgets the entry of @addr. Returns 0, or -ENOENT when there is none. */
int bantable_del(struct bantable *t, const struct nfs_addr *addr);
void bantable_clear(struct bantable *t);
size_t bantable_size(const struct bantable *t);
/* Calls @cb for every entry, oldest first; stops early when @cb returns non-zero. */
void bantable_foreach(struct bantable *t, int (*cb)(const struct ban_entry *e, void *data), void *data);

/* Writes the entries still running at @now_ms to @path atomically (temporary file, fsync,
 * rename). Returns the number written or -errno. */
int bantable_save(struct bantable *t, const char *path, int64_t now_ms);
/* Adds the entries of @path. A missing file is not an error. Lines that do not parse are
 * skipped and counted in @bad_lines. Returns entries loaded or -errno. */
int bantable_load(struct bantable *t, const char *path, unsigned *bad_lines);
