/* flow.c - see flow.h. One lock per shard; the detectors run under it, on fixed-size state. */
#include "detect/flow.h"

#include <errno.h>
#include <netinet/in.h>
#include <assert.h>
#include <endian.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/shardmap.h"

/* Canonical: the lower (address, port) first, so both directions find one entry. */
struct flow_key {
	struct nfs_addr lo, hi;
	uint16_t plo, phi;
};

/* The connection's own fields come to 80 bytes besides the detectors' states: the key is its
 * only copy of the addresses (the tuple is made from it, client_is_lo saying which end is the
 * client), and the client's first packet keeps what a refused probe's event needs. */
struct flow {
	struct lru_node node; /* first */
	struct flow_key key;
	uint32_t packets;
	uint64_t last_us;
	uint32_t next_seq[2];  /* the signatures' sequence bookkeeping (ia keeps its own) */
	uint16_t client_ip_id, client_window;
	uint16_t client_syn_len; /* payload of the client's SYN, saturating (a probe if not 0) */
	uint8_t client_flags, client_ttl, client_optlen;
	bool initiator_known : 1;
	bool client_is_lo : 1; /* the client is key.lo */
	bool closed : 1;       /* FIN or RST seen: final evaluation already made */
	bool drop : 1;
	bool established : 1;
	bool have_seq0 : 1, have_seq1 : 1;
	struct sig_state sig;
	struct ia_state ia;
};
static_assert(sizeof(struct flow) - sizeof(struct lru_node) - sizeof(struct ia_state) <= 168,
	      "struct flow: 168 bytes at most besides the table's node and the timing detector (issue 14)");

/* Connections come from slabs of FLOW_SLAB, each shard its own (under its lock), instead of a
 * calloc and a free each: the calloc (the zeroing of a fresh chunk included) was about 30 and
 * the free at the end of a replay 19 of a packet's instructions. A flow is zeroed when it is
 * taken, from a new slab or from the shard's free list (where given-back flows go). Bounded: a
 * shard makes a slab only when its free list is empty and it holds fewer than its maximum, so
 * it never has more than max + FLOW_SLAB - 1 flows; slabs are released with the table. A slab
 * of 16 is one malloc chunk of 4,496 bytes: 281 bytes a flow instead of a 288-byte chunk. */
#define FLOW_SLAB 16

struct flow_slab {
	struct flow_slab *next;
	struct flow flows[FLOW_SLAB];
};

struct flow_pool {
	struct flow_slab *slabs; /* newest first */
	struct flow *free;       /* given back; linked through node.hnext */
	uint32_t fresh;          /* flows at the end of slabs->flows never handed out */
};

struct flowtab {
	struct shardmap map;
	struct flow_pool pools[SHARDMAP_SHARDS]; /* pools[i] for map.shards[i] */
};

/* Keys this thread looked up lately and their hashes, in a small direct-mapped memo. A key
 * hashes alike for as long as its table lives, so reusing a hash is exact: packets of one
 * connection often come close together (a response's segments: five in six of the synthetic
 * capture's TCP packets find their connection here), and SipHash was the largest cost of a
 * lookup. The slot is picked by the ports, unkeyed: a sender who makes keys collide here only
 * costs them the full hash, never a wrong or slower lookup in the table. */
#define MEMO_SLOTS 64

struct hash_memo {
	uint64_t table; /* the table's map.id (struct shardmap); 0 empty (ids are not reused: a freed table's stay stale) */
	uint64_t h;
	struct flow_key key;
	/* Where the key's flow was, a hint checked under the shard's lock (flow_hint()): a hit
	 * skips the bucket array, whose load missed the cache on most packets (perf: a third of
	 * flowtab_packet's cycles). NULL: none. */
	struct flow *f;
};

static _Thread_local struct hash_memo memo[MEMO_SLOTS];

static_assert(sizeof(struct flow_key) == 2 * sizeof(struct nfs_addr) + 4, "no padding: keys compare as bytes");

/* The bytes a connection is hashed on: both addresses' own bytes and the ports, 12 for IPv4
 * and 36 for IPv6 (the key is 44 bytes whatever the family, and SipHash's cost grows with its
 * input: a 44-byte key was 260 instructions a packet, a tenth of the replay's). Equal keys
 * give equal bytes; the table still compares whole keys. */
