/* offences.c - an lru_map of offenders, saved as text: "ADDRESS COUNT LAST_BAN_EPOCH". */
#include "ban/offences.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/lrumap.h"
#include "core/textlines.h"

#define OFFENCES_HEADER "# nfsentry offence history v1: address count last-ban-epoch\n"

struct offender {
	struct lru_node node; /* first */
	struct nfs_addr key;
	uint32_t count;
	int64_t last;
};

struct offences {
	struct lru_map map;
};

int offences_new(struct offences **out, uint32_t max, const uint8_t key16[16])
{
	struct offences *o = calloc(1, sizeof(*o));
	if (!o || lru_map_init(&o->map, max, key16, offsetof(struct offender, key), sizeof(struct nfs_addr)) < 0) {
		free(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

static void offender_free(struct lru_node *n)
{
	free(n);
}

void offences_free(struct offences *o)
{
	if (!o)
		return;
	lru_map_deinit(&o->map, offender_free);
	free(o);
}

uint32_t offences_count(struct offences *o, const struct nfs_addr *a, int64_t now, uint64_t forget)
{
	struct offender *f = (struct offender *)lru_map_find(&o->map, a, lru_map_hash(&o->map, a));
	if (!f || now - f->last > (int64_t)forget)
		return 0;
	return f->count;
}

int offences_record(struct offences *o, const struct nfs_addr *a, uint32_t count, int64_t now)
{
	struct offender *f = (struct offender *)lru_map_upsert(&o->map, a, lru_map_hash(&o->map, a), sizeof(*f),
							       offender_free, NULL, NULL);
	if (!f)
		return -ENOMEM;
	f->count = count;
	f->last = now;
	return 0;
}

uint32_t offences_size(const struct offences *o)
{
	return o->map.count;
}

uint64_t offences_ban_seconds(uint64_t duration, double factor, uint64_t max, uint32_t n)
{
	double d = (double)duration;
	for (uint32_t i = 1; i < n && d < (double)max; i++)
		d *= factor;
	if (d >= (double)max)
		return max;
	return (uint64_t)llround(d);
}

int offences_save(struct offences *o, const char *path)
{
	struct atomic_file af;
	int r = atomic_file_open(&af, path, 0600);

	if (r < 0)
		return r;
	fputs(OFFENCES_HEADER, af.f);
	/* Oldest first, so a load rebuilds the same LRU order. */
	for (struct lru_node *n = o->map.tail; n; n = n->prev) {
		const struct offender *of = (const struct offender *)n;
		char a[NFS_ADDR_STRLEN];
		fprintf(af.f, "%s %u %lld\n", nfs_addr_format(&of->key, a, sizeof(a)), of->count, (long long)of->last);
	}
	return atomic_file_commit(&af);
}

static int offence_line(const char *line, void *data)
{
	char addr[NFS_ADDR_STRLEN + 1], extra;
	unsigned count;
	long long last;
	struct nfs_addr a;

	if (sscanf(line, "%50s %u %lld %c", addr, &count, &last, &extra) != 3 || count == 0 ||
	    nfs_addr_parse(addr, false, &a) < 0)
		return TEXTLINE_BAD;
	return offences_record(data, &a, count, last) < 0 ? TEXTLINE_STOP : TEXTLINE_OK;
}

int offences_load(struct offences *o, const char *path, unsigned *bad_lines)
{
	return textlines_read(path, offence_line, o, bad_lines);
}
