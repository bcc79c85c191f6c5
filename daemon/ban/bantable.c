/* bantable.c - an lru_map of bans, saved as text under a header line (BANS_HEADER), one ban a
 * line: "ADDRESS OFFENCE TIMEOUT_S UNTIL_EPOCH_MS DETECTOR TOKEN [ORIGIN]", TOKEN "-" when the ban
 * has no evidence record. Lines without DETECTOR (older files) load as bans made by hand, without
 * TOKEN as bans without a record. ORIGIN (ban/origin.h) is written only when the detector does not
 * imply it (bantable_origin_of_det()): the bans saved today never need it, so an older nfsentry
 * reads what this one writes, and this one reads theirs (issue 13). */
#include "ban/bantable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/detector.h"
#include "core/lrumap.h"
#include "core/textlines.h"

#define BANS_HEADER "# nfsentry bans v1: address offence timeout-seconds until-epoch-ms [detector [token [origin]]]\n"

struct ban_node {
	struct lru_node node; /* first */
	struct ban_entry e;   /* e.addr is the key */
};

struct bantable {
	struct lru_map map;
};

enum ban_origin bantable_origin_of_det(uint8_t det)
{
	return det == DET_MANUAL ? BAN_ORIGIN_MANUAL : BAN_ORIGIN_DETECTOR;
}

static int origin_parse(const char *s)
{
	for (int o = 0; o < BAN_ORIGIN_COUNT; o++)
		if (!strcmp(s, ban_origin_name((enum ban_origin)o)))
			return o;
	return -1;
}

int bantable_new(struct bantable **out, uint32_t max, const uint8_t key16[16])
{
	struct bantable *t = calloc(1, sizeof(*t));
	if (!t || lru_map_init(&t->map, max, key16, offsetof(struct ban_node, e.addr), sizeof(struct nfs_addr)) < 0) {
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

static void node_free(struct lru_node *n)
{
	free(n);
}

void bantable_free(struct bantable *t)
{
	if (!t)
		return;
	lru_map_deinit(&t->map, node_free);
	free(t);
}

int bantable_put(struct bantable *t, const struct ban_entry *e)
{
	struct ban_node *b = (struct ban_node *)lru_map_upsert(&t->map, &e->addr, lru_map_hash(&t->map, &e->addr),
							      sizeof(*b), node_free, NULL, NULL);
	if (!b)
		return -ENOMEM;
	b->e = *e;
	return 0;
}

const struct ban_entry *bantable_get(struct bantable *t, const struct nfs_addr *addr)
{
	struct ban_node *b = (struct ban_node *)lru_map_find(&t->map, addr, lru_map_hash(&t->map, addr));
	return b ? &b->e : NULL;
}

int bantable_del(struct bantable *t, const struct nfs_addr *addr)
{
	struct lru_node *n = lru_map_find(&t->map, addr, lru_map_hash(&t->map, addr));

	if (!n)
		return -ENOENT;
	lru_map_remove(&t->map, n);
	node_free(n);
	return 0;
}

void bantable_clear(struct bantable *t)
{
	while (t->map.tail) {
		struct lru_node *n = t->map.tail;
		lru_map_remove(&t->map, n);
		node_free(n);
	}
}

size_t bantable_size(const struct bantable *t)
{
	return t->map.count;
}

void bantable_foreach(struct bantable *t, int (*cb)(const struct ban_entry *e, void *data), void *data)
{
	for (struct lru_node *n = t->map.tail; n; n = n->prev)
		if (cb(&((struct ban_node *)n)->e, data))
			return;
}

int bantable_save(struct bantable *t, const char *path, int64_t now_ms)
{
	struct atomic_file af;
	int n = 0, r = atomic_file_open(&af, path, 0600);

	if (r < 0)
		return r;
	fputs(BANS_HEADER, af.f);
	for (struct lru_node *nd = t->map.tail; nd; nd = nd->prev) {
		const struct ban_entry *e = &((struct ban_node *)nd)->e;
		char a[NFS_ADDR_STRLEN];
		if (e->until_ms <= now_ms)
			continue;
		fprintf(af.f, "%s %u %llu %lld %s %s%s%s\n", nfs_addr_format(&e->addr, a, sizeof(a)), e->offence,
			(unsigned long long)e->timeout_s, (long long)e->until_ms, detector_key(e->det),
			e->token[0] ? e->token : "-", e->origin == bantable_origin_of_det(e->det) ? "" : " ",
			e->origin == bantable_origin_of_det(e->det) ? "" : ban_origin_name(e->origin));
		n++;
	}
	r = atomic_file_commit(&af);
	return r < 0 ? r : n;
}

static int ban_line(const char *line, void *data)
{
	char addr[NFS_ADDR_STRLEN + 1], det[32] = "manual", token[66] = "-", origin[16] = "", extra;
	unsigned offence;
	unsigned long long timeout_s;
	long long until;
	struct ban_entry e = { 0 };
	int fields = sscanf(line, "%50s %u %llu %lld %31s %65s %15s %c", addr, &offence, &timeout_s, &until, det, token,
			    origin, &extra);
	int d = detector_parse(det);
	int o = fields == 7 ? origin_parse(origin) : d < 0 ? 0 : (int)bantable_origin_of_det((uint8_t)d);

	if (fields < 4 || fields > 7 || o < 0 || d < 0 || (strcmp(token, "-") && strlen(token) != 64) || offence == 0 ||
	    timeout_s == 0 ||
	    timeout_s > 10ULL * 365 * 86400 || until <= 0 || nfs_addr_parse(addr, false, &e.addr) < 0 ||
	    (e.addr.family == AF_INET && e.addr.plen != 32 && d != DET_DSCAN)) /* IPv4 prefixes: bannet4 only */
		return TEXTLINE_BAD;
	e.offence = offence;
	e.det = (uint8_t)d;
	e.origin = (uint8_t)o;
	e.timeout_s = timeout_s;
	e.until_ms = until;
	if (strcmp(token, "-"))
		memcpy(e.token, token, sizeof(e.token));
	return bantable_put(data, &e) < 0 ? TEXTLINE_STOP : TEXTLINE_OK;
}

int bantable_load(struct bantable *t, const char *path, unsigned *bad_lines)
{
	return textlines_read(path, ban_line, t, bad_lines);
}
