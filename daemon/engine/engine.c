/* engine.c - see engine.h. */
#include "engine/engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "decide/report.h"
#include "decode/marktag.h"
#include "decode/packet.h"
#include "detect/scan.h"

/* After a ban request a source must keep crossing for this long before another request: the
 * ban normally lands within milliseconds, so packets after the hold mean it did not. */
#define ENGINE_HOLD_S 10
/* At most one flood event per this many seconds. */
#define FLOOD_REPORT_EVERY_S 60

void engine_configure(struct engine *e, const struct nfs_config *c)
{
	atomic_store(&e->set.threshold, (uint32_t)c->threshold);
	atomic_store(&e->set.window, (uint32_t)c->window);
	atomic_store(&e->set.hold, c->duration < ENGINE_HOLD_S ? (uint32_t)c->duration : ENGINE_HOLD_S);
	atomic_store(&e->set.ipv6_prefix, (uint32_t)c->ipv6_prefix);
	atomic_store(&e->set.prefix4, (uint32_t)c->prefix4);
	atomic_store(&e->set.prefix6, (uint32_t)c->prefix6);
	atomic_store(&e->set.prefix_threshold, (uint32_t)c->prefix_threshold);
	atomic_store(&e->set.prefix_sources, (uint32_t)c->prefix_sources);
	atomic_store(&e->set.accept, c->verdict_accept);
	atomic_store(&e->set.flood_syn_rate, c->flood_syn_rate);
	atomic_store(&e->set.ban_seconds, c->duration);
	atomic_store(&e->set.report_standard, c->report_standard_ports);
	pthread_rwlock_wrlock(&e->policy_lock);
	e->policy = c->policy;
	pthread_rwlock_unlock(&e->policy_lock);
}

int engine_init(struct engine *e, struct tracker *t, struct flowtab *flows, struct banq *q,
		struct event_sink *events, const struct nfs_config *c)
{
	memset(e, 0, sizeof(*e));
	e->tracker = t;
	e->flows = flows;
	e->banq = q;
	e->events = events;
	e->replay = q == NULL;
	e->replay_t0 = -1;
	clock_gettime(CLOCK_MONOTONIC, &e->t0);
	if (pthread_rwlock_init(&e->policy_lock, NULL))
		return -ENOMEM;
	sctpeps_init(&e->sctp, "/proc/net/sctp/eps");
	engine_configure(e, c);
	return 0;
}

void engine_set_evidence(struct engine *e, struct evidence *evidence, struct pktring *ring)
{
	e->evidence = evidence;
	e->ring = ring;
}

void engine_set_prefixes(struct engine *e, struct tracker *prefixes)
{
	e->prefixes = prefixes;
}

void engine_deinit(struct engine *e)
{
	free(e->spared);
	e->spared = NULL;
	sctpeps_deinit(&e->sctp);
	pthread_rwlock_destroy(&e->policy_lock);
}

/* What engine_set_spared() keeps: two lists of up to NETLIST_MAX networks each. */
struct engine_spared {
	struct netlist allow, protect;
};

