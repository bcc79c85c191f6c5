/* published.c - the memory of what was published: a ring, a text file. */
#include "published.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomicfile.h"

int published_init(struct published *p, size_t max)
{
	memset(p, 0, sizeof(*p));
	if (!max)
		return -EINVAL;
	p->items = calloc(max, sizeof(*p->items));
	if (!p->items)
		return -ENOMEM;
	p->max = max;
	return 0;
}

void published_deinit(struct published *p)
{
	free(p->items);
	p->items = NULL;
	p->n = 0;
}

static struct pub_entry *at(const struct published *p, size_t i)
{
	return &p->items[(p->head + i) % p->max];
}

void published_add(struct published *p, const struct nfs_addr *addr, int64_t until)
{
	if (p->n == p->max) {
		p->head = (p->head + 1) % p->max;
		p->n--;
	}
	*at(p, p->n++) = (struct pub_entry){ .addr = *addr, .until = until };
	p->dirty = true;
}

bool published_has(const struct published *p, const struct nfs_addr *addr, int64_t until, int64_t slack)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct pub_entry *e = at(p, i);
		if (nfs_addr_equal(&e->addr, addr) && e->until - until <= slack && until - e->until <= slack)
			return true;
	}
	return false;
}

void published_expire(struct published *p, int64_t now)
{
	size_t keep = 0;

	/* Compacts in place, keeping the order (oldest first). */
	for (size_t i = 0; i < p->n; i++)
		if (at(p, i)->until >= now)
			*at(p, keep++) = *at(p, i);
	if (keep != p->n)
		p->dirty = true;
	p->n = keep;
}

int published_save(struct published *p, const char *path)
{
	struct atomic_file af;
	int r = atomic_file_open(&af, path, 0600);

	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n; i++) {
		char addr[NFS_ADDR_STRLEN];
		if (fprintf(af.f, "%s %" PRId64 "\n", nfs_addr_format(&at(p, i)->addr, addr, sizeof(addr)), at(p, i)->until) < 0) {
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
