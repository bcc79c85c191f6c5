/* tracker.c - per-source state in a shardmap (one lock per shard), in two stages.
 *
 * Eviction with a probation stage, after 2Q (Johnson & Shasha, VLDB 1994) and S3-FIFO (Yang
 * et al., "FIFO queues are all you need for cache eviction", SOSP 2023): a new source enters
 * a FIFO, probation, and is promoted to the main stage (LRU) when it tries a second distinct
 * port. When a shard is full, probation gives way first, as long as it holds at least
 * PROBATION_MIN_PCT of the shard: a flood of forged one-port sources only churns probation and
 * never pushes out a source that has tried several ports. A source evicted from probation
 * leaves its last port in a ghost FIFO (ghost.h), GHOST_FACTOR times the table's size, hashes
 * only: a real scanner whose first probe was flushed by the flood is promoted at its next
 * probe, with both ports. The main stage evicts the source with the fewest ports among its
 * MAIN_SAMPLE least recently seen (sampled, as Space-Saving evicts its smallest counter). */
#include "detect/tracker.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/shardmap.h"
#include "decode/packet.h"
#include "detect/ghost.h"

#define PROBATION_MIN_PCT 10 /* S3-FIFO's small queue: 10% of the cache */
#define GHOST_FACTOR 2       /* ghost entries per source the table holds (16 bytes each) */
#define MAIN_SAMPLE 8

struct port_seen {
	uint32_t when;
	uint32_t who; /* trk_attempt.who of its last try */
	uint16_t port;
	uint8_t proto;
};

/* The counters a source keeps: its classes, then connect_syns and syn_data. */
enum { CNT_CONNECT = TRK_CLASSES, CNT_SYN_DATA, CNT_ALL };

/* What only some sources need, allocated on the first need: room for more than one port (a
 * scanner), and the high halves of counters past 65,535 (a flood from one address). */
struct source_more {
	uint16_t cap;           /* of ports[] */
	uint16_t hi[CNT_ALL];   /* counter = hi << 16 | struct source's lo */
	/* Every port's when lies between these two (not always the tightest bounds): while
	 * none can have left the window, an attempt does not walk the ports to expire them. */
	uint32_t when_min, when_max;
	struct port_seen ports[];
};

/* Every tracked source has one (issue 14: <= 128 bytes a source, malloc's chunk and the
 * bucket pointer included): most sources are one port from one address (a probe, a
 * backscatter, a forged flood), so one port lives inline and 16-bit counters cover them. */
struct source {
	struct lru_node node; /* first: a struct lru_node * is a struct source * */
	struct nfs_addr key;
	uint32_t first_seen, last_seen, ban_requested;
	uint16_t lo[CNT_ALL];   /* the counters' low halves (struct source_more.hi) */
	uint16_t ip_id_first, window_first;
	uint8_t ttl_min, ttl_max;
	/* Packed to 4 so the union takes the port's 12 bytes, not 16 (x86-64 and arm64 load an
	 * 8-byte pointer from a 4-aligned address; the compiler emits what others need). */
	union __attribute__((packed, aligned(4))) {
		struct port_seen one;       /* !has_more: room for one port */
		struct source_more *more;   /* has_more */
	} p;
	uint16_t nports;
	bool has_more : 1, wide : 1, in_main : 1, ip_id_varies : 1, backscatter_reported : 1, probe_reported : 1,
		ban_lost : 1; /* wide: a counter went past 65,535 (struct source_more.hi is not all 0) */
};

/* malloc rounds 104 up to a 112-byte chunk (glibc: size + 8, to 16); with its share of the
 * shard's buckets (one pointer a source) that is 120 bytes a source. */
static_assert(sizeof(struct source) <= 104, "a source in a 112-byte malloc chunk");

/* Probation and the ghost of one shard, under that shard's lock. Its sources are in the
 * shard's index (struct shard.map's buckets: one lookup finds a source in either stage) and on
 * this list, not on the map's LRU list. */
struct probation {
	struct lru_list list; /* FIFO: a hit does not move an entry */
	struct ghost ghost;
	uint64_t evicted, promoted;
};

struct tracker {
	struct shardmap map; /* the main stage: sources with two ports or more; LRU */
	struct probation prob[SHARDMAP_SHARDS];
	uint32_t per_shard, prob_min; /* sources a shard holds in both stages; probation's share */
};

