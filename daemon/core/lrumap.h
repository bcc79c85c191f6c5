/* lrumap.h - a bounded map with fixed-size keys, hashed with a secret key (libsodium's
 * SipHash-2-4), with an LRU list for eviction. Intrusive: embed struct lru_node at the
 * start of your entry and keep the key at a fixed offset in it. Not thread-safe; callers lock.
 *
 * A node is three pointers (24 bytes: every source and connection has one). It keeps no
 * hash: a lookup compares keys (a chain holds about one node, the buckets being at least as
 * many as the entries), and a chain ends in a marker holding its bucket's index instead of
 * NULL (the "nulls" lists of Linux's include/linux/list_nulls.h), so a node is unlinked
 * without hashing its key again. */
#pragma once

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct lru_node {
	struct lru_node *hnext;       /* or the end marker of its chain: (bucket << 1) | 1 */
	struct lru_node *prev, *next; /* head = most recently touched */
};

static_assert(sizeof(struct lru_node) <= 24, "every source and connection carries one (issue 14)");

struct lru_map {
	struct lru_node **buckets;    /* NULL (never used), an end marker (emptied) or a chain */
	uint32_t nbuckets, count, max;
	struct lru_node *head, *tail;
	size_t key_off, key_len; /* where an entry keeps its key, relative to its lru_node */
	uint8_t hkey[16];
};

/* A list of the caller's beside the map's own LRU list, for entries that are in the map's
 * index but kept in another order (the tracker's probation stage, a FIFO, shares the main
 * stage's buckets: one lookup finds a source in either). */
struct lru_list {
	struct lru_node *head, *tail; /* head = newest */
	uint32_t count;
};

/* Returns 0 or -ENOMEM. @key16 is the SipHash secret. Entries keep a key of @key_len bytes
 * at @key_off bytes from the start of their struct lru_node (offsetof(entry, key) when the
 * node is the entry's first member). Keys are compared as bytes: zero their padding. */
int lru_map_init(struct lru_map *m, uint32_t max, const uint8_t key16[16], size_t key_off, size_t key_len);
/* Empties @m at once and hands its nodes to the caller: returns the oldest, and each node's
 * prev is the next oldest (NULL after the newest). For a table emptied whole: unlinking each
 * node walked its chain twice and its bucket (the flow table at the end of a replay). */
struct lru_node *lru_map_take_all(struct lru_map *m);
/* Calls @free_node (may be NULL) on every node, then releases the buckets. */
void lru_map_deinit(struct lru_map *m, void (*free_node)(struct lru_node *));
uint64_t lru_map_hash(const struct lru_map *m, const void *key);
/* The same keyed hash over @len bytes of @buf: for a caller whose key has a shorter form that
 * determines it (an IPv4 connection is 12 bytes of its 44-byte key; SipHash's cost grows with
 * the length). Equal keys must give equal bytes; the map still compares whole keys. */
uint64_t lru_map_hash_bytes(const struct lru_map *m, const void *buf, size_t len);
/* Finds @key (hash @h from lru_map_hash()) without touching it. */
struct lru_node *lru_map_find(struct lru_map *m, const void *key, uint64_t h);

/* The end of a chain: NULL (a bucket never used) or its end marker. */
static inline bool lru_map_chain_end(const struct lru_node *n)
{
	return !n || ((uintptr_t)n & 1);
}

static inline uint32_t lru_map_bucket(const struct lru_map *m, uint64_t h)
{
	/* Low bits may pick a shard in the caller; use the high half here. */
	return (uint32_t)(h >> 32) & (m->nbuckets - 1);
}

/* lru_map_find() inlined in a caller whose keys are @key_len bytes, a constant there: the
 * comparison is a memcmp of constant size, which the compiler turns into a few loads (the
 * out-of-line lookup called memcmp with m->key_len for every node it met: a call per packet
 * for the flow table). @key_len must equal the map's key_len. */
static inline __attribute__((always_inline)) struct lru_node *lru_map_find_fixed(const struct lru_map *m,
										 const void *key, uint64_t h,
										 size_t key_len)
{
	for (struct lru_node *n = m->buckets[lru_map_bucket(m, h)]; !lru_map_chain_end(n); n = n->hnext)
		if (memcmp((const char *)n + m->key_off, key, key_len) == 0)
			return n;
	return NULL;
}
/* Links @n (its key set by the caller, @h its hash) at the head. The caller checks
 * lru_map_full() first and removes lru_map_oldest() to make room. */
void lru_map_insert(struct lru_map *m, struct lru_node *n, uint64_t h);
/* Unlinks @n; the caller frees it. */
void lru_map_remove(struct lru_map *m, struct lru_node *n);
/* Like lru_map_insert() and lru_map_remove(), with @l instead of @m's own list (and its
 * count: @m->count and lru_map_full() leave these entries out). */
void lru_map_insert_list(struct lru_map *m, struct lru_node *n, uint64_t h, struct lru_list *l);
void lru_map_remove_list(struct lru_map *m, struct lru_node *n, struct lru_list *l);
/* Moves @n to the head of the LRU list (the out-of-line part of lru_map_touch()). */
void lru_map_touch_move(struct lru_map *m, struct lru_node *n);
/* Makes @n the most recently touched. Inline: most touches find it at the head already (the
 * packets of one connection come together). */
static inline void lru_map_touch(struct lru_map *m, struct lru_node *n)
{
	if (m->head != n)
		lru_map_touch_move(m, n);
}
/* Finds @key (hash @h) and touches it, or links a new zeroed entry of @size bytes for it,
 * evicting the least recently touched node through @free_node when the map is full. Returns
 * the node (NULL when out of memory; nothing changed then). *@created and *@evicted, when not
 * NULL, say what happened. */
struct lru_node *lru_map_upsert(struct lru_map *m, const void *key, uint64_t h, size_t size,
				void (*free_node)(struct lru_node *), bool *created, bool *evicted);
static inline int lru_map_full(const struct lru_map *m) { return m->count >= m->max; }
static inline struct lru_node *lru_map_oldest(const struct lru_map *m) { return m->tail; }
