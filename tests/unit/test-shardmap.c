/* test-shardmap.c - the sharded LRU map (core/shardmap.h): a key always lands in the same
 * shard with the same hash, keys spread over the shards, each shard is bounded by its share of
 * the maximum (evictions counted by the caller show in the stats), the stats add up, and a map
 * one thread alone uses takes no locks. */
#include <stddef.h>
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
	/* Removal finds a node's chain without its hash (the chain's end names the bucket): every
	 * other key stays findable, with crowded chains in a map of 16 buckets holding 64 keys. */
	struct lru_map small;
	struct entry *es = calloc(64, sizeof(*es));
	CHECK(es && lru_map_init(&small, 16, key16, offsetof(struct entry, key), sizeof(uint32_t)) == 0,
	      "a map of 16 buckets");
	small.max = 64;
	for (uint32_t i = 0; i < 64; i++) {
		es[i].key = i * 7919;
		lru_map_insert(&small, &es[i].node, lru_map_hash(&small, &es[i].key));
	}
	unsigned found = 0, gone = 0;
	for (uint32_t i = 0; i < 64; i += 3)
		lru_map_remove(&small, &es[i].node);
	for (uint32_t i = 0; i < 64; i++) {
		struct lru_node *n = lru_map_find(&small, &es[i].key, lru_map_hash(&small, &es[i].key));
		found += i % 3 && n == &es[i].node;
		gone += !(i % 3) && !n;
	}
	CHECK(found == 42 && gone == 22 && small.count == 42, "removed 22 of 64 keys: %u kept, %u gone", found, gone);
	for (uint32_t i = 0; i < 64; i++)
		if (i % 3)
			lru_map_remove(&small, &es[i].node);
	CHECK(small.count == 0 && !small.head && !small.tail, "and all of them: the map is empty");
	for (uint32_t i = 0; i < 64; i++)
		found += lru_map_find(&small, &es[i].key, lru_map_hash(&small, &es[i].key)) != NULL;
	CHECK_EQ(found, 42, "no key found any more");
	/* Emptied whole (lru_map_take_all): every node handed back oldest first, nothing found
	 * after, and the map takes keys again. Crowded chains: 64 keys in 16 buckets. */
	for (uint32_t i = 0; i < 64; i++)
		lru_map_insert(&small, &es[i].node, lru_map_hash(&small, &es[i].key));
	unsigned order = 0, after = 0;
	for (struct lru_node *n = lru_map_take_all(&small); n; n = n->prev)
		order += n == &es[order].node;
	for (uint32_t i = 0; i < 64; i++)
		after += lru_map_find(&small, &es[i].key, lru_map_hash(&small, &es[i].key)) != NULL;
	CHECK(order == 64 && after == 0 && small.count == 0 && !small.head && !small.tail,
	      "take_all hands back every node oldest first (%u) and empties the map (%u found)", order, after);
	lru_map_insert(&small, &es[5].node, lru_map_hash(&small, &es[5].key));
	CHECK(lru_map_find(&small, &es[5].key, lru_map_hash(&small, &es[5].key)) == &es[5].node &&
		      lru_map_find_fixed(&small, &es[5].key, lru_map_hash(&small, &es[5].key), sizeof(uint32_t)) ==
			      &es[5].node &&
		      small.count == 1 && small.head == &es[5].node,
	      "and takes keys again (lru_map_find_fixed finds it too)");
	lru_map_remove(&small, &es[5].node);
	lru_map_deinit(&small, NULL);
	free(es);

	struct shardmap_stats st;
	shardmap_get_stats(m, &st);
	CHECK(st.entries == 256 && st.evicted == 4096 - 256 && freed == st.evicted,
	      "bounded: %llu entries, %llu evicted (%u freed)", (unsigned long long)st.entries,
	      (unsigned long long)st.evicted, freed);

	/* shardmap_lock() takes the shard's mutex, unless the map is one thread's alone. */
	struct shard *s0 = &m->shards[0];
	shardmap_lock(m, s0);
	CHECK(pthread_mutex_trylock(&s0->lock) != 0, "shardmap_lock holds the shard's mutex");
	shardmap_unlock(m, s0);
	CHECK(pthread_mutex_trylock(&s0->lock) == 0, "shardmap_unlock releases it");
	pthread_mutex_unlock(&s0->lock);
	shardmap_set_single(m);
	shardmap_lock(m, s0);
	CHECK(pthread_mutex_trylock(&s0->lock) == 0, "a single thread's map: shardmap_lock takes no mutex");
	pthread_mutex_unlock(&s0->lock);
	shardmap_unlock(m, s0);
	shardmap_get_stats(m, &st);
	CHECK_EQ(st.entries, 256, "and its stats are read alike");

	shardmap_deinit(m, free_node);
	CHECK_EQ(freed, 4096, "deinit frees the rest");
	free(m);
	return tap_done();
}
