/* ghost.h - the last port of sources recently evicted from the tracker's probation stage,
 * remembered by their keyed hash only (2Q's "A1out" list: Johnson & Shasha, "2Q: A Low
 * Overhead High Performance Buffer Management Replacement Algorithm", VLDB 1994, sec. 2).
 *
 * A FIFO of fixed capacity: an entry is forgotten after @cap later entries, whatever their
 * sources, so a flood of forged one-port sources cannot make it shorter than that. Not
 * thread-safe; the tracker calls it under the lock of the shard it belongs to. */
#pragma once

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

/* 16 bytes: the tracker keeps two per source it can hold (issue 14: memory per source). */
struct ghost_entry {
	uint32_t tag;   /* the source's hash (lru_map_hash) folded to 32 bits: the two halves XORed */
	uint32_t when;  /* when its last port was tried (tracker seconds) */
	uint32_t next;  /* chain in the index; a marker naming the bucket ends it (ghost.c) */
	uint16_t port;
	uint8_t proto;
	uint8_t cls : 7; /* its probe class (enum trk_class), for the counts */
	bool live : 1;   /* false: a free slot */
};

struct ghost {
	struct ghost_entry *ring;
	uint32_t *heads;          /* index: hash -> first ring slot of its chain, or its end marker */
	uint32_t cap, nheads, pos; /* pos: the slot the next entry takes (the oldest) */
};

/* Returns 0, -EINVAL (@cap of 2^31 or more) or -ENOMEM (then call ghost_deinit). */
int ghost_init(struct ghost *g, uint32_t cap);
void ghost_deinit(struct ghost *g);
/* Remembers that the source with hash @h was evicted, its last port (@proto, @port) tried at
 * @when with a probe of class @cls; the oldest entry makes room. */
void ghost_put(struct ghost *g, uint64_t h, uint8_t proto, uint16_t port, uint8_t cls, uint32_t when);
/* Takes (finds and forgets) the entry of @h into @out. Returns true if there was one. Two
 * hashes with the same bucket and the same 32-bit fold are one entry: for a keyed hash, a
 * chance of 2^-32 per entry in the chain, and the cost is a port counted for the wrong source. */
bool ghost_take(struct ghost *g, uint64_t h, struct ghost_entry *out);
