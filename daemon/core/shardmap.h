/* shardmap.h - an lru_map split in shards, one lock each, for tables every worker thread
 * touches (sources, connections). Bounded overall: each shard holds max / SHARDMAP_SHARDS. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/lrumap.h"

#define SHARDMAP_SHARDS 64 /* locks: enough that two workers rarely meet */

struct shard {
	pthread_mutex_t lock;
	struct lru_map map;
	uint64_t evicted; /* entries pushed out to make room; under lock */
};

struct shardmap {
	struct shard shards[SHARDMAP_SHARDS];
	bool single; /* one thread alone uses the map: no locks (shardmap_set_single) */
	/* This map among all made in the process, never 0 nor reused: a thread's memo of recent
	 * hashes (flow.c, tracker.c) names the map a hash was made for, since each has its own
	 * secret. */
	uint64_t id;
};

struct shardmap_stats {
	uint64_t entries, evicted;
};

/* Like lru_map_init(). Returns 0 or -ENOMEM (then call shardmap_deinit). */
int shardmap_init(struct shardmap *m, uint32_t max, const uint8_t key16[16], size_t key_off, size_t key_len);
/* Frees every entry through @free_node (may be NULL). Accepts a map whose init failed. */
void shardmap_deinit(struct shardmap *m, void (*free_node)(struct lru_node *));
/* The shard that holds @key, and the key's hash within it (for lru_map_find/upsert). The
 * caller locks the shard around any use (shardmap_lock). */
struct shard *shardmap_shard(struct shardmap *m, const void *key, uint64_t *hash);
/* Like shardmap_shard(), hashing @len bytes of @buf that stand for the key (see
 * lru_map_hash_bytes()): every lookup of one key must pass the same bytes. */
struct shard *shardmap_shard_bytes(struct shardmap *m, const void *buf, size_t len, uint64_t *hash);
/* The shard of a key whose hash @hash (from the two above) the caller kept. */
static inline struct shard *shardmap_shard_of(struct shardmap *m, uint64_t hash)
{
	return &m->shards[hash % SHARDMAP_SHARDS];
}
void shardmap_get_stats(struct shardmap *m, struct shardmap_stats *out);

/* For a map that one thread alone will ever touch (a replay reads its file and runs the
 * engine in one thread): shardmap_lock() and shardmap_unlock() then do nothing. An
 * uncontended lock and unlock were about 45 of a replayed TCP packet's 2,100 instructions.
 * Call it before the map's first use; never for the daemon's tables, which its workers, the
 * control socket and the metrics share. */
static inline void shardmap_set_single(struct shardmap *m)
{
	m->single = true;
}
/* Every use of shard @s of @m goes between these two. */
static inline void shardmap_lock(struct shardmap *m, struct shard *s)
{
	if (!m->single)
		pthread_mutex_lock(&s->lock);
}
static inline void shardmap_unlock(struct shardmap *m, struct shard *s)
{
	if (!m->single)
		pthread_mutex_unlock(&s->lock);
}
