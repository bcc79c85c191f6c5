/* pktring.c - see pktring.h. Each ring is one allocation: a header and @packets slots of
 * @snaplen bytes, so a ring costs the same whatever it holds and the bound is exact. */
#include "evidence/pktring.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/shardmap.h"

struct slot {
	struct timespec when;
	uint32_t wire_len, caplen;
};

struct ring {
	struct lru_node node;
	struct pktring_key key;
	uint32_t next, count; /* next slot to write; packets held */
	/* then: struct slot slots[packets]; uint8_t data[packets][snaplen] */
};

struct pktring {
	struct shardmap map;
	unsigned packets, snaplen;
	size_t ring_size;
	_Atomic uint64_t alloc_failed;
};

void pktring_source_key(struct pktring_key *k, const struct nfs_addr *src)
{
	memset(k, 0, sizeof(*k));
	k->kind = PKTRING_SOURCE;
	k->a = *src;
}

void pktring_flow_key(struct pktring_key *k, const struct nfs_addr *x, uint16_t xport, const struct nfs_addr *y,
		      uint16_t yport)
{
	memset(k, 0, sizeof(*k));
	k->kind = PKTRING_FLOW;
	/* Both directions of a connection share one ring: the smaller end first. */
	int c = memcmp(x, y, sizeof(*x));
	bool swap = c > 0 || (c == 0 && xport > yport);
	k->a = swap ? *y : *x;
	k->b = swap ? *x : *y;
	k->port_a = swap ? yport : xport;
	k->port_b = swap ? xport : yport;
}

static struct slot *ring_slots(struct ring *g)
{
	return (struct slot *)(g + 1);
}

static uint8_t *ring_data(struct pktring *r, struct ring *g, unsigned i)
{
	return (uint8_t *)(ring_slots(g) + r->packets) + (size_t)i * r->snaplen;
}

int pktring_new(struct pktring **out, uint32_t max_rings, unsigned packets, unsigned snaplen, const uint8_t key16[16])
{
	struct pktring *r;

	if (packets < 1 || packets > PKTRING_MAX_PACKETS || snaplen < 64 || snaplen > PKTRING_MAX_SNAPLEN || !max_rings)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->packets = packets;
	r->snaplen = snaplen;
	r->ring_size = sizeof(struct ring) + packets * (sizeof(struct slot) + snaplen);
	if (shardmap_init(&r->map, max_rings, key16, offsetof(struct ring, key), sizeof(struct pktring_key)) < 0) {
		pktring_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

static void ring_free(struct lru_node *n)
{
	free(n);
}

void pktring_free(struct pktring *r)
{
	if (!r)
		return;
	shardmap_deinit(&r->map, ring_free);
	free(r);
}

void pktring_add(struct pktring *r, const struct pktring_key *k, const struct timespec *when, const uint8_t *data,
		 size_t caplen, size_t wire_len)
{
	uint64_t h;
	struct shard *s = shardmap_shard(&r->map, k, &h);
	bool evicted = false;

	if (caplen > r->snaplen)
		caplen = r->snaplen;
	shardmap_lock(&r->map, s);
	struct ring *g = (struct ring *)lru_map_upsert(&s->map, k, h, r->ring_size, ring_free, NULL, &evicted);
	if (evicted)
		s->evicted++;
	if (!g) {
		shardmap_unlock(&r->map, s);
		atomic_fetch_add_explicit(&r->alloc_failed, 1, memory_order_relaxed);
		return;
	}
	struct slot *sl = &ring_slots(g)[g->next];
	sl->when = *when;
	sl->caplen = (uint32_t)caplen;
	sl->wire_len = wire_len > UINT32_MAX ? UINT32_MAX : (uint32_t)wire_len;
	memcpy(ring_data(r, g, g->next), data, caplen);
	g->next = (g->next + 1) % r->packets;
	if (g->count < r->packets)
		g->count++;
	shardmap_unlock(&r->map, s);
}

size_t pktring_copy(struct pktring *r, const struct pktring_key *k, struct pktring_packet *out, size_t max,
		    uint8_t *buf, size_t buflen)
{
	uint64_t h;
	struct shard *s = shardmap_shard(&r->map, k, &h);
	size_t n = 0, used = 0;

	shardmap_lock(&r->map, s);
	struct ring *g = (struct ring *)lru_map_find(&s->map, k, h);
	if (g) {
		unsigned first = (g->next + r->packets - g->count) % r->packets;
		for (unsigned i = 0; i < g->count && n < max; i++) {
			unsigned at = (first + i) % r->packets;
			const struct slot *sl = &ring_slots(g)[at];
			if (used + sl->caplen > buflen)
				break;
			memcpy(buf + used, ring_data(r, g, at), sl->caplen);
			out[n] = (struct pktring_packet){ .when = sl->when, .wire_len = sl->wire_len, .caplen = sl->caplen,
							  .data = buf + used };
			used += sl->caplen;
			n++;
		}
	}
	shardmap_unlock(&r->map, s);
	return n;
}

size_t pktring_buf_size(const struct pktring *r)
{
	return (size_t)r->packets * r->snaplen;
}

unsigned pktring_packets(const struct pktring *r)
{
	return r->packets;
}

void pktring_get_stats(struct pktring *r, struct pktring_stats *out)
{
	struct shardmap_stats st;
	shardmap_get_stats(&r->map, &st);
	out->rings = st.entries;
	out->evicted = st.evicted;
	out->bytes = st.entries * r->ring_size;
}
