/* decmap.c - a chained hash table of values, each with its few decision ids. */
#include "decmap.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "addrhash.h"

struct decnode {
	struct decnode *next;
	struct nfs_addr addr;
	int64_t until_ms;
	uint32_t n, cap;
	int64_t *ids; /* cap > 1 */
	int64_t id1;  /* the common case: one decision per value, no second allocation */
};

struct decmap {
	struct decnode **buckets;
	size_t nbuckets; /* a power of two */
	size_t values, ids, max;
	uint8_t key[ADDRHASH_KEYBYTES];
};

static size_t bucket_of(const struct decmap *m, const struct nfs_addr *a)
{
	return (size_t)addrhash(m->key, a) & (m->nbuckets - 1);
}

int decmap_new(struct decmap **out, size_t max)
{
	struct decmap *m;

	if (!max)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->nbuckets = 1024;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return -ENOMEM;
	}
	m->max = max;
	crypto_shorthash_keygen(m->key);
	*out = m;
	return 0;
}

static void node_free(struct decnode *n)
{
	if (n->cap > 1)
		free(n->ids);
	free(n);
}

void decmap_free(struct decmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct decnode *n = m->buckets[i], *next; n; n = next) {
			next = n->next;
			node_free(n);
		}
	free(m->buckets);
	free(m);
}

static int64_t *node_ids(struct decnode *n)
{
	return n->cap > 1 ? n->ids : &n->id1;
}

static struct decnode *node_find(const struct decmap *m, const struct nfs_addr *a, struct decnode ***link)
{
	struct decnode **l = &m->buckets[bucket_of(m, a)];

	for (; *l; l = &(*l)->next)
		if (nfs_addr_equal(&(*l)->addr, a))
			break;
	if (link)
		*link = l;
	return *l;
}

/* Doubles the buckets when values outnumber them; on failure the map stays as it was (only
 * slower). */
static void grow(struct decmap *m)
{
	size_t nb = m->nbuckets * 2;
	struct decnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	struct decnode **old = m->buckets;
	size_t oldn = m->nbuckets;
	m->buckets = b;
	m->nbuckets = nb;
	for (size_t i = 0; i < oldn; i++)
		for (struct decnode *n = old[i], *next; n; n = next) {
			next = n->next;
			size_t k = bucket_of(m, &n->addr);
			n->next = b[k];
			b[k] = n;
		}
	free(old);
}

int decmap_add(struct decmap *m, const struct nfs_addr *addr, int64_t id, int64_t until_ms)
{
	struct decnode **link, *n = node_find(m, addr, &link);

	if (n) {
		int64_t *ids = node_ids(n);
		bool known = false;
		for (uint32_t i = 0; i < n->n; i++)
			known |= ids[i] == id;
		if (!known) {
			if (m->ids >= m->max)
				return -ENOSPC;
			if (n->n == n->cap) {
				uint32_t cap = n->cap * 2;
				int64_t *nids = malloc(cap * sizeof(*nids));
				if (!nids)
					return -ENOMEM;
				memcpy(nids, ids, n->n * sizeof(*nids));
				if (n->cap > 1)
					free(n->ids);
				n->ids = nids;
				n->cap = cap;
			}
			node_ids(n)[n->n++] = id;
			m->ids++;
		}
		if (until_ms > n->until_ms) {
			n->until_ms = until_ms;
			return 1;
		}
		return 0;
	}
	if (m->ids >= m->max)
		return -ENOSPC;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->addr = *addr;
	n->until_ms = until_ms;
	n->cap = 1;
	n->n = 1;
	n->id1 = id;
	*link = n;
	m->values++;
	m->ids++;
	if (m->values > m->nbuckets && m->nbuckets < ((size_t)1 << 24))
		grow(m);
	return 1;
}

int decmap_del(struct decmap *m, const struct nfs_addr *addr)
{
	struct decnode **link, *n = node_find(m, addr, &link);

	if (!n)
		return -ENOENT;
	/* All its ids: crowdsec 1.4.6 reports only the last one, the others were deleted
	 * silently (see decmap.h). */
	m->ids -= n->n;
	*link = n->next;
	node_free(n);
	m->values--;
	return 1;
}

int decmap_until(const struct decmap *m, const struct nfs_addr *addr, int64_t *until_ms)
{
	struct decnode *n = node_find(m, addr, NULL);

	if (!n)
		return -ENOENT;
	*until_ms = n->until_ms;
	return 0;
}

size_t decmap_ids(const struct decmap *m)
{
	return m->ids;
}

size_t decmap_values(const struct decmap *m)
{
	return m->values;
}

void decmap_foreach(const struct decmap *m, void (*cb)(const struct nfs_addr *addr, int64_t until_ms, void *arg),
		    void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (const struct decnode *n = m->buckets[i]; n; n = n->next)
			cb(&n->addr, n->until_ms, arg);
}