#define FLOW_HASH_MAX (2 * 16 + 4)

static size_t key_hash_input(const struct flow_key *k, uint8_t out[FLOW_HASH_MAX])
{
	if (k->lo.family == AF_INET) {
		memcpy(out, k->lo.a, 4);
		memcpy(out + 4, k->hi.a, 4);
		memcpy(out + 8, &k->plo, 2);
		memcpy(out + 10, &k->phi, 2);
		return 12;
	}
	memcpy(out, k->lo.a, 16);
	memcpy(out + 16, k->hi.a, 16);
	memcpy(out + 32, &k->plo, 2);
	memcpy(out + 34, &k->phi, 2);
	return FLOW_HASH_MAX;
}

/* A key missing from the memo: hashed, and kept in slot @m. Apart from flow_shard() so that
 * the hit there needs no stack frame. */
static __attribute__((noinline)) struct shard *flow_shard_hash(struct flowtab *t, const struct flow_key *k,
								uint64_t *h, struct hash_memo *m)
{
	uint8_t in[FLOW_HASH_MAX];
	struct shard *s = shardmap_shard_bytes(&t->map, in, key_hash_input(k, in), h);

	m->table = t->map.id;
	m->h = *h;
	m->key = *k;
	m->f = NULL;
	return s;
}

/* The memo slot of @k. */
static inline struct hash_memo *flow_memo(const struct flow_key *k)
{
	return &memo[(k->plo ^ k->phi) % MEMO_SLOTS];
}

static inline struct shard *flow_shard(struct flowtab *t, const struct flow_key *k, uint64_t *h)
{
	struct hash_memo *m = flow_memo(k);

	if (m->table == t->map.id && memcmp(&m->key, k, sizeof(*k)) == 0) {
		*h = m->h;
		return shardmap_shard_of(&t->map, m->h);
	}
	return flow_shard_hash(t, k, h, m);
}

static inline uint64_t be64_at(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, sizeof(v));
	return be64toh(v);
}

/* The order memcmp() gives two addresses of one packet (same family, prefix length and
 * padding, so only the address bytes decide), by two 8-byte words instead of a call. */
static int addr_port_cmp(const struct nfs_addr *a, uint16_t pa, const struct nfs_addr *b, uint16_t pb)
{
	uint64_t a0 = be64_at(a->a), b0 = be64_at(b->a);

	if (a0 != b0)
		return a0 < b0 ? -1 : 1;
	uint64_t a1 = be64_at(a->a + 8), b1 = be64_at(b->a + 8);
	if (a1 != b1)
		return a1 < b1 ? -1 : 1;
	return (int)pa - (int)pb;
}

/* Every field of @k is written: it has no padding (static_assert above). Inlined: as a call
 * (it has two callers) it cost 10 more instructions a packet. */
static inline __attribute__((always_inline)) void key_of(const struct pkt *p, struct flow_key *k, bool *src_is_lo)
{
	*src_is_lo = addr_port_cmp(&p->src, p->sport, &p->dst, p->dport) <= 0;
	k->lo = *src_is_lo ? p->src : p->dst;
	k->hi = *src_is_lo ? p->dst : p->src;
	k->plo = *src_is_lo ? p->sport : p->dport;
	k->phi = *src_is_lo ? p->dport : p->sport;
}

/* What a flow holds outside itself (a signature's buffer). */
static void flow_release(struct lru_node *n)
{
	sig_release(&((struct flow *)n)->sig);
}

/* Gives @f, out of the table's index already, back to its shard's pool @p. */
static void flow_put(struct flow_pool *p, struct flow *f)
{
	flow_release(&f->node);
	/* No packet's key (family 0): a memo's hint to this flow no longer matches (flow_hint()). */
	memset(&f->key, 0, sizeof(f->key));
	f->node.hnext = p->free ? &p->free->node : NULL; /* not &NULL->node: undefined, UBSan says so */
	p->free = f;
}

/* A zeroed flow from pool @p, or NULL when a new slab cannot be had. */
static struct flow *flow_get(struct flow_pool *p)
{
	struct flow *f = p->free;

