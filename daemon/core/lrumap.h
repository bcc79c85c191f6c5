/* lrumap.h - a bounded map keyed by address, hashed with a secret SipHash key, with an LRU
 * list for eviction. Intrusive: embed struct lru_node in your entry. Not thread-safe; callers
 * lock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

struct lru_node {
	struct nfs_addr key;
	uint64_t hash;
	struct lru_node *hnext;
	struct lru_node *prev, *next; /* head = most recently touched */
};

struct lru_map {
	struct lru_node **buckets;
	uint32_t nbuckets, count, max;
	struct lru_node *head, *tail;
	uint8_t hkey[16];
};

/* Returns 0 or -ENOMEM. @key16 is the SipHash-2-4 secret. */
int lru_map_init(struct lru_map *m, uint32_t max, const uint8_t key16[16]);
/* Calls @free_node (may be NULL) on every node, then releases the buckets. */
void lru_map_deinit(struct lru_map *m, void (*free_node)(struct lru_node *));
uint64_t lru_map_hash(const uint8_t key16[16], const struct nfs_addr *k);
/* Finds @k (hash @h from lru_map_hash()) without touching it. */
struct lru_node *lru_map_find(struct lru_map *m, const struct nfs_addr *k, uint64_t h);
/* Links @n (key and hash set by the caller) at the head. The caller checks lru_map_full()
 * first and removes lru_map_oldest() to make room. */
void lru_map_insert(struct lru_map *m, struct lru_node *n);
/* Unlinks @n; the caller frees it. */
void lru_map_remove(struct lru_map *m, struct lru_node *n);
void lru_map_touch(struct lru_map *m, struct lru_node *n);
/* Finds @k (hash @h) and touches it, or links a new zeroed node of @size bytes for it,
 * evicting the least recently touched node through @free_node when the map is full. Returns
 * the node (NULL when out of memory; nothing changed then). *@created and *@evicted, when not
 * NULL, say what happened. */
struct lru_node *lru_map_upsert(struct lru_map *m, const struct nfs_addr *k, uint64_t h, size_t size,
				void (*free_node)(struct lru_node *), bool *created, bool *evicted);
static inline int lru_map_full(const struct lru_map *m) { return m->count >= m->max; }
static inline struct lru_node *lru_map_oldest(const struct lru_map *m) { return m->tail; }
