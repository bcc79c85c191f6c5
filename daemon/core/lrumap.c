/* lrumap.c - chained buckets (power of two, sized to max) plus a doubly linked LRU list.
 * Chains end in a marker naming their bucket (see lrumap.h); an empty bucket that was never
 * used stays NULL, so the calloc'ed array is only paged in as entries arrive. */
#include "core/lrumap.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>


static inline struct lru_node *end_marker(uint32_t bucket)
{
	return (struct lru_node *)(((uintptr_t)bucket << 1) | 1);
}

int lru_map_init(struct lru_map *m, uint32_t max, const uint8_t key16[16], size_t key_off, size_t key_len)
{
	memset(m, 0, sizeof(*m));
	if (sodium_init() < 0)
		return -ENOMEM;
	m->max = max ? max : 1;
	m->nbuckets = 16;
	while (m->nbuckets < m->max && m->nbuckets < (1u << 30))
		m->nbuckets <<= 1;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (!m->buckets)
		return -ENOMEM;
	memcpy(m->hkey, key16, sizeof(m->hkey));
	m->key_off = key_off;
	m->key_len = key_len;
	return 0;
}

void lru_map_deinit(struct lru_map *m, void (*free_node)(struct lru_node *))
{
	for (struct lru_node *n = m->head, *next; n; n = next) {
		next = n->next;
		if (free_node)
			free_node(n);
	}
	free(m->buckets);
	sodium_memzero(m->hkey, sizeof(m->hkey));
	memset(m, 0, sizeof(*m));
}

struct lru_node *lru_map_take_all(struct lru_map *m)
{
	struct lru_node *oldest = m->tail;

	/* Each used bucket is emptied through the end marker of a chain of its: the nodes'
	 * hnext stay as they were while the loop runs. The buckets of other chains are not
	 * touched (a full memset pages in the whole array). */
	for (struct lru_node *n = m->head; n; n = n->next) {
		struct lru_node *end = n->hnext;
		while (!lru_map_chain_end(end))
			end = end->hnext;
		m->buckets[(uintptr_t)end >> 1] = NULL;
	}
	m->head = m->tail = NULL;
	m->count = 0;
	return oldest;
}

static inline const void *node_key(const struct lru_map *m, const struct lru_node *n)
{
	return (const char *)n + m->key_off;
}

uint64_t lru_map_hash_bytes(const struct lru_map *m, const void *buf, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	static_assert(crypto_shorthash_KEYBYTES == 16, "SipHash-2-4 takes a 16-byte key");
	crypto_shorthash(out, buf, len, m->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

uint64_t lru_map_hash(const struct lru_map *m, const void *key)
{
	return lru_map_hash_bytes(m, key, m->key_len);
}

/* Inlined in lru_map_upsert() (the evidence rings, the ban tables); the flow table and the
 * tracker use lru_map_find_fixed() (lrumap.h). */
static inline struct lru_node *map_find(struct lru_map *m, const void *key, uint64_t h)
{
	for (struct lru_node *n = m->buckets[lru_map_bucket(m, h)]; !lru_map_chain_end(n); n = n->hnext)
		if (memcmp(node_key(m, n), key, m->key_len) == 0)
			return n;
	return NULL;
}

struct lru_node *lru_map_find(struct lru_map *m, const void *key, uint64_t h)
{
	return map_find(m, key, h);
}

static void list_unlink(struct lru_node **head, struct lru_node **tail, struct lru_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		*head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		*tail = n->prev;
	n->prev = n->next = NULL;
}

static void list_push_front(struct lru_node **head, struct lru_node **tail, struct lru_node *n)
{
	n->prev = NULL;
	n->next = *head;
	if (*head)
		(*head)->prev = n;
	*head = n;
	if (!*tail)
		*tail = n;
}

static void index_link(struct lru_map *m, struct lru_node *n, uint64_t h)
{
	uint32_t b = lru_map_bucket(m, h);
	n->hnext = m->buckets[b] ? m->buckets[b] : end_marker(b);
	m->buckets[b] = n;
}

static void index_unlink(struct lru_map *m, struct lru_node *n)
{
	struct lru_node *end = n->hnext;

	while (!lru_map_chain_end(end))
		end = end->hnext;
	/* A chain always ends in its marker (never NULL: index_link put one there). */
	for (struct lru_node **pp = &m->buckets[(uintptr_t)end >> 1]; !lru_map_chain_end(*pp); pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	}
}

void lru_map_insert(struct lru_map *m, struct lru_node *n, uint64_t h)
{
	index_link(m, n, h);
	list_push_front(&m->head, &m->tail, n);
	m->count++;
}

void lru_map_remove(struct lru_map *m, struct lru_node *n)
{
	index_unlink(m, n);
	list_unlink(&m->head, &m->tail, n);
	m->count--;
}

void lru_map_insert_list(struct lru_map *m, struct lru_node *n, uint64_t h, struct lru_list *l)
{
	index_link(m, n, h);
	list_push_front(&l->head, &l->tail, n);
	l->count++;
}

void lru_map_remove_list(struct lru_map *m, struct lru_node *n, struct lru_list *l)
{
	index_unlink(m, n);
	list_unlink(&l->head, &l->tail, n);
	l->count--;
}

void lru_map_touch_move(struct lru_map *m, struct lru_node *n)
{
	list_unlink(&m->head, &m->tail, n);
	list_push_front(&m->head, &m->tail, n);
}

struct lru_node *lru_map_upsert(struct lru_map *m, const void *key, uint64_t h, size_t size,
				void (*free_node)(struct lru_node *), bool *created, bool *evicted)
{
	struct lru_node *n = map_find(m, key, h);
	bool made = false, gone = false;

	if (n) {
		lru_map_touch(m, n);
	} else {
		n = calloc(1, size);
		if (!n)
			return NULL;
		if (lru_map_full(m)) {
			struct lru_node *old = lru_map_oldest(m);
			lru_map_remove(m, old);
			free_node(old);
			gone = true;
		}
		memcpy((char *)n + m->key_off, key, m->key_len);
		lru_map_insert(m, n, h);
		made = true;
	}
	if (created)
		*created = made;
	if (evicted)
		*evicted = gone;
	return n;
}
