/* published.c - the memory of what was published: a ring, a text file. */
#include "published.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrhash.h"
#include "core/atomicfile.h"

static size_t bucket_of(const struct published *p, const struct nfs_addr *a)
{
	return (size_t)addrhash(p->key, a) & (p->nbuckets - 1);
}

int published_init(struct published *p, size_t max)
{
	memset(p, 0, sizeof(*p));
	if (!max || max >= PUB_NONE)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	for (p->nbuckets = 64; p->nbuckets < max; p->nbuckets *= 2)
		;
	p->items = calloc(max, sizeof(*p->items));
	p->buckets = malloc(p->nbuckets * sizeof(*p->buckets));
	if (!p->items || !p->buckets) {
		published_deinit(p);
		return -ENOMEM;
	}
	memset(p->buckets, 0xff, p->nbuckets * sizeof(*p->buckets)); /* PUB_NONE */
	p->max = max;
	crypto_shorthash_keygen(p->key);
	return 0;
}

void published_deinit(struct published *p)
{
	free(p->items);
	free(p->buckets);
	p->items = NULL;
	p->buckets = NULL;
	p->n = 0;
}

static size_t slot(const struct published *p, size_t i)
{
	return (p->head + i) % p->max;
}

static void unlink_slot(struct published *p, uint32_t s)
{
	uint32_t *l = &p->buckets[bucket_of(p, &p->items[s].addr)];

	while (*l != PUB_NONE && *l != s)
		l = &p->items[*l].next;
	if (*l == s)
		*l = p->items[s].next;
}

static void link_slot(struct published *p, uint32_t s)
{
	size_t b = bucket_of(p, &p->items[s].addr);

	p->items[s].next = p->buckets[b];
	p->buckets[b] = s;
}

void published_add(struct published *p, const struct nfs_addr *addr, int64_t until)
{
	if (p->n == p->max) {
		unlink_slot(p, (uint32_t)p->head);
		p->head = (p->head + 1) % p->max;
		p->n--;
	}
	uint32_t s = (uint32_t)slot(p, p->n++);
	p->items[s] = (struct pub_entry){ .addr = *addr, .until = until };
	link_slot(p, s);
	p->dirty = true;
}

bool published_has(const struct published *p, const struct nfs_addr *addr, int64_t until, int64_t slack)
{
	for (uint32_t s = p->buckets[bucket_of(p, addr)]; s != PUB_NONE; s = p->items[s].next) {
		const struct pub_entry *e = &p->items[s];
		if (nfs_addr_equal(&e->addr, addr) && e->until - until <= slack && until - e->until <= slack)
			return true;
	}
	return false;
}

void published_expire(struct published *p, int64_t now)
{
	size_t keep = 0;

	/* Compacts in place, keeping the order (oldest first), then links the chains again. */
	for (size_t i = 0; i < p->n; i++)
		if (p->items[slot(p, i)].until >= now)
			p->items[slot(p, keep++)] = p->items[slot(p, i)];
	if (keep == p->n)
		return;
	p->n = keep;
	p->dirty = true;
	memset(p->buckets, 0xff, p->nbuckets * sizeof(*p->buckets));
	for (size_t i = 0; i < p->n; i++)
		link_slot(p, (uint32_t)slot(p, i));
}

int published_save(struct published *p, const char *path)
{
	struct atomic_file af;
	int r = atomic_file_open(&af, path, 0600);

	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n; i++) {
		char addr[NFS_ADDR_STRLEN];
		const struct pub_entry *e = &p->items[slot(p, i)];
		if (fprintf(af.f, "%s %" PRId64 "\n", nfs_addr_format(&e->addr, addr, sizeof(addr)), e->until) < 0) {
			atomic_file_abort(&af);
			return -EIO;
		}
	}
	r = atomic_file_commit(&af);
	if (r == 0)
		p->dirty = false;
	return r;
}

int published_load(struct published *p, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[128], addr[64];
	long long until;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		struct nfs_addr a;
		if (sscanf(line, "%63s %lld", addr, &until) == 2 && nfs_addr_parse(addr, false, &a) == 0)
			published_add(p, &a, until);
	}
	fclose(f);
	p->dirty = false;
	return 0;
}