/* Sources this thread touched lately and their hashes, as flow.c keeps connections': a key
 * hashes alike for as long as its tracker lives, so reusing the hash is exact. A scanner's
 * attempts come one after another, each touching the source and then its prefix (two
 * trackers): SipHash was 21 of a replayed packet's instructions. The slot is picked by
 * address bytes, unkeyed: keys made to collide here only cost their sender the full hash. */
#define SOURCE_MEMO_SLOTS 16

struct source_memo {
	uint64_t tracker; /* the tracker's map.id (struct shardmap); 0 empty (ids are not reused) */
	uint64_t h;
	struct nfs_addr key;
};

static _Thread_local struct source_memo source_memo[SOURCE_MEMO_SLOTS];

/* The shard of @k and its hash, from the memo or hashed (and kept there). */
static struct shard *source_shard(struct tracker *t, const struct nfs_addr *k, uint64_t *h)
{
	struct source_memo *m = &source_memo[(k->a[3] ^ k->a[7] ^ k->a[15]) % SOURCE_MEMO_SLOTS];

	if (m->tracker == t->map.id && memcmp(&m->key, k, sizeof(*k)) == 0) {
		*h = m->h;
		return shardmap_shard_of(&t->map, m->h);
	}
	struct shard *s = shardmap_shard(&t->map, k, h);
	m->tracker = t->map.id;
	m->h = *h;
	m->key = *k;
	return s;
}

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

int tracker_new(struct tracker **out, uint32_t max_sources, const uint8_t key[16])
{
	struct tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->per_shard = max_sources / SHARDMAP_SHARDS ? max_sources / SHARDMAP_SHARDS : 1;
	t->prob_min = t->per_shard * PROBATION_MIN_PCT / 100 ? t->per_shard * PROBATION_MIN_PCT / 100 : 1;
	if (shardmap_init(&t->map, max_sources, key, offsetof(struct source, key), sizeof(struct nfs_addr)) < 0)
		goto fail;
	for (int i = 0; i < SHARDMAP_SHARDS; i++)
		if (ghost_init(&t->prob[i].ghost, GHOST_FACTOR * t->per_shard) < 0)
			goto fail;
	*out = t;
	return 0;
fail:
	tracker_free(t);
	return -ENOMEM;
}

static void source_free(struct lru_node *n)
{
	struct source *src = (struct source *)n;
	if (src->has_more)
		free(src->p.more);
	free(src);
}

static struct port_seen *source_ports(struct source *src)
{
	return src->has_more ? src->p.more->ports : &src->p.one;
}

static uint16_t source_cap(const struct source *src)
{
	return src->has_more ? src->p.more->cap : 1;
}

/* Moves @src's ports into a struct source_more of @cap ports (>= nports), or grows it.
 * Returns 0 or -ENOMEM (nothing changed). */
static int source_grow(struct source *src, uint16_t cap)
{
	struct source_more *m;

	if (src->has_more) {
		m = realloc(src->p.more, sizeof(*m) + cap * sizeof(m->ports[0]));
		if (!m)
			return -ENOMEM;
	} else {
		m = calloc(1, sizeof(*m) + cap * sizeof(m->ports[0]));
		if (!m)
			return -ENOMEM;
		m->when_min = UINT32_MAX; /* no port: empty bounds */
		if (src->nports) {
			m->ports[0] = src->p.one;
			m->when_min = m->when_max = src->p.one.when;
		}
		src->has_more = true;
	}
	m->cap = cap;
	src->p.more = m;
	return 0;
}

/* A port of @src was given the time @when: its bounds (struct source_more) take it in. */
static void source_when_note(struct source *src, uint32_t when)
{
	if (!src->has_more)
		return;
	struct source_more *m = src->p.more;
	m->when_min = when < m->when_min ? when : m->when_min;
	m->when_max = when > m->when_max ? when : m->when_max;
}

static uint32_t count_get(const struct source *src, int i)
{
	return (src->wide ? (uint32_t)src->p.more->hi[i] << 16 : 0) | src->lo[i];
}

/* Adds one to counter @i, as a uint32_t would (wrapping at 2^32). Out of memory for the high
 * half, the counter stays at 65,535. */
