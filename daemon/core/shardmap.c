/* shardmap.c - see shardmap.h. */
#include "core/shardmap.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

static _Atomic uint64_t shardmap_ids = 1; /* 0: no map (an empty memo slot) */

int shardmap_init(struct shardmap *m, uint32_t max, const uint8_t key16[16], size_t key_off, size_t key_len)
{
	uint32_t per = max / SHARDMAP_SHARDS ? max / SHARDMAP_SHARDS : 1;

	memset(m, 0, sizeof(*m));
	m->id = atomic_fetch_add(&shardmap_ids, 1);
	for (int i = 0; i < SHARDMAP_SHARDS; i++) {
		pthread_mutex_init(&m->shards[i].lock, NULL);
		if (lru_map_init(&m->shards[i].map, per, key16, key_off, key_len) < 0)
			return -ENOMEM;
	}
	return 0;
}

void shardmap_deinit(struct shardmap *m, void (*free_node)(struct lru_node *))
{
	for (int i = 0; i < SHARDMAP_SHARDS; i++) {
		if (m->shards[i].map.buckets)
			lru_map_deinit(&m->shards[i].map, free_node);
		pthread_mutex_destroy(&m->shards[i].lock);
	}
}

struct shard *shardmap_shard(struct shardmap *m, const void *key, uint64_t *hash)
{
	return shardmap_shard_bytes(m, key, m->shards[0].map.key_len, hash);
}

struct shard *shardmap_shard_bytes(struct shardmap *m, const void *buf, size_t len, uint64_t *hash)
{
	/* Every shard has the same secret: one hash picks the shard (low bits) and the bucket
	 * inside it (high bits, see lrumap.c). */
	uint64_t h = lru_map_hash_bytes(&m->shards[0].map, buf, len);
	*hash = h;
	return shardmap_shard_of(m, h);
}

void shardmap_get_stats(struct shardmap *m, struct shardmap_stats *out)
{
	struct shardmap_stats st = { 0 };
	for (int i = 0; i < SHARDMAP_SHARDS; i++) {
		shardmap_lock(m, &m->shards[i]);
		st.entries += m->shards[i].map.count;
		st.evicted += m->shards[i].evicted;
		shardmap_unlock(m, &m->shards[i]);
	}
	*out = st;
}