	if (f) {
		p->free = (struct flow *)f->node.hnext;
	} else {
		if (!p->fresh) {
			/* Not calloc: it clears the whole slab at once, and a flow is cleared
			 * below anyway when it is taken. */
			struct flow_slab *sl = malloc(sizeof(*sl));
			if (!sl)
				return NULL;
			sl->next = p->slabs;
			p->slabs = sl;
			p->fresh = FLOW_SLAB;
		}
		f = &p->slabs->flows[FLOW_SLAB - p->fresh--];
	}
	memset(f, 0, sizeof(*f));
	return f;
}

static void flow_pool_deinit(struct flow_pool *p)
{
	for (struct flow_slab *sl = p->slabs, *next; sl; sl = next) {
		next = sl->next;
		free(sl);
	}
	memset(p, 0, sizeof(*p));
}

/* A new connection of key @k (hash @h) in shard @s (pool @p), linked at the head of its LRU
 * list, the least recently seen one evicted first when the shard is full. NULL when out of
 * memory (nothing changed then). As lru_map_upsert() did, with the pool. */
static struct flow *flow_new(struct shard *s, struct flow_pool *p, const struct flow_key *k, uint64_t h)
{
	struct flow *f;

	if (lru_map_full(&s->map)) {
		struct flow *old = (struct flow *)lru_map_oldest(&s->map);
		lru_map_remove(&s->map, &old->node);
		flow_put(p, old);
		s->evicted++;
	}
	f = flow_get(p);
	if (!f)
		return NULL;
	f->key = *k;
	lru_map_insert(&s->map, &f->node, h);
	return f;
}

/* The connection as its initiator sees it (flow.h), from the canonical key. */
static void flow_tuple_of(const struct flow *f, struct flow_tuple *t)
{
	const struct flow_key *k = &f->key;

	t->client = f->client_is_lo ? k->lo : k->hi;
	t->server = f->client_is_lo ? k->hi : k->lo;
	t->cport = f->client_is_lo ? k->plo : k->phi;
	t->sport = f->client_is_lo ? k->phi : k->plo;
	t->initiator_known = f->initiator_known;
}

static bool have_seq(const struct flow *f, int dir)
{
	return dir ? f->have_seq1 : f->have_seq0;
}

static void have_seq_set(struct flow *f, int dir)
{
	if (dir)
		f->have_seq1 = true;
	else
		f->have_seq0 = true;
}

