/* offences.h - who was banned before, how often, and how long the next ban is. Kept in
 * state_dir so escalation survives restarts. Owned by the ban writer thread (not locked). */
#pragma once

#include <stdint.h>

#include "core/addr.h"

struct offences;

/* @max: offenders remembered (least recently banned forgotten first). @key16: hash secret.
 * Returns 0 and the history in *@out, or -ENOMEM. */
int offences_new(struct offences **out, uint32_t max, const uint8_t key16[16]);
/* Accepts NULL. */
void offences_free(struct offences *o);

/* Previous offences of @a still remembered at @now (realtime seconds): 0 when never banned or
 * when the last ban is older than @forget seconds. */
uint32_t offences_count(struct offences *o, const struct nfs_addr *a, int64_t now, uint64_t forget);
/* Records that @a was banned for the @count-th time at @now. Returns 0 or -ENOMEM. */
int offences_record(struct offences *o, const struct nfs_addr *a, uint32_t count, int64_t now);
uint32_t offences_size(const struct offences *o);

/* Ban length for offence number @n (1 = first): duration * factor^(n-1), at most @max. */
uint64_t offences_ban_seconds(uint64_t duration, double factor, uint64_t max, uint32_t n);

/* Writes the history to @path atomically (temporary file, fsync, rename). Returns 0 or -errno. */
int offences_save(struct offences *o, const char *path);
/* Merges the history in @path. A missing file is not an error. Lines that do not parse are
 * skipped and counted in @bad_lines (the rest still loads). Returns entries loaded or -errno. */
int offences_load(struct offences *o, const char *path, unsigned *bad_lines);