static void count_inc(struct source *src, int i)
{
	if (src->lo[i] != UINT16_MAX) {
		src->lo[i]++;
		return;
	}
	if (!src->has_more && source_grow(src, 1) < 0)
		return;
	src->lo[i] = 0;
	src->p.more->hi[i]++;
	src->wide = true;
}

/* Every report copies the counts: the low halves in one loop, the high ones only if any. */
static void counts_get(const struct source *src, uint32_t counts[TRK_CLASSES])
{
	for (int i = 0; i < TRK_CLASSES; i++)
		counts[i] = src->lo[i];
	if (src->wide)
		for (int i = 0; i < TRK_CLASSES; i++)
			counts[i] |= (uint32_t)src->p.more->hi[i] << 16;
}

void tracker_set_single(struct tracker *t)
{
	shardmap_set_single(&t->map);
}

void tracker_free(struct tracker *t)
{
	if (!t)
		return;
	for (int i = 0; i < SHARDMAP_SHARDS; i++) {
		/* Probation's sources are on no list of the map's: freed here, not by its deinit. */
		for (struct lru_node *n = t->prob[i].list.head, *next; n; n = next) {
			next = n->next;
			source_free(n);
		}
		ghost_deinit(&t->prob[i].ghost);
	}
	shardmap_deinit(&t->map, source_free);
	free(t);
}

/* Drops ports that left the window; keeps the array compact. Nothing is moved before the
 * first port that left: most attempts find none (every attempt walks a scanner's ports). */
static void expire_ports(struct source *src, uint32_t now, uint32_t window)
{
	struct port_seen *ports = source_ports(src);
	uint16_t r = 0, n = src->nports;
	struct source_more *m = src->has_more ? src->p.more : NULL;
	/* A scanner's every attempt came here and walked its ports: the bounds say at once when
	 * none has left (none from after @now, which the walk would drop too). */
	if (m && m->when_max <= now && now - m->when_min < window)
		return;
	while (r < n && now - ports[r].when < window)
		r++;
	if (r < n) {
		uint16_t w = r;
		for (r++; r < n; r++)
			if (now - ports[r].when < window)
				ports[w++] = ports[r];
		src->nports = n = w;
	}
	if (m) { /* the tightest bounds again, so that the next attempts find them quickly */
		m->when_min = UINT32_MAX;
		m->when_max = 0;
		for (r = 0; r < n; r++)
			source_when_note(src, ports[r].when);
	}
}

/* Records (@proto, @port) tried at @when: a retry refreshes its time; a source keeps at most
 * @threshold ports (the oldest is replaced). Returns 0 or -ENOMEM (nothing changed). */
static int add_port(struct source *src, uint8_t proto, uint16_t port, uint32_t when, uint32_t who, uint32_t threshold)
{
	struct port_seen *ports = source_ports(src);
	uint16_t i, old = 0; /* old: the first of the oldest, wanted when the port is new */
	uint32_t old_when = src->nports ? ports[0].when : 0; /* its time, kept out of the array */
	for (i = 0; i < src->nports; i++) {
		if (ports[i].port == port && ports[i].proto == proto)
			break;
		if (ports[i].when < old_when) {
			old = i;
			old_when = ports[i].when;
		}
	}
	if (i < src->nports) {
		ports[i].when = when; /* a retry of the same port is not a new port */
		ports[i].who = who;
		source_when_note(src, when);
		return 0;
	}
	uint16_t have = source_cap(src);
	if (src->nports == have) {
		/* Inline 1, then 4, 8, 16...: the arrays of before, the first port kept inline. */
		uint32_t cap = have > 1 ? have * 2u : 4u;
		if (cap > threshold)
			cap = threshold;
		if (cap <= have) {
			/* Full at threshold: replace the oldest (found by the search above); the
			 * count stays at threshold. */
			ports[old] = (struct port_seen){ .when = when, .who = who, .port = port, .proto = proto };
			source_when_note(src, when);
			return 0;
		}
		if (source_grow(src, (uint16_t)cap) < 0)
			return -ENOMEM;
		ports = source_ports(src);
	}
	ports[src->nports++] = (struct port_seen){ .when = when, .who = who, .port = port, .proto = proto };
	source_when_note(src, when);
	return 0;
}

/* Distinct who among @src's ports, counted up to @max (at most threshold x max steps): each
 * port is compared with the distinct ones found so far, not with every port before it (a
 * prefix's 40 ports from a few sources were an eighth of the tracker's instructions). The
 * configuration caps max (prefix_sources) at WHO_MAX; a larger one counts up to WHO_MAX. */