int engine_set_spared(struct engine *e, const struct netlist *allow, const struct netlist *protect)
{
	struct engine_spared *n = malloc(sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->allow.n = n->protect.n = 0;
	if (allow)
		n->allow = *allow;
	if (protect)
		n->protect = *protect;
	pthread_rwlock_wrlock(&e->policy_lock);
	struct engine_spared *old = e->spared;
	e->spared = n;
	pthread_rwlock_unlock(&e->policy_lock);
	free(old);
	return 0;
}

int engine_spare(struct engine *e, const struct nfs_addr *net)
{
	int r = -ENOENT;
	pthread_rwlock_wrlock(&e->policy_lock);
	if (e->spared)
		r = netlist_add(&e->spared->allow, net);
	pthread_rwlock_unlock(&e->policy_lock);
	return r;
}

/* Seconds for the tracker: monotonic live, capture time in a replay. */
static uint32_t engine_now(struct engine *e, const struct engine_meta *m)
{
	if (e->replay) {
		if (e->replay_t0 < 0)
			e->replay_t0 = m->when.tv_sec;
		int64_t d = m->when.tv_sec - e->replay_t0;
		return (uint32_t)(d < 0 ? 0 : d) + 1;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec - e->t0.tv_sec) + 1;
}

static enum action decide(struct engine *e, enum det d, const struct nfs_addr *client, const struct nfs_addr *server,
			  uint16_t port)
{
	pthread_rwlock_rdlock(&e->policy_lock);
	enum action a = policy_decide(&e->policy, d, client, server, port);
	pthread_rwlock_unlock(&e->policy_lock);
	return a;
}

/* What a source is tracked and banned as: an IPv4 address, or its IPv6 prefix. A prefix that
 * holds an allowed or protected address (the scanner shares this host's own /64, or its
 * router's) is not banned as a whole (the ban writer narrows it), so its addresses are
 * tracked one by one too: counted as one prefix, the ban request's hold left every other
 * address of the prefix uncounted for ENGINE_HOLD_S (issue 10, item 3). */
static struct nfs_addr ban_key(struct engine *e, const struct nfs_addr *a)
{
	if (a->family != AF_INET6)
		return *a;
	struct nfs_addr p = nfs_addr_prefix(a, atomic_load(&e->set.ipv6_prefix));
	if (p.plen == a->plen)
		return p;
	pthread_rwlock_rdlock(&e->policy_lock);
	bool narrow = e->spared && (netlist_overlap(&e->spared->allow, &p) || netlist_overlap(&e->spared->protect, &p));
	pthread_rwlock_unlock(&e->policy_lock);
	return narrow ? *a : p;
}

/* Where an event about the source or connection @k goes; its record holds @k's packets. */
static struct report_dest dest(struct engine *e, const struct pktring_key *k)
{
	struct report_dest d = { .events = e->events, .evidence = e->evidence };
	if (k)
		d.ctx.ring = *k;
	return d;
}

/* One more in a worker's own counters (engine.h: one writer, any reader): a relaxed load and
 * store, not a locked add, which took two thirds of engine_packet's own time in a replay. */
static inline void counter_inc(_Atomic uint64_t *x)
{
	atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* One more event, and one more detection for @d (the metrics' per-detector count). */
static void counted(struct engine *e, enum det d, struct engine_counters *c)
{
	counter_inc(&c->events);
	atomic_fetch_add_explicit(&e->detections[d], 1, memory_order_relaxed);
}

/* Live: hand to the ban writer. Replay: say what would be banned. Returns false when the
 * ban queue was full: the request is lost (and counted). @what: the address or prefix to
 * ban; @who: the offending address in it. @scan: the scan's threshold packet, whose event
 * the writer then writes with its decision; NULL when the event is written here. */
static bool request_ban_key(struct engine *e, const struct nfs_addr *what, const struct nfs_addr *who, enum det d,
			    const struct trk_report *rep, const struct pkt *scan, const struct engine_meta *m,
			    struct engine_counters *c)
{
	struct nfs_addr key = *what;

	counter_inc(&c->ban_requests);
	if (e->replay) {
		struct report_dest to = dest(e, NULL);
		report_ban(&to, &m->when, &key, detector_name(d), atomic_load(&e->set.ban_seconds), 1, -1);
		counter_inc(&c->events);
		return true;
	}
	struct ban_request req = { .addr = key, .host = *who, .t_packet = m->when, .t_kernel = m->when_kernel,
				   .queue = m->queue, .det = (uint8_t)d };
	if (rep)
		req.report = *rep;
	if (scan) {
		req.scan_event = true;
		req.proto = scan->proto;
		req.sport = scan->sport;
		req.dport = scan->dport;
		req.dst = scan->dst;
	}
	if (banq_push(e->banq, &req) == 0)
		return true;
	counter_inc(&c->banq_full);
	return false;
}

static bool request_ban(struct engine *e, const struct nfs_addr *who, enum det d, const struct trk_report *rep,
			const struct pkt *scan, const struct engine_meta *m, struct engine_counters *c)
{
	struct nfs_addr key = ban_key(e, who);
	return request_ban_key(e, &key, who, d, rep, scan, m, c);
}

/* Why prefix @net must not be banned as a whole, into @buf: it holds an allowed or protected
 * address. Returns NULL when nothing stands in the way. */
static const char *net_spared(struct engine *e, const struct nfs_addr *net, char *buf, size_t len)
{
	const struct nfs_addr *hit = NULL;
	bool allowed = false;
	char nb[NFS_ADDR_STRLEN];

	pthread_rwlock_rdlock(&e->policy_lock);
	if (e->spared && (hit = netlist_overlap(&e->spared->allow, net)))
		allowed = true;
	else if (e->spared)
		hit = netlist_overlap(&e->spared->protect, net);
	if (hit)
		nfs_addr_format(hit, nb, sizeof(nb));
	pthread_rwlock_unlock(&e->policy_lock);
	if (!hit)
		return NULL;
	snprintf(buf, len, allowed ? "holds allowlisted %s" : "holds protected %s (this host, a resolver or a gateway)", nb);
	return buf;
}

/* Which source of a prefix tried a port, for counting distinct sources: an IPv4 address
 * exactly; an IPv6 source (a /64) by its first 64 bits folded to 32, which keeps the /64s of
 * one prefix of /32 or longer apart. */
static uint32_t source_tag(const struct nfs_addr *src_key)
{
	uint32_t w0, w1;
	memcpy(&w0, src_key->a, 4);
	memcpy(&w1, src_key->a + 4, 4);
	return src_key->family == AF_INET ? w0 : w0 ^ w1;
}

/* Distributed scans: the closed port @a of @p's source (tracked as @src_key) also counts for
 * its prefix. Counted: distinct (proto, port) pairs across the prefix within the window, and
 * the distinct sources they came from: a busy network whose clients retry a few closed ports
 * (an office, a NAT pool) shows many sources but few ports, one source scanning shows many
 * ports but one source; both stay below. The prefix is banned as a whole unless it holds an
 * allowed or protected address: then it is reported with the reason, and its sources keep
 * their own thresholds. */
static void net_closed_port(struct engine *e, const struct pkt *p, struct trk_attempt a, const struct nfs_addr *src_key,
			    const struct report_dest *to, const struct engine_meta *m, struct engine_counters *c)
{
	struct trk_params tp = {
		.threshold = atomic_load(&e->set.prefix_threshold),
		.window = atomic_load(&e->set.window),
		.hold = atomic_load(&e->set.hold),
		.min_sources = atomic_load(&e->set.prefix_sources),
	};
	if (!e->prefixes || tp.threshold == 0)
		return;
	struct nfs_addr net = nfs_addr_prefix(&p->src, atomic_load(p->src.family == AF_INET ? &e->set.prefix4
											     : &e->set.prefix6));
	if (src_key->plen <= net.plen)
		return; /* the source covers the prefix: nothing to add up */
	a.who = source_tag(src_key);
	struct trk_report rep;
	int r = tracker_source_touch(e->prefixes, &net, &a, &tp, &rep);
	if (r < 0) {
		counter_inc(&c->tracker_errors);
		return;
	}
	if (r != TRK_CROSSED)
		return;
	enum action act = decide(e, DET_DSCAN, &p->src, &p->dst, p->dport);
	char why[160];
	const char *reason = act == ACTION_BAN ? net_spared(e, &net, why, sizeof(why)) : NULL;
	if (act == ACTION_IGNORE)
		return;
	if (reason)
		act = ACTION_ALERT;
	if (act == ACTION_BAN && !e->replay && !request_ban_key(e, &net, &net, DET_DSCAN, &rep, NULL, m, c))
		tracker_source_ban_lost(e->prefixes, &net);
	if (rep.ban_again)
		return;
	report_distributed_scan(to, &m->when, p, &net, &rep, act, reason);
	counted(e, DET_DSCAN, c);
	if (act == ACTION_BAN && e->replay)
		request_ban_key(e, &net, &net, DET_DSCAN, &rep, NULL, m, c);
}

/* Bejtlich: a SYN flood shows as a rate; its sources are forged, so it is reported, never
 * banned. Counted per second of arrival; reported at most once a minute. */
static void count_syn(struct engine *e, const struct pkt *p, const struct engine_meta *m, struct engine_counters *c)
{
	int64_t sec = m->when.tv_sec;
	int64_t cur = atomic_load(&e->flood_second);
	if (sec != cur && atomic_compare_exchange_strong(&e->flood_second, &cur, sec))
		atomic_store(&e->flood_syns, 0);
	uint64_t n = atomic_fetch_add(&e->flood_syns, 1) + 1;
	if (n != atomic_load(&e->set.flood_syn_rate))
		return; /* report on the packet that reaches the rate, once */
	int64_t last = atomic_load(&e->flood_reported);
	if (sec - last < FLOOD_REPORT_EVERY_S || !atomic_compare_exchange_strong(&e->flood_reported, &last, sec))
		return;
	enum action a = decide(e, DET_FLOOD, NULL, &p->dst, p->dport);
	if (a != ACTION_IGNORE) {
		struct report_dest to = dest(e, NULL);
		report_flood(&to, &m->when, p, n, 1, a);
		counted(e, DET_FLOOD, c);
	}
}

/* The bytes of a queued packet, for the evidence ring. */
struct raw {
	const uint8_t *data;
	size_t len, wire_len;
};

/* A closed-port attempt by @p's source (the scanner) at @p's destination. @raw (NULL: none,
 * an attempt a replay inferred) goes to the source's evidence ring, keyed as the source is
 * tracked. */
static void closed_port(struct engine *e, const struct pkt *p, uint8_t flags, const struct raw *raw,
			const struct engine_meta *m, struct engine_counters *c)
{
	struct trk_params tp = {
		.threshold = atomic_load(&e->set.threshold),
		.window = atomic_load(&e->set.window),
		.hold = atomic_load(&e->set.hold),
	};
	bool syn = p->proto == IPPROTO_TCP && (flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN;
	struct trk_attempt a = {
		.proto = p->proto, .port = p->dport, .tcp_flags = flags, .now = engine_now(e, m),
		.syn_data = syn && p->payload_len > 0,
		/* Linux, BSD and Windows connect() SYNs carry MSS, SACK, timestamps and window
		 * scale (12+ option bytes); raw scanners send MSS alone or nothing. */
		.tcp_opts = syn && p->tcp_optlen >= 12,
		.ttl = p->ttl, .ip_id = p->ip_id, .window = p->tcp_window,
	};
	struct nfs_addr key = ban_key(e, &p->src);
	struct trk_report rep;
	struct pktring_key rk;
	pktring_source_key(&rk, &key);
	struct report_dest to = dest(e, &rk);
	if (raw && e->ring)
		pktring_add(e->ring, &rk, &m->when, raw->data, raw->len, raw->wire_len);

	if (syn)
		count_syn(e, p, m, c);
	int r = tracker_source_touch(e->tracker, &key, &a, &tp, &rep);
	if (r < 0) {
		counter_inc(&c->tracker_errors);
		return;
	}
	if (r != TRK_IGNORED)
		net_closed_port(e, p, a, &key, &to, m, c);
	if (rep.backscatter) {
		enum action act = decide(e, DET_BACKSCATTER, &p->src, &p->dst, p->dport);
		if (act != ACTION_IGNORE) {
			report_backscatter(&to, &m->when, p, &rep, act);
			counted(e, DET_BACKSCATTER, c);
		}
	}
	if (rep.probe) {
		enum action act = decide(e, DET_PROBE, &p->src, &p->dst, p->dport);
		if (act != ACTION_IGNORE) {
			report_probe(&to, &m->when, p, act);
			counted(e, DET_PROBE, c);
		}
	}
	if (r != TRK_CROSSED)
		return;
	enum action act = decide(e, DET_SCAN, &p->src, &p->dst, p->dport);
	if (act == ACTION_IGNORE)
		return;
	/* The ban first: writing the event (JSON, a file, the log) would delay it. A request the
	 * full ban queue refused is made again at the source's next attempt, not after its hold:
	 * a scanner's last probes would fall inside the hold, and it would never be banned. The
	 * scan was reported the first time. A request that went through carries the event to the
	 * writer, which decides (allowlisted, protected, active peer) and writes what it did. */
	bool handed = false;
	if (act == ACTION_BAN && !e->replay) {
		handed = request_ban(e, &p->src, DET_SCAN, &rep, rep.ban_again ? NULL : p, m, c);
		if (!handed)
			tracker_source_ban_lost(e->tracker, &key);
	}
	if (rep.ban_again)
		return;
	if (!handed)
		report_scan(&to, &m->when, p, &key, &rep, act);
	counted(e, DET_SCAN, c);
	if (act == ACTION_BAN && e->replay) /* a replay's ban event follows its scan event */
		request_ban(e, &p->src, DET_SCAN, &rep, NULL, m, c);
}

static enum det det_of(const struct flow_finding *f, bool ssh_len)
{
	if (f->kind == FLOW_FOUND_INTERACTIVE)
		return ssh_len ? DET_SSH_LEN : DET_INTERACTIVE;
	switch (f->sig.detector) {
	case SIG_SSH: return DET_SSH_SIG;
	case SIG_RLOGIN: return DET_RLOGIN_SIG;
	case SIG_TELNET: return DET_TELNET_SIG;
	case SIG_FTP: return DET_FTP_SIG;
	case SIG_ROOT: return f->sig.strength == SIG_WEAK ? DET_ROOT_SIG_WEAK : DET_ROOT_SIG;
	case SIG_NAPSTER: return DET_NAPSTER_SIG;
	case SIG_GNUTELLA: return DET_GNUTELLA_SIG;
	default: return DET_INTERACTIVE;
	}
}

/* Which end of @rep's connection is this host: the hook tells, live (the packet's
 * destination on input, its source on output); not on a gateway or in a replay. */
enum end { END_UNKNOWN, END_CLIENT, END_SERVER };

static enum end local_end(const struct flow_report *rep, const struct engine_meta *m)
{
	if ((m->local == LOCAL_DST && rep->dir == 0) || (m->local == LOCAL_SRC && rep->dir == 1))
		return END_SERVER;
	if ((m->local == LOCAL_DST && rep->dir == 1) || (m->local == LOCAL_SRC && rep->dir == 0))
		return END_CLIENT;
	return END_UNKNOWN;
}

/* Whom a backdoor's "ban" action bans: the remote side. Live, the hook tells which side is
 * this host. Otherwise the side that did not speak the backdoor's bytes (a server's banner
 * or prompt), or, for keystroke timing, the side that typed. */
static const struct nfs_addr *remote_side(const struct flow_report *rep, const struct flow_finding *f,
					  const struct engine_meta *m)
{
	switch (local_end(rep, m)) {
	case END_SERVER: return &rep->tuple.client;
	case END_CLIENT: return &rep->tuple.server;
	case END_UNKNOWN: break;
	}
	int speaker = f->kind == FLOW_FOUND_SIG ? f->sig.dir : f->ia.dir;
	if (f->kind == FLOW_FOUND_INTERACTIVE)
		return speaker == 0 ? &rep->tuple.client : &rep->tuple.server;
	return speaker == 0 ? &rep->tuple.server : &rep->tuple.client;
}

/* A backdoor's record: the connection's packets and, when one end is a socket of this host
 * (a backdoor listening here, a reverse shell connecting out), the processes behind it. */
static struct report_dest flow_dest(struct engine *e, const struct flow_report *rep, const struct engine_meta *m)
{
	const struct flow_tuple *t = &rep->tuple;
	struct pktring_key k;
	pktring_flow_key(&k, &t->client, t->cport, &t->server, t->sport);
	struct report_dest d = dest(e, &k);
	enum end local = local_end(rep, m);
	if (local != END_UNKNOWN) {
		bool srv = local == END_SERVER;
		d.ctx.attribute = true;
		d.ctx.sock = (struct attrib_socket_key){ .local = srv ? t->server : t->client,
							 .remote = srv ? t->client : t->server,
							 .lport = srv ? t->sport : t->cport,
							 .rport = srv ? t->cport : t->sport };
	}
	return d;
}

/* Findings of one connection: standard ports and the allowlist, then the action. Returns
 * true if the connection must now be dropped. */
static bool flow_findings(struct engine *e, const struct flow_report *rep, const struct engine_meta *m,
			  struct engine_counters *c)
{
	bool drop = false;

	if (rep->nfound == 0)
		return false; /* most packets: no record to build */
	struct report_dest dst = flow_dest(e, rep, m);

	for (int i = 0; i < rep->nfound; i++) {
		const struct flow_finding *f = &rep->found[i];
		int passes = f->kind == FLOW_FOUND_INTERACTIVE && f->ia.ssh_len ? 2 : 1;
		for (int k = 0; k < passes; k++) {
			enum det d = det_of(f, k == 1);
			/* Zhang & Paxson sec. 4: a protocol on its own port is normal. Without the
			 * handshake either port may be the server's. */
			bool standard = policy_port_standard(d, rep->tuple.sport) ||
					(!rep->tuple.initiator_known && policy_port_standard(d, rep->tuple.cport));
			if (standard) {
				if (atomic_load(&e->set.report_standard)) {
					report_backdoor(&dst, &m->when, rep, f, d, ACTION_IGNORE, true);
					counted(e, d, c);
				}
				continue;
			}
			enum action a = decide(e, d, &rep->tuple.client, &rep->tuple.server, rep->tuple.sport);
			if (a == ACTION_IGNORE)
				continue;
			report_backdoor(&dst, &m->when, rep, f, d, a, false);
			counted(e, d, c);
			if (a >= ACTION_DROP)
				drop = true;
			if (a == ACTION_BAN)
				request_ban(e, remote_side(rep, f, m), d, NULL, NULL, m, c);
		}
	}
	return drop;
}

/* An ICMP error of this host's that says nothing here takes the packet it quotes: port
 * unreachable for UDP (replays: live, closed UDP ports are queued on input), and the
 * kernel's answer to a protocol without a handler (nmap -sO; nmap -sY when the kernel has no
 * SCTP), which only it knows: IPv4 protocol unreachable (RFC 1122 sec. 3.2.2.1), IPv6
 * parameter problem "unrecognized next header" (RFC 4443 sec. 3.4), queued from the output
 * hook. Counted against the quoted source as (protocol, 0), or (sctp, port). The quote follows
 * 4 bytes of unused/MTU/pointer field and is usually truncated. Live, @data is the ICMP
 * packet, kept as evidence under the quoted source. */
static void closed_by_icmp(struct engine *e, const struct pkt *p, const uint8_t *data, size_t len, size_t wire_len,
			   const struct engine_meta *m, struct engine_counters *c)
{
	bool port4 = p->proto == IPPROTO_ICMP && p->icmp_type == 3 && p->icmp_code == 3;
	bool port6 = p->proto == IPPROTO_ICMPV6 && p->icmp_type == 1 && p->icmp_code == 4;
	bool proto4 = p->proto == IPPROTO_ICMP && p->icmp_type == 3 && p->icmp_code == 2;
	bool proto6 = p->proto == IPPROTO_ICMPV6 && p->icmp_type == 4 && p->icmp_code == 1;
	struct pkt q;

	if (!(port4 || port6 || proto4 || proto6) || !p->payload || p->payload_caplen <= 4)
		return;
	const uint8_t *quote = p->payload + 4;
	size_t qlen = p->payload_caplen - 4;
	int r = pkt_decode(quote, qlen, 65535, &q);
	/* An error answers its packet's source, about a packet to this host. */
	if (r < 0 || !nfs_addr_equal(&q.dst, &p->src) || !nfs_addr_equal(&q.src, &p->dst))
		return;
	if (port4 || port6) {
		if (r == PKT_L4 && q.proto == IPPROTO_UDP)
			closed_port(e, &q, 0, NULL, m, c);
		return;
	}
	if (proto6) {
		/* The pointer is the offset of the next-header byte the kernel did not know: its
		 * own word for the protocol, whatever the decoder made of the chain. */
		uint32_t ptr = (uint32_t)p->payload[0] << 24 | (uint32_t)p->payload[1] << 16 |
			       (uint32_t)p->payload[2] << 8 | p->payload[3];
		if (ptr < qlen && quote[ptr] != q.proto) {
			q.proto = quote[ptr];
			r = PKT_NO_L4;
		}
	}
	/* TCP and UDP always have a handler: such a quote is not this kind of answer. */
	if (q.proto == IPPROTO_TCP || q.proto == IPPROTO_UDP)
		return;
	if (q.proto != IPPROTO_SCTP || r == PKT_NO_L4)
		q.sport = q.dport = 0;
	struct raw raw = { data, len, wire_len };
	closed_port(e, &q, 0, data ? &raw : NULL, m, c);
}

/* Replay: a closed port shows as a reset for a connection never accepted, or as an ICMP
 * port unreachable quoting the probe. A SYN-ACK or reset that opens a flow answered nothing
 * we saw: like such a packet arriving at a closed port live, it is backscatter. */
static void infer_closed_port(struct engine *e, const struct pkt *p, const struct flow_report *rep,
			      const struct engine_meta *m, struct engine_counters *c)
{
	bool synack = (p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK);
	if (p->proto == IPPROTO_TCP && rep && rep->created && (synack || (p->tcp_flags & TCPF_RST))) {
		closed_port(e, p, p->tcp_flags, NULL, m, c);
		return;
	}
	if (p->proto == IPPROTO_TCP && rep && (p->tcp_flags & TCPF_RST) && rep->dir == 1 && !rep->established &&
	    rep->tuple.initiator_known) {
		struct pkt probe = *p;
		probe.src = rep->tuple.client;
		probe.dst = rep->tuple.server;
		probe.sport = rep->tuple.cport;
		probe.dport = rep->tuple.sport;
		probe.ttl = rep->client_ttl;
		probe.ip_id = rep->client_ip_id;
		probe.tcp_window = rep->client_window;
		probe.tcp_optlen = rep->client_optlen;
		probe.payload_len = rep->client_syn_len;
		closed_port(e, &probe, rep->client_flags, NULL, m, c);
		return;
	}
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		closed_by_icmp(e, p, NULL, 0, 0, m, c);
}

/* The evidence ring of a connection: its last packets (a source's are kept by closed_port()). */
static void keep_packet(struct engine *e, const struct pkt *p, const uint8_t *data, size_t len, size_t wire_len,
			const struct engine_meta *m)
{
	struct pktring_key k;
	if (!e->ring)
		return;
	pktring_flow_key(&k, &p->src, p->sport, &p->dst, p->dport);
	pktring_add(e->ring, &k, &m->when, data, len, wire_len);
}

/* An SCTP INIT the input chain queued (nmap -sY): nft cannot tell whether an endpoint takes
 * it, so the endpoint table decides. To a closed port it counts like UDP, with the closed-port
 * verdict @closed; otherwise it goes on (its queue is `bypass` for the same reason). */
static enum engine_verdict sctp_init(struct engine *e, int r, const struct pkt *p, const uint8_t *data, size_t len,
				     size_t wire_len, const struct engine_meta *m, struct engine_counters *c,
				     enum engine_verdict closed)
{
	/* RFC 9260 sec. 3.3.2: INIT is chunk type 1 and travels alone. */
	if (r != PKT_L4 || p->payload_caplen < 1 || p->payload[0] != 1)
		return ENGINE_ACCEPT;
	if (sctpeps_bound(&e->sctp, p->dport, clock_mono_ms()))
		return ENGINE_ACCEPT;
	closed_port(e, p, 0, &(struct raw){ data, len, wire_len }, m, c);
	return closed;
}

enum engine_verdict engine_packet(struct engine *e, const uint8_t *data, size_t len, size_t wire_len,
				  const struct engine_meta *m, struct engine_counters *c)
{
	enum engine_verdict def = m->origin == ORIGIN_CLOSED_PORT && !atomic_load(&e->set.accept) ? ENGINE_DROP
												   : ENGINE_ACCEPT;
	enum engine_verdict v = def;
	struct pkt p;
	int r;

	counter_inc(&c->packets);
	r = pkt_decode(data, len, wire_len, &p);
	if (r < 0) {
		counter_inc(&c->malformed);
		goto out;
	}
	bool l4 = r == PKT_L4;
	if (!l4)
		counter_inc(&c->no_l4);

	if (m->origin == ORIGIN_CLOSED_PORT) {
		struct marktag tag;
		if (l4 && (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP)) {
			closed_port(e, &p, p.tcp_flags, &(struct raw){ data, len, wire_len }, m, c);
		} else if (p.proto == IPPROTO_SCTP && r >= 0 && m->local == LOCAL_DST) {
			v = sctp_init(e, r, &p, data, len, wire_len, m, c, def);
		} else if (l4 && (p.proto == IPPROTO_ICMP || p.proto == IPPROTO_ICMPV6) && m->local == LOCAL_SRC) {
			closed_by_icmp(e, &p, data, len, wire_len, m, c); /* from the output hook */
		} else if (r == PKT_UNCAPTURED && marktag_read(m->mark, &tag)) {
			/* The transport header lies beyond copy_range (a long extension header
			 * chain): the kernel's tag says what it was. Nothing else of it is known. */
			p.proto = tag.proto;
			p.dport = tag.dport;
			p.sport = 0;
			p.tcp_flags = tag.tcp_flags;
			p.payload_len = 0;
			p.tcp_optlen = 0;
			p.tcp_window = 0;
			closed_port(e, &p, p.tcp_flags, &(struct raw){ data, len, wire_len }, m, c);
		}
		goto out;
	}

	struct flow_report rep;
	bool have_rep = false;
	if (l4 && p.proto == IPPROTO_TCP && e->flows) {
		uint64_t t_us = (uint64_t)m->when.tv_sec * 1000000 + (uint64_t)m->when.tv_nsec / 1000;
		/* A flood against an open port shows here, its SYNs taken by a socket. In a replay
		 * every opening SYN counts: a capture is of the host under attack. */
		if ((p.tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN &&
		    ((m->origin == ORIGIN_INSPECT && m->local == LOCAL_DST) || m->origin == ORIGIN_REPLAY))
			count_syn(e, &p, m, c);
		keep_packet(e, &p, data, len, wire_len, m);
		if (flowtab_packet(e->flows, &p, t_us, &rep) == 0) {
			have_rep = true;
			if (flow_findings(e, &rep, m, c)) {
				flowtab_mark_drop(e->flows, &rep.tuple);
				rep.drop = true;
			}
			if (rep.drop)
				v = ENGINE_DROP;
		} else {
			counter_inc(&c->tracker_errors);
		}
	}
	if (m->origin == ORIGIN_REPLAY && l4)
		infer_closed_port(e, &p, have_rep ? &rep : NULL, m, c);
out:
	counter_inc(v == ENGINE_ACCEPT ? &c->accepted : &c->dropped);
	return v;
}

struct finish_ctx {
	struct engine *e;
	struct engine_counters *c;
};

static void finish_cb(const struct flow_report *rep, void *data)
{
	struct finish_ctx *f = data;
	struct engine_meta m = { .origin = ORIGIN_REPLAY, .local = LOCAL_UNKNOWN };
	m.when.tv_sec = (time_t)(rep->last_us / 1000000);
	m.when.tv_nsec = (long)(rep->last_us % 1000000) * 1000;
	flow_findings(f->e, rep, &m, f->c);
}

uint32_t engine_clock(struct engine *e)
{
	struct engine_meta m;
	clock_gettime(CLOCK_REALTIME, &m.when);
	return engine_now(e, &m);
}

void engine_finish(struct engine *e, struct engine_counters *c)
{
	struct finish_ctx f = { e, c };
	if (e->flows)
		flowtab_finish_all(e->flows, finish_cb, &f);
}