int flowtab_new(struct flowtab **out, uint32_t max_flows, const uint8_t key16[16])
{
	struct flowtab *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	r = shardmap_init(&t->map, max_flows, key16, offsetof(struct flow, key), sizeof(struct flow_key));
	if (r < 0) {
		flowtab_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void flowtab_set_single(struct flowtab *t)
{
	shardmap_set_single(&t->map);
}

void flowtab_free(struct flowtab *t)
{
	if (!t)
		return;
	/* The flows are in the slabs: only what they hold outside is released one by one. */
	shardmap_deinit(&t->map, flow_release);
	for (int i = 0; i < SHARDMAP_SHARDS; i++)
		flow_pool_deinit(&t->pools[i]);
	free(t);
}

static void add_sig_hits(struct flow_report *rep, const struct sig_hit *hits, int n)
{
	for (int i = 0; i < n && rep->nfound < FLOW_FINDINGS_MAX; i++) {
		struct flow_finding *f = &rep->found[rep->nfound++];
		memset(f, 0, sizeof(*f));
		f->kind = FLOW_FOUND_SIG;
		f->sig = hits[i];
	}
}

static void add_ia(struct flow_report *rep, const struct ia_result *r)
{
	if (rep->nfound < FLOW_FINDINGS_MAX) {
		struct flow_finding *f = &rep->found[rep->nfound++];
		memset(f, 0, sizeof(*f));
		f->kind = FLOW_FOUND_INTERACTIVE;
		f->ia = *r;
	}
}

static void flow_fill(const struct flow *f, struct flow_report *rep)
{
	flow_tuple_of(f, &rep->tuple);
	rep->drop = f->drop;
	rep->established = f->established;
	rep->packets = f->packets;
	rep->last_us = f->last_us;
	rep->client_flags = f->client_flags;
	rep->client_ttl = f->client_ttl;
	rep->client_optlen = f->client_optlen;
	rep->client_ip_id = f->client_ip_id;
	rep->client_window = f->client_window;
	rep->client_syn_len = f->client_syn_len;
}

/* End of a connection: the tests that need the whole of it. */
static void flow_finish(struct flow *f, uint64_t now_us, struct flow_report *rep)
{
	struct sig_hit hits[SIG_COUNT];
	struct ia_result r;

	add_sig_hits(rep, hits, sig_finish(&f->sig, hits, SIG_COUNT));
	if (ia_evaluate(&f->ia, now_us, f->initiator_known, true, &r))
		add_ia(rep, &r);
	f->closed = true;
}

/* The flow of @k in shard @s (locked), @m's hint first. Sound: a flow's memory stays its
 * shard's until the table is freed (its pool's slabs), and its key is written under that
 * shard's lock only (taken, or cleared when given back); the memo is this thread's and names
 * its table. */
static inline struct flow *flow_hint(struct shard *s, const struct hash_memo *m, const struct flow_key *k,
				     uint64_t h)
{
	if (m->f && memcmp(&m->f->key, k, sizeof(*k)) == 0)
		return m->f;
	return (struct flow *)lru_map_find_fixed(&s->map, k, h, sizeof(*k));
}

int flowtab_packet(struct flowtab *t, const struct pkt *p, uint64_t t_us, struct flow_report *rep)
{
	struct flow_key k;
	bool src_is_lo, created = false;
	struct flow *f;

	if (p->proto != IPPROTO_TCP)
		return -EINVAL;
	key_of(p, &k, &src_is_lo);
	uint64_t h;
	struct shard *s = flow_shard(t, &k, &h);

	struct hash_memo *m = flow_memo(&k); /* flow_shard() left @k in it */

	shardmap_lock(&t->map, s);
	f = flow_hint(s, m, &k, h);
	if (f) {
		lru_map_touch(&s->map, &f->node);
	} else {
		f = flow_new(s, &t->pools[s - t->map.shards], &k, h);
		if (!f) {
			shardmap_unlock(&t->map, s);
			return -ENOMEM;
		}
		created = true;
	}
	m->f = f;
	if (created) {
		/* Zhang & Paxson sec. 3.1: the initiator is whoever sent the SYN; without one the
		 * connection is partial and both flows are examined. */
		bool syn = (p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN;
		bool synack = (p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK);
		f->initiator_known = syn || synack;
		bool src_is_client = !synack; /* a SYN-ACK comes from the server */
		f->client_is_lo = src_is_client ? src_is_lo : !src_is_lo;
		ia_init(&f->ia);
		if (src_is_client) {
			f->client_flags = p->tcp_flags;
			f->client_ttl = p->ttl;
			f->client_optlen = p->tcp_optlen;
			f->client_ip_id = p->ip_id;
			f->client_window = p->tcp_window;
			if (p->tcp_flags & TCPF_SYN)
				f->client_syn_len = p->payload_len > UINT16_MAX ? UINT16_MAX : (uint16_t)p->payload_len;
		}
	}
	int dir = (src_is_lo == f->client_is_lo) ? 0 : 1;
	f->packets++;
	f->last_us = t_us;
	if (dir == 1 && (p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK))
		f->established = true;

	/* Not memset: the report is 1.5 KB and most packets find nothing. Every field but the
	 * findings past nfound is set below (flow_fill and these). */
	rep->dir = dir;
	rep->nfound = 0;

	/* Sequence bookkeeping for the signature detectors: in order, or a retransmission. */
	uint32_t len = p->payload_len;
	uint32_t seq = p->tcp_seq + ((p->tcp_flags & TCPF_SYN) ? 1 : 0);
	if (len > 0 && !f->closed) {
		bool in_order = true, retrans = false;
		if (have_seq(f, dir)) {
			int32_t d = (int32_t)(seq - f->next_seq[dir]);
			in_order = d == 0;
			retrans = d < 0 && (int32_t)(seq + len - f->next_seq[dir]) <= 0;
		}
		if (!retrans && (!have_seq(f, dir) || (int32_t)(seq + len - f->next_seq[dir]) > 0)) {
			f->next_seq[dir] = seq + len;
			have_seq_set(f, dir);
		}
		struct sig_packet sp = {
			.dir = dir, .initiator_known = f->initiator_known, .payload = p->payload,
			.caplen = p->payload_caplen, .len = len, .in_order = in_order, .retransmission = retrans,
		};
		struct sig_hit hits[SIG_COUNT];
		add_sig_hits(rep, hits, sig_packet(&f->sig, &sp, hits, SIG_COUNT));
	} else if ((p->tcp_flags & TCPF_SYN) && !have_seq(f, dir)) {
		f->next_seq[dir] = seq;
		have_seq_set(f, dir);
	}
	if (!f->closed) {
		/* The opening test trusts only an initiator's first bytes. In a partial
		 * connection dir 0 is merely the first side seen, which may be the backdoor's own
		 * server: its bytes must not buy the session out of the timing test. */
		if (f->initiator_known)
			ia_packet(&f->ia, dir, t_us, seq, len, p->payload, p->payload_caplen);
		else
			ia_packet(&f->ia, dir, t_us, seq, len, NULL, 0);
		struct ia_result r;
		if (ia_evaluate(&f->ia, t_us, f->initiator_known, false, &r))
			add_ia(rep, &r);
		if (p->tcp_flags & (TCPF_FIN | TCPF_RST))
			flow_finish(f, t_us, rep);
	}
	flow_fill(f, rep);
	rep->created = created;
	shardmap_unlock(&t->map, s);
	return 0;
}

void flowtab_mark_drop(struct flowtab *t, const struct flow_tuple *tuple)
{
	struct pkt p = { .src = tuple->client, .dst = tuple->server, .sport = tuple->cport, .dport = tuple->sport };
	struct flow_key k;
	bool src_is_lo;

	key_of(&p, &k, &src_is_lo);
	uint64_t h;
	struct shard *s = flow_shard(t, &k, &h);
	shardmap_lock(&t->map, s);
	struct flow *f = (struct flow *)lru_map_find_fixed(&s->map, &k, h, sizeof(k));
	if (f)
		f->drop = true;
	shardmap_unlock(&t->map, s);
}

void flowtab_finish_all(struct flowtab *t, void (*cb)(const struct flow_report *rep, void *data), void *data)
{
	for (int i = 0; i < SHARDMAP_SHARDS; i++) {
		struct shard *s = &t->map.shards[i];
		shardmap_lock(&t->map, s);
		/* Oldest first, which is close to the order connections started in; the shard is
		 * emptied whole first (lru_map_take_all). */
		for (struct lru_node *n = lru_map_take_all(&s->map), *prev; n; n = prev) {
			struct flow *f = (struct flow *)n;
			struct flow_report rep; /* not zeroed (1.5 KB a flow): as in flowtab_packet() */
			prev = n->prev;
			flow_fill(f, &rep);
			rep.dir = 0;
			rep.created = false;
			rep.nfound = 0;
			if (!f->closed)
				flow_finish(f, f->last_us, &rep);
			if (rep.nfound)
				cb(&rep, data);
			flow_put(&t->pools[i], f);
		}
		shardmap_unlock(&t->map, s);
	}
}

void flowtab_get_stats(struct flowtab *t, struct flow_stats *out)
{
	struct shardmap_stats st;
	shardmap_get_stats(&t->map, &st);
	out->flows = st.entries;
	out->evicted = st.evicted;
}

size_t flowtab_top(struct flowtab *t, struct flow_summary *out, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < SHARDMAP_SHARDS && max; i++) {
		struct shard *s = &t->map.shards[i];
		shardmap_lock(&t->map, s);
		for (struct lru_node *nd = s->map.head; nd; nd = nd->next) {
			const struct flow *f = (const struct flow *)nd;
			size_t k = n < max ? n++ : max;
			if (k == max) {
				if (f->packets <= out[max - 1].packets)
					continue;
				k = max - 1;
			}
			while (k > 0 && out[k - 1].packets < f->packets) {
				out[k] = out[k - 1];
				k--;
			}
			out[k] = (struct flow_summary){ .packets = f->packets, .drop = f->drop };
			flow_tuple_of(f, &out[k].tuple);
		}
		shardmap_unlock(&t->map, s);
	}
	return n;
}