#define WHO_MAX 64
static uint32_t count_who(struct source *src, uint32_t max)
{
	const struct port_seen *ports = source_ports(src);
	uint32_t seen[WHO_MAX], n = 0;
	uint16_t i = 0;
	if (src->nports && max > 1) { /* the usual prefix: one source's ports, then maybe others */
		seen[n++] = ports[0].who;
		while (++i < src->nports && ports[i].who == seen[0])
			;
	}
	for (; i < src->nports && n < max && n < WHO_MAX; i++) {
		uint32_t j = 0;
		while (j < n && seen[j] != ports[i].who)
			j++;
		if (j == n)
			seen[n++] = ports[i].who;
	}
	return n;
}

/* Makes room for one more source in shard @s (probation @p) when it is full: probation's
 * oldest goes first, into the ghost, unless probation is below its share; else the main
 * stage's source with the fewest ports among its MAIN_SAMPLE least recently seen. */
static void make_room(struct tracker *t, struct shard *s, struct probation *p)
{
	if (s->map.count + p->list.count < t->per_shard)
		return;
	if (p->list.count && (p->list.count >= t->prob_min || s->map.count == 0)) {
		struct source *old = (struct source *)p->list.tail;
		if (old->nports) {
			const struct port_seen *last = &source_ports(old)[old->nports - 1];
			int cls = 0; /* the class that counted its port: backscatter never does */
			while (cls < TRK_CLASSES - 1 && (!count_get(old, cls) || cls == TRK_SYNACK || cls == TRK_RST))
				cls++;
			/* Nodes keep no hash (lrumap.h): evictions from probation hash the key again. */
			ghost_put(&p->ghost, lru_map_hash(&s->map, &old->key), last->proto, last->port, (uint8_t)cls,
				  last->when);
		}
		lru_map_remove_list(&s->map, &old->node, &p->list);
		source_free(&old->node);
		p->evicted++;
		return;
	}
	struct source *victim = (struct source *)lru_map_oldest(&s->map);
	int k = 0;
	for (struct lru_node *n = victim->node.prev; n && ++k < MAIN_SAMPLE; n = n->prev)
		if (((struct source *)n)->nports < victim->nports)
			victim = (struct source *)n;
	lru_map_remove(&s->map, &victim->node);
	source_free(&victim->node);
	s->evicted++;
}

/* Finds @k (hash @h) in either stage. *@in_main says which. */
static struct source *find_source(struct shard *s, const struct nfs_addr *k, uint64_t h, bool *in_main)
{
	struct source *src = (struct source *)lru_map_find_fixed(&s->map, k, h, sizeof(*k));
	*in_main = src && src->in_main;
	return src;
}

