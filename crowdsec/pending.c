/* pending.c - the pending queue: a ring in memory, JSON lines on disk. */
#include "pending.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomicfile.h"

int pending_init(struct pending *p, size_t max)
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

void pending_deinit(struct pending *p)
{
	free(p->items);
	p->items = NULL;
	p->n = 0;
}

struct cs_ban *pending_at(struct pending *p, size_t i)
{
	return &p->items[(p->head + i) % p->max];
}

int pending_push(struct pending *p, const struct cs_ban *b)
{
	int full = p->n == p->max;

	if (full) {
		pending_pop(p, 1);
		p->dropped++;
	}
	*pending_at(p, p->n++) = *b;
	p->dirty = true;
	return full;
}

void pending_pop(struct pending *p, size_t k)
{
	if (k > p->n)
		k = p->n;
	p->head = (p->head + k) % p->max;
	p->n -= k;
	if (k)
		p->dirty = true;
}

struct cs_ban *pending_find(struct pending *p, const struct nfs_addr *addr)
{
	for (size_t i = p->n; i-- > 0;)
		if (nfs_addr_equal(&pending_at(p, i)->addr, addr))
			return pending_at(p, i);
	return NULL;
}

int pending_save(struct pending *p, const char *path)
{
	struct atomic_file af;
	int r = atomic_file_open(&af, path, 0600);

	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n; i++) {
		const struct cs_ban *b = pending_at(p, i);
		char addr[NFS_ADDR_STRLEN];
		nfs_addr_format(&b->addr, addr, sizeof(addr));
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "address", addr, "detector", b->detector,
				      "origin", b->origin, "at", (json_int_t)b->at, "until", (json_int_t)b->until, "events",
				      (json_int_t)b->events, "token", b->token);
		if (!o || json_dumpf(o, af.f, JSON_COMPACT) < 0 || fputc('\n', af.f) == EOF) {
			json_decref(o);
			atomic_file_abort(&af);
			return -EIO;
		}
		json_decref(o);
	}
	r = atomic_file_commit(&af);
	if (r == 0)
		p->dirty = false;
	return r;
}

/* One line into @b; false when it is no pending ban. */
static bool line_read(const char *line, struct cs_ban *b)
{
	json_t *o = json_loads(line, 0, NULL);
	const char *addr, *det, *origin, *token;
	json_int_t at, until, events;
	bool ok = o && !json_unpack(o, "{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "address", &addr, "detector", &det,
				    "origin", &origin, "at", &at, "until", &until, "events", &events, "token", &token) &&
		  nfs_addr_parse(addr, false, &b->addr) == 0 && strlen(det) < sizeof(b->detector) &&
		  strlen(origin) < sizeof(b->origin) && strlen(token) < sizeof(b->token) && events >= 0 &&
		  events <= UINT32_MAX;

	if (ok) {
		snprintf(b->detector, sizeof(b->detector), "%s", det);
		snprintf(b->origin, sizeof(b->origin), "%s", origin);
		snprintf(b->token, sizeof(b->token), "%s", token);
		b->at = at;
		b->until = until;
		b->events = (uint32_t)events;
	}
	json_decref(o);
	return ok;
}

int pending_load(struct pending *p, const char *path, size_t *bad)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	*bad = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct cs_ban b = { 0 };
		if (n > 4096 || !line_read(line, &b)) {
			(*bad)++;
			continue;
		}
		pending_push(p, &b);
	}
	free(line);
	fclose(f);
	p->dirty = false;
	return 0;
}
