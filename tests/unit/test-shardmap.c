/* test-shardmap.c - the sharded LRU map (core/shardmap.h): a key always lands in the same
 * shard with the same hash, keys spread over the shards, each shard is bounded by its share of
 * the maximum (evictions counted by the caller show in the stats), and the stats add up. */
#include <stdlib.h>

#include "core/shardmap.h"
#include "tap.h"

struct entry {
	struct lru_node node;
	uint32_t key;
};

static unsigned freed;

static void free_node(struct lru_node *n)
{
	freed++;
	free(n);
}

int main(void)
{
	static const uint8_t key16[16] = "shardmapshardmap";
	struct shardmap *m = calloc(1, sizeof(*m));
	uint64_t h1, h2;
	bool used[SHARDMAP_SHARDS] = { false };
	unsigned nused = 0;

	CHECK(m && shardmap_init(m, 64 * 4, key16, offsetof(struct entry, key), sizeof(uint32_t)) == 0,
	      "a map of 256: 4 per shard");
	uint32_t k = 42;
	struct shard *s1 = shardmap_shard(m, &k, &h1), *s2 = shardmap_shard(m, &k, &h2);
	CHECK(s1 == s2 && h1 == h2, "one key, one shard, one hash");
	for (uint32_t i = 0; i < 4096; i++) {
		uint64_t h;
		struct shard *s = shardmap_shard(m, &i, &h);
		size_t idx = (size_t)(s - m->shards);
		nused += !used[idx];
		used[idx] = true;
	}
	CHECK_EQ(nused, SHARDMAP_SHARDS, "4096 keys reach every shard");

	/* Fill through the shards, as the tracker does: 4096 keys in a map of 256. */
	for (uint32_t i = 0; i < 4096; i++) {
		uint64_t h;
		bool created, evicted;
		struct shard *s = shardmap_shard(m, &i, &h);
		pthread_mutex_lock(&s->lock);
		struct entry *e = (struct entry *)lru_map_upsert(&s->map, &i, h, sizeof(*e), free_node, &created, &evicted);
		if (e && created)
			e->key = i;
		if (evicted)
			s->evicted++;
		pthread_mutex_unlock(&s->lock);
	}
	struct shardmap_stats st;
	shardmap_get_stats(m, &st);
	CHECK(st.entries == 256 && st.evicted == 4096 - 256 && freed == st.evicted,
	      "bounded: %llu entries, %llu evicted (%u freed)", (unsigned long long)st.entries,
	      (unsigned long long)st.evicted, freed);
	shardmap_deinit(m, free_node);
	CHECK_EQ(freed, 4096, "deinit frees the rest");
	free(m);
	return tap_done();
}