int tracker_source_touch(struct tracker *t, const struct nfs_addr *k, const struct trk_attempt *a,
			 const struct trk_params *p, struct trk_report *out)
{
	uint64_t h;
	struct shard *s = source_shard(t, k, &h);
	struct probation *pr = &t->prob[s - t->map.shards];
	enum trk_class cls = trk_classify(a->proto, a->tcp_flags);
	struct source *src;
	int r = TRK_COUNTED;
	bool in_main;

	shardmap_lock(&t->map, s);
	src = find_source(s, k, h, &in_main);
	if (in_main) {
		lru_map_touch(&s->map, &src->node);
	} else if (!src) {
		src = calloc(1, sizeof(*src));
		if (!src) {
			shardmap_unlock(&t->map, s);
			return -ENOMEM;
		}
		/* A new source starts on probation, pushing out another when the shard is full. */
		make_room(t, s, pr);
		memcpy(&src->key, k, sizeof(src->key));
		lru_map_insert_list(&s->map, &src->node, h, &pr->list);
		src->first_seen = a->now;
		src->ttl_min = src->ttl_max = a->ttl;
		src->ip_id_first = a->ip_id;
		src->window_first = a->window;
		/* Back after probation flushed it: its last port counts again, within the window. */
		struct ghost_entry g;
		if (ghost_take(&pr->ghost, h, &g) && a->now - g.when < p->window &&
		    add_port(src, g.proto, g.port, g.when, 0, p->threshold) == 0) {
			src->first_seen = g.when;
			count_inc(src, g.cls < TRK_CLASSES ? g.cls : TRK_TCP_OTHER);
		}
	}
	src->ttl_min = a->ttl < src->ttl_min ? a->ttl : src->ttl_min;
	src->ttl_max = a->ttl > src->ttl_max ? a->ttl : src->ttl_max;
	src->ip_id_varies |= a->ip_id != src->ip_id_first;
	memset(out, 0, sizeof(*out));
	src->last_seen = a->now;
	count_inc(src, cls);

	/* Bejtlich: unsolicited SYN-ACKs and RSTs are the backscatter of a SYN flood spoofing
	 * this source's victim; a SYN with data is a probe (load-balancer latency checks). Neither
	 * is a port scan by itself. */
	if (cls == TRK_SYNACK || cls == TRK_RST) {
		r = TRK_IGNORED;
		if (!src->backscatter_reported && count_get(src, TRK_SYNACK) + count_get(src, TRK_RST) >= p->threshold) {
			src->backscatter_reported = true;
			out->backscatter = true;
		}
		goto report;
	}
	if (a->syn_data) {
		count_inc(src, CNT_SYN_DATA);
		r = TRK_IGNORED;
		if (!src->probe_reported) {
			src->probe_reported = true;
			out->probe = true;
		}
		goto report;
	}
	if (cls == TRK_SYN && a->tcp_opts)
		count_inc(src, CNT_CONNECT);
	expire_ports(src, a->now, p->window);
	if (add_port(src, a->proto, a->port, a->now, a->who, p->threshold) < 0) {
		r = -ENOMEM;
		goto out;
	}
	if (!in_main && src->nports >= 2) { /* a second distinct port: off probation */
		lru_map_remove_list(&s->map, &src->node, &pr->list);
		lru_map_insert(&s->map, &src->node, h);
		src->in_main = true;
		pr->promoted++;
	}
	if (src->nports >= p->threshold && p->min_sources > 1)
		out->sources = count_who(src, p->min_sources);
	if (src->nports >= p->threshold && (p->min_sources <= 1 || out->sources >= p->min_sources) &&
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
	counts_get(src, out->counts);
	out->connect_syns = count_get(src, CNT_CONNECT);
	out->syn_data = count_get(src, CNT_SYN_DATA);
	out->ttl_min = src->ttl_min;
	out->ttl_max = src->ttl_max;
	out->ip_id_first = src->ip_id_first;
	out->ip_id_fixed = !src->ip_id_varies;
	out->window_first = src->window_first;
out:
	shardmap_unlock(&t->map, s);
	return r;
}

void tracker_source_ban_lost(struct tracker *t, const struct nfs_addr *k)
{
	uint64_t h;
	struct shard *s = source_shard(t, k, &h);
	bool in_main;

	shardmap_lock(&t->map, s);
	struct source *src = find_source(s, k, h, &in_main);
	if (src) {
		src->ban_requested = 0;
		src->ban_lost = true;
	}
	shardmap_unlock(&t->map, s);
}

void tracker_get_stats(struct tracker *t, struct tracker_stats *out)
{
	struct tracker_stats st = { 0 };
	for (int i = 0; i < SHARDMAP_SHARDS; i++) {
		struct shard *s = &t->map.shards[i];
		shardmap_lock(&t->map, s);
		st.sources += s->map.count + t->prob[i].list.count;
		st.probation += t->prob[i].list.count;
		st.evicted_main += s->evicted;
		st.evicted_probation += t->prob[i].evicted;
		st.promoted += t->prob[i].promoted;
		shardmap_unlock(&t->map, s);
	}
	st.evicted = st.evicted_main + st.evicted_probation;
	*out = st;
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
		shardmap_lock(&t->map, s);
		for (int stage = 0; stage < 2; stage++) {
			for (struct lru_node *nd = stage ? t->prob[i].list.head : s->map.head; nd; nd = nd->next) {
				struct source *src = (struct source *)nd;
				const struct port_seen *ports = source_ports(src);
				struct trk_summary sum = { .addr = src->key, .first_seen = src->first_seen,
							   .last_seen = src->last_seen };
				for (uint16_t k = 0; k < src->nports; k++)
					sum.ports += now - ports[k].when < window;
				counts_get(src, sum.counts);
				top_insert(out, &n, max, &sum);
			}
		}
		shardmap_unlock(&t->map, s);
	}
	return n;
}
