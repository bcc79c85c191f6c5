/* tracker.c - per-source state in a shardmap (one lock per shard, LRU eviction). */
#include "detect/tracker.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/shardmap.h"
#include "decode/packet.h"

struct port_seen {
	uint32_t when;
	uint16_t port;
	uint8_t proto;
};

struct source {
	struct lru_node node; /* first: a struct lru_node * is a struct source * */
	struct nfs_addr key;
	uint32_t first_seen, last_seen, ban_requested;
	uint32_t counts[TRK_CLASSES];
	uint32_t connect_syns, syn_data;
	uint8_t ttl_min, ttl_max;
	uint16_t ip_id_first, window_first;
	bool ip_id_varies, backscatter_reported, probe_reported, ban_lost;
	uint16_t nports, cap;
	struct port_seen *ports;
};

struct tracker {
	struct shardmap map;
};

enum trk_class trk_classify(uint8_t proto, uint8_t f)
{
	if (proto == IPPROTO_UDP)
		return TRK_UDP;
	if (proto == IPPROTO_SCTP)
		return TRK_SCTP;
	if (proto != IPPROTO_TCP)
		return TRK_PROTO;
	f &= TCPF_FIN | TCPF_SYN | TCPF_RST | TCPF_PSH | TCPF_ACK | TCPF_URG;
	if (f & TCPF_RST)
		return TRK_RST;
	switch (f) {
	case TCPF_SYN: return TRK_SYN;
	case TCPF_SYN | TCPF_ACK: return TRK_SYNACK;
	case TCPF_FIN: return TRK_FIN;
	case 0: return TRK_NULL;
	case TCPF_FIN | TCPF_PSH | TCPF_URG: return TRK_XMAS;
	case TCPF_ACK: return TRK_ACK;
	default: return TRK_TCP_OTHER;
	}
}

const char *trk_class_name(enum trk_class c)
{
	static const char *const n[TRK_CLASSES] = { "syn", "fin", "null", "xmas", "ack", "tcp-other",
						    "synack", "rst", "udp", "sctp", "proto" };
	return (unsigned)c < TRK_CLASSES ? n[c] : "?";
}

struct tracker *tracker_new(uint32_t max_sources, const uint8_t key[16])
{
	struct tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (shardmap_init(&t->map, max_sources, key, offsetof(struct source, key), sizeof(struct nfs_addr)) < 0) {
		tracker_free(t);
		return NULL;
	}
	return t;
}

static void source_free(struct lru_node *n)
{
	struct source *src = (struct source *)n;
	free(src->ports);
	free(src);
}

void tracker_free(struct tracker *t)
{
	if (!t)
		return;
	shardmap_deinit(&t->map, source_free);
	free(t);
}

/* Drops ports that left the window; keeps the array compact. */
static void expire_ports(struct source *src, uint32_t now, uint32_t window)
{
	uint16_t w = 0;
	for (uint16_t r = 0; r < src->nports; r++)
		if (now - src->ports[r].when < window)
			src->ports[w++] = src->ports[r];
	src->nports = w;
}

