/* ghost.c - see ghost.h. A ring in FIFO order plus a chained index over it. */
#include "detect/ghost.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GHOST_NONE UINT32_MAX

int ghost_init(struct ghost *g, uint32_t cap)
{
	memset(g, 0, sizeof(*g));
	g->cap = cap ? cap : 1;
	g->nheads = 16;
	while (g->nheads < g->cap && g->nheads < (1u << 30))
		g->nheads <<= 1;
	g->ring = calloc(g->cap, sizeof(*g->ring));
	g->heads = malloc(g->nheads * sizeof(*g->heads));
	if (!g->ring || !g->heads)
		return -ENOMEM;
	memset(g->heads, 0xff, g->nheads * sizeof(*g->heads)); /* GHOST_NONE */
	return 0;
}

void ghost_deinit(struct ghost *g)
{
	free(g->ring);
	free(g->heads);
	memset(g, 0, sizeof(*g));
}

/* The high half picks the bucket, as in lrumap.c (the low bits picked the shard). */
static uint32_t *head_of(struct ghost *g, uint64_t h)
{
	return &g->heads[(h >> 32) & (g->nheads - 1)];
}

static void unlink_slot(struct ghost *g, uint32_t slot)
{
	for (uint32_t *pp = head_of(g, g->ring[slot].hash); *pp != GHOST_NONE; pp = &g->ring[*pp].next) {
		if (*pp == slot) {
			*pp = g->ring[slot].next;
			break;
		}
	}
	g->ring[slot].live = false;
}

void ghost_put(struct ghost *g, uint64_t h, uint8_t proto, uint16_t port, uint8_t cls, uint32_t when)
{
	uint32_t slot = g->pos;

	if (g->ring[slot].live)
		unlink_slot(g, slot); /* the oldest entry goes */
	uint32_t *head = head_of(g, h);
	g->ring[slot] = (struct ghost_entry){ .hash = h, .when = when, .next = *head, .port = port, .proto = proto,
					      .cls = cls, .live = true };
	*head = slot;
	g->pos = slot + 1 == g->cap ? 0 : slot + 1;
}

bool ghost_take(struct ghost *g, uint64_t h, struct ghost_entry *out)
{
	/* The newest entry of @h is first in its chain (entries are pushed at the head). */
	for (uint32_t s = *head_of(g, h); s != GHOST_NONE; s = g->ring[s].next) {
		if (g->ring[s].hash == h) {
			*out = g->ring[s];
			unlink_slot(g, s);
			return true;
		}
	}
	return false;
}
