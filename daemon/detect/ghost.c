/* ghost.c - see ghost.h. A ring in FIFO order plus a chained index over it. A chain ends in a
 * marker naming its bucket (as lrumap.c's do), since an entry keeps only a 32-bit fold of its
 * hash, from which the bucket cannot be told. */
#include "detect/ghost.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GHOST_END 0x80000000u /* set in a chain's end marker; the rest is the bucket */

static_assert(sizeof(struct ghost_entry) == 16, "two entries per source the tracker holds");

int ghost_init(struct ghost *g, uint32_t cap)
{
	memset(g, 0, sizeof(*g));
	g->cap = cap ? cap : 1;
	if (g->cap >= GHOST_END)
		return -EINVAL;
	g->nheads = 16;
	while (g->nheads < g->cap && g->nheads < (1u << 30))
		g->nheads <<= 1;
	g->ring = calloc(g->cap, sizeof(*g->ring));
	g->heads = malloc(g->nheads * sizeof(*g->heads));
	if (!g->ring || !g->heads)
		return -ENOMEM;
	for (uint32_t b = 0; b < g->nheads; b++)
		g->heads[b] = GHOST_END | b;
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

static uint32_t tag_of(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

static void unlink_slot(struct ghost *g, uint32_t slot)
{
	uint32_t end = g->ring[slot].next;

	while (!(end & GHOST_END))
		end = g->ring[end].next;
	for (uint32_t *pp = &g->heads[end & ~GHOST_END]; !(*pp & GHOST_END); pp = &g->ring[*pp].next) {
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
	g->ring[slot] = (struct ghost_entry){ .tag = tag_of(h), .when = when, .next = *head, .port = port,
					      .proto = proto, .cls = cls & 0x7f, .live = true };
	*head = slot;
	g->pos = slot + 1 == g->cap ? 0 : slot + 1;
}

bool ghost_take(struct ghost *g, uint64_t h, struct ghost_entry *out)
{
	uint32_t tag = tag_of(h);

	/* The newest entry of @h is first in its chain (entries are pushed at the head). */
	for (uint32_t s = *head_of(g, h); !(s & GHOST_END); s = g->ring[s].next) {
		if (g->ring[s].tag == tag) {
			*out = g->ring[s];
			unlink_slot(g, s);
			return true;
		}
	}
	return false;
}