int tracker_source_touch(struct tracker *t, const struct nfs_addr *k, const struct trk_attempt *a,
			 const struct trk_params *p, struct trk_report *out)
{
	uint64_t h;
	struct shard *s = shardmap_shard(&t->map, k, &h);
	enum trk_class cls = trk_classify(a->proto, a->tcp_flags);
	struct source *src;
	int r = TRK_COUNTED;

	bool created, evicted;

	pthread_mutex_lock(&s->lock);
	/* A new source pushes out the least recently seen one when the shard is full. */
	src = (struct source *)lru_map_upsert(&s->map, k, h, sizeof(*src), source_free, &created, &evicted);
	if (!src) {
		pthread_mutex_unlock(&s->lock);
		return -ENOMEM;
	}
	s->evicted += evicted;
	if (created) {
		src->first_seen = a->now;
		src->ttl_min = src->ttl_max = a->ttl;
		src->ip_id_first = a->ip_id;
		src->window_first = a->window;
	}
	src->ttl_min = a->ttl < src->ttl_min ? a->ttl : src->ttl_min;
	src->ttl_max = a->ttl > src->ttl_max ? a->ttl : src->ttl_max;
	src->ip_id_varies |= a->ip_id != src->ip_id_first;
	memset(out, 0, sizeof(*out));
	src->last_seen = a->now;
	src->counts[cls]++;

	/* Bejtlich: unsolicited SYN-ACKs and RSTs are the backscatter of a SYN flood spoofing
	 * this source's victim; a SYN with data is a probe (load-balancer latency checks). Neither
	 * is a port scan by itself. */
	if (cls == TRK_SYNACK || cls == TRK_RST) {
		r = TRK_IGNORED;
		if (!src->backscatter_reported && src->counts[TRK_SYNACK] + src->counts[TRK_RST] >= p->threshold) {
			src->backscatter_reported = true;
			out->backscatter = true;
		}
		goto report;
	}
	if (a->syn_data) {
		src->syn_data++;
		r = TRK_IGNORED;
		if (!src->probe_reported) {
			src->probe_reported = true;
			out->probe = true;
		}
		goto report;
	}
	if (cls == TRK_SYN && a->tcp_opts)
		src->connect_syns++;
	expire_ports(src, a->now, p->window);
	uint16_t i;
	for (i = 0; i < src->nports; i++)
		if (src->ports[i].port == a->port && src->ports[i].proto == a->proto)
			break;
	if (i < src->nports) {
		src->ports[i].when = a->now; /* a retry of the same port is not a new port */
	} else {
		if (src->nports == src->cap) {
			uint32_t cap = src->cap ? src->cap * 2u : 4u;
			if (cap > p->threshold)
				cap = p->threshold;
			if (cap <= src->cap) {
				/* Full at threshold: replace the oldest; the count stays at threshold. */
				uint16_t old = 0;
				for (uint16_t j = 1; j < src->nports; j++)
					if (src->ports[j].when < src->ports[old].when)
						old = j;
				i = old;
				goto store;
			}
			struct port_seen *np = realloc(src->ports, cap * sizeof(*np));
			if (!np) {
				r = -ENOMEM;
				goto out;
			}
			src->ports = np;
			src->cap = (uint16_t)cap;
		}
		i = src->nports++;
store:
		src->ports[i] = (struct port_seen){ .when = a->now, .port = a->port, .proto = a->proto };
	}
	if (src->nports >= p->threshold &&
	    (!src->ban_requested || a->now - src->ban_requested >= p->hold)) {
		src->ban_requested = a->now ? a->now : 1;
		out->ban_again = src->ban_lost;
		src->ban_lost = false;
		r = TRK_CROSSED;
	}
report:
	out->ports = src->nports;
	out->first_seen = src->first_seen;
	out->last_seen = src->last_seen;
	memcpy(out->counts, src->counts, sizeof(out->counts));
	out->connect_syns = src->connect_syns;
	out->syn_data = src->syn_data;
	out->ttl_min = src->ttl_min;
	out->ttl_max = src->ttl_max;
	out->ip_id_first = src->ip_id_first;
	out->ip_id_fixed = !src->ip_id_varies;
	out->window_first = src->window_first;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

void tracker_source_ban_lost(struct tracker *t, const struct nfs_addr *k)
{
	uint64_t h;
	struct shard *s = shardmap_shard(&t->map, k, &h);

	pthread_mutex_lock(&s->lock);
	struct source *src = (struct source *)lru_map_find(&s->map, k, h);
	if (src) {
		src->ban_requested = 0;
		src->ban_lost = true;
	}
	pthread_mutex_unlock(&s->lock);
}

void tracker_get_stats(struct tracker *t, struct tracker_stats *out)
{
	struct shardmap_stats st;
	shardmap_get_stats(&t->map, &st);
	out->sources = st.entries;
	out->evicted = st.evicted;
}

/* Keeps @out sorted by ports, most first; @n entries used of @max. */
static void top_insert(struct trk_summary *out, size_t *n, size_t max, const struct trk_summary *s)
{
	size_t i = *n < max ? (*n)++ : max;
	if (i == max) {
		if (max == 0 || s->ports <= out[max - 1].ports)
			return;
		i = max - 1;
	}
	while (i > 0 && out[i - 1].ports < s->ports) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = *s;
}

size_t tracker_top(struct tracker *t, struct trk_summary *out, size_t max, uint32_t window, uint32_t now)
{
	size_t n = 0;

	for (int i = 0; i < SHARDMAP_SHARDS; i++) {
		struct shard *s = &t->map.shards[i];
		pthread_mutex_lock(&s->lock);
		for (struct lru_node *nd = s->map.head; nd; nd = nd->next) {
			const struct source *src = (const struct source *)nd;
			struct trk_summary sum = { .addr = src->key, .first_seen = src->first_seen, .last_seen = src->last_seen };
			for (uint16_t k = 0; k < src->nports; k++)
				sum.ports += now - src->ports[k].when < window;
			memcpy(sum.counts, src->counts, sizeof(sum.counts));
			top_insert(out, &n, max, &sum);
		}
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}
