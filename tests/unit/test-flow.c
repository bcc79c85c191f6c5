/* test-flow.c - the connection table: who initiated, ordering, findings, bounds. */
#include <errno.h>
#include <netinet/in.h>

#include "detect/flow.h"
#include "tap.h"

static const uint8_t key[16] = "flowflowflowflow";

static struct pkt tcp(int from_client, uint8_t flags, uint32_t seq, const char *payload)
{
	struct pkt p = { .proto = IPPROTO_TCP, .tcp_flags = flags, .tcp_seq = seq, .ttl = 64 };
	struct nfs_addr c = { .family = AF_INET, .plen = 32, .a = { 198, 51, 100, 2 } };
	struct nfs_addr s = { .family = AF_INET, .plen = 32, .a = { 198, 51, 100, 1 } };
	p.src = from_client ? c : s;
	p.dst = from_client ? s : c;
	p.sport = from_client ? 40000 : 2222;
	p.dport = from_client ? 2222 : 40000;
	if (payload) {
		p.payload = (const uint8_t *)payload;
		p.payload_len = p.payload_caplen = (uint32_t)strlen(payload);
	}
	return p;
}

static void count_reports(const struct flow_report *rep, void *data)
{
	(void)rep;
	(*(int *)data)++;
}

/* A typed session through the table: @opener's first data is @opening, then the client types
 * a key every 120-500 ms for a minute and the server echoes it. With @handshake the SYN and
 * SYN-ACK are seen first; without, the connection is picked up mid-way (partial) and @opener
 * is the first side seen. Returns whether `interactive` reported the session. */
static int ia_found_reports;
static void count_ia(const struct flow_report *rep, void *data)
{
	(void)data;
	for (int i = 0; i < rep->nfound; i++)
		ia_found_reports += rep->found[i].kind == FLOW_FOUND_INTERACTIVE;
}

static bool typed_session(bool handshake, int opener, const char *opening)
{
	static const uint64_t gap_ms[] = { 200, 350, 120, 500, 260, 180, 420 };
	struct flowtab *t = NULL;
	struct flow_report rep;
	uint64_t us = 5000000;
	uint32_t seq[2] = { 1001, 5001 }; /* [0] the client's, [1] the server's */

	ia_found_reports = 0;
	if (flowtab_new(&t, 64, key) < 0)
		return false;
	if (handshake) {
		struct pkt syn = tcp(1, TCPF_SYN, seq[0] - 1, NULL), sa = tcp(0, TCPF_SYN | TCPF_ACK, seq[1] - 1, NULL);
		flowtab_packet(t, &syn, us, &rep);
		flowtab_packet(t, &sa, us += 1000, &rep);
	}
	struct pkt o = tcp(opener, TCPF_ACK | TCPF_PSH, seq[!opener], opening);
	seq[!opener] += (uint32_t)strlen(opening);
	flowtab_packet(t, &o, us += 1000, &rep);
	count_ia(&rep, NULL);
	for (int i = 0; i < 200; i++) {
		struct pkt key_pkt = tcp(1, TCPF_ACK | TCPF_PSH, seq[0]++, "k");
		struct pkt echo = tcp(0, TCPF_ACK | TCPF_PSH, seq[1]++, "k");
		flowtab_packet(t, &key_pkt, us += gap_ms[i % 7] * 1000, &rep);
		count_ia(&rep, NULL);
		flowtab_packet(t, &echo, us + 2000, &rep);
		count_ia(&rep, NULL);
	}
	flowtab_finish_all(t, count_ia, NULL);
	flowtab_free(t);
	return ia_found_reports > 0;
}

int main(void)
{
	struct flowtab *t = NULL;
	flowtab_new(&t, 1024, key);
	struct flow_report rep;
	uint64_t us = 1000000;

	CHECK(t != NULL, "flowtab_new");
	struct pkt syn = tcp(1, TCPF_SYN, 1000, NULL);
	CHECK(flowtab_packet(t, &syn, us, &rep) == 0 && rep.dir == 0 && rep.tuple.initiator_known &&
	      rep.tuple.cport == 40000 && rep.tuple.sport == 2222 && !rep.established, "SYN: client known");
	struct pkt synack = tcp(0, TCPF_SYN | TCPF_ACK, 5000, NULL);
	CHECK(flowtab_packet(t, &synack, us + 1000, &rep) == 0 && rep.dir == 1 && rep.established, "SYN-ACK: established");
	struct pkt banner = tcp(0, TCPF_ACK | TCPF_PSH, 5001, "SSH-2.0-OpenSSH_9.2p1\r\n");
	CHECK(flowtab_packet(t, &banner, us + 2000, &rep) == 0 && rep.nfound == 1 &&
	      rep.found[0].kind == FLOW_FOUND_SIG && rep.found[0].sig.detector == SIG_SSH && rep.found[0].sig.dir == 1,
	      "server banner: ssh-sig from the server (%d)", rep.nfound);
	CHECK(flowtab_packet(t, &banner, us + 3000, &rep) == 0 && rep.nfound == 0, "retransmitted banner: nothing new");

	/* A connection seen from its SYN-ACK: the sender of the SYN-ACK is the server. */
	struct pkt sa2 = tcp(0, TCPF_SYN | TCPF_ACK, 7000, NULL);
	sa2.sport = 2323;
	sa2.dport = 41000;
	CHECK(flowtab_packet(t, &sa2, us, &rep) == 0 && rep.tuple.sport == 2323 && rep.tuple.cport == 41000 &&
	      rep.dir == 1 && rep.tuple.initiator_known, "from a SYN-ACK: roles known");
	/* Picked up mid-way: partial. */
	struct pkt mid = tcp(1, TCPF_ACK, 1, "x");
	mid.sport = 42000;
	CHECK(flowtab_packet(t, &mid, us, &rep) == 0 && !rep.tuple.initiator_known && rep.dir == 0, "mid-stream: partial");

	/* The tuple is made from the canonical key: a client on the key's lower side too. */
	struct pkt lo = tcp(0, TCPF_SYN, 1, NULL);
	lo.sport = 43000;
	lo.dport = 80;
	CHECK(flowtab_packet(t, &lo, us, &rep) == 0 && rep.dir == 0 && rep.tuple.initiator_known &&
		      nfs_addr_equal(&rep.tuple.client, &lo.src) && nfs_addr_equal(&rep.tuple.server, &lo.dst) &&
		      rep.tuple.cport == 43000 && rep.tuple.sport == 80,
	      "client on the lower side: tuple from the key");
	struct pkt lo_back = tcp(1, TCPF_SYN | TCPF_ACK, 9, NULL);
	lo_back.sport = 80;
	lo_back.dport = 43000;
	CHECK(flowtab_packet(t, &lo_back, us, &rep) == 0 && rep.dir == 1 && rep.established &&
		      nfs_addr_equal(&rep.tuple.client, &lo.src) && rep.tuple.cport == 43000,
	      "its answer: same flow, direction 1");
	struct flow_summary top[4];
	size_t ntop = flowtab_top(t, top, 4);
	CHECK(ntop >= 1 && top[0].packets >= 2 && top[0].tuple.initiator_known, "top: tuples made from keys (%zu)", ntop);

	flowtab_mark_drop(t, &(struct flow_tuple){ .client = syn.src, .server = syn.dst, .cport = 40000, .sport = 2222 });
	struct pkt ack = tcp(1, TCPF_ACK, 1001, NULL);
	CHECK(flowtab_packet(t, &ack, us + 4000, &rep) == 0 && rep.drop, "marked drop sticks");

	struct pkt udp = syn;
	udp.proto = IPPROTO_UDP;
	CHECK(flowtab_packet(t, &udp, us, &rep) == -EINVAL, "TCP only");

	/* Bounded: 64 shards x 16 = 1024 flows. */
	for (int i = 0; i < 5000; i++) {
		struct pkt p = tcp(1, TCPF_SYN, 1, NULL);
		p.sport = (uint16_t)(1024 + i);
		flowtab_packet(t, &p, us, &rep);
		/* an rlogin-like first byte: the prolog's evidence buffer lives until the
		 * flow is evicted or finished (the sanitizer runs see a leak if not freed) */
		struct pkt nul = tcp(1, TCPF_ACK, 2, NULL);
		nul.sport = p.sport;
		nul.payload = (const uint8_t *)"\0a\0";
		nul.payload_len = nul.payload_caplen = 3;
		flowtab_packet(t, &nul, us, &rep);
	}
	struct flow_stats st;
	flowtab_get_stats(t, &st);
	CHECK(st.flows <= 1024 && st.evicted >= 5000 - 1024, "bounded: %llu flows, %llu evicted",
	      (unsigned long long)st.flows, (unsigned long long)st.evicted);
	/* Evicted flows are reused (flow.c's slabs): each one left now is a new connection's
	 * own, nothing kept of the one before it in the same memory (the first, marked drop,
	 * with more packets, was evicted long ago). */
	static struct flow_summary all[1024];
	size_t n = flowtab_top(t, all, 1024), clean = 0;
	for (size_t i = 0; i < n; i++)
		clean += !all[i].drop && all[i].packets == 2 && all[i].tuple.cport >= 1024 && all[i].tuple.sport == 2222;
	CHECK(n == st.flows && clean == n, "recycled flows start clean: %zu of %zu", clean, n);
	int finished = 0;
	flowtab_finish_all(t, count_reports, &finished);
	flowtab_get_stats(t, &st);
	CHECK(st.flows == 0, "finish_all forgets every flow");
	flowtab_free(t);
	flowtab_free(NULL);

	/* Lookups reuse a thread's recent hashes (flow.c, struct hash_memo): two tables with
	 * other secrets, taken in turns with one connection, and a table made after another
	 * was freed, must each find their own flows, in IPv4 and IPv6. */
	static const uint8_t key2[16] = "wolfwolfwolfwolf";
	for (int v6 = 0; v6 < 2; v6++) {
		struct flowtab *a = NULL, *b = NULL;
		CHECK(flowtab_new(&a, 1024, key) == 0 && flowtab_new(&b, 1024, key2) == 0, "two tables");
		struct pkt c2s = tcp(1, TCPF_ACK, 1, NULL), s2c = tcp(0, TCPF_ACK, 1, NULL);
		if (v6) {
			struct nfs_addr c6 = { .family = AF_INET6, .plen = 128, .a = { 0x20, 0x01, 0x0d, 0xb8 } };
			struct nfs_addr s6 = c6;
			c6.a[15] = 2;
			s6.a[15] = 1;
			c2s.src = s2c.dst = c6;
			c2s.dst = s2c.src = s6;
		}
		bool ok = true; /* each table's packets of the one connection, in turns */
		for (uint32_t i = 1; i <= 40; i++) {
			struct flowtab *x = i % 2 ? a : b;
			CHECK(flowtab_packet(x, i % 4 < 2 ? &c2s : &s2c, us, &rep) == 0, "packet %u", i);
			ok &= rep.packets == (i + 1) / 2 && rep.created == (i <= 2);
			/* other connections of either table, over every memo slot */
			for (uint16_t j = 0; i % 5 == 0 && j < 64; j++) {
				struct flow_report other;
				struct pkt o = c2s;
				o.sport = (uint16_t)(50000 + j);
				o.dport = 60000;
				flowtab_packet(i % 10 ? a : b, &o, us, &other);
			}
		}
		CHECK(ok, "tables in turns: each counts its own packets (v6 %d)", v6);
		flowtab_free(a);
		CHECK(flowtab_new(&a, 1024, key2) == 0 && flowtab_packet(a, &c2s, us, &rep) == 0 && rep.created &&
			      rep.packets == 1 && flowtab_packet(a, &s2c, us, &rep) == 0 && !rep.created &&
			      rep.packets == 2,
		      "a new table starts empty and finds its flow both ways (v6 %d)", v6);
		flowtab_free(a);
		flowtab_free(b);
	}

	/* The memo also keeps where a key's flow was (flow.c, flow_hint()): a hint to a flow since
	 * evicted, its memory taken by another connection, or given back by finish_all, must not
	 * be followed. One flow a shard; the other connections keep off the connection's slot. */
	{
		struct flowtab *h = NULL;
		struct pkt a = tcp(1, TCPF_SYN, 1, NULL);
		unsigned slot = (40000u ^ 2222u) % 64, made = 0;
		CHECK(flowtab_new(&h, 64, key) == 0 && flowtab_packet(h, &a, us, &rep) == 0 && rep.created,
		      "a connection in a table of one flow a shard");
		for (uint16_t port = 1024; made < 2000; port++) {
			struct pkt o = tcp(1, TCPF_SYN, 1, NULL);
			o.sport = port;
			if (((unsigned)port ^ 2222u) % 64 == slot)
				continue;
			flowtab_packet(h, &o, us, &rep);
			made++;
		}
		CHECK(flowtab_packet(h, &a, us, &rep) == 0 && rep.created && rep.packets == 1 && rep.tuple.cport == 40000,
		      "evicted, its memory reused: the connection starts again, not in another's flow");
		flowtab_finish_all(h, count_reports, &finished);
		CHECK(flowtab_packet(h, &a, us, &rep) == 0 && rep.created && rep.packets == 1, "given back: starts again");
		struct flow_stats hs;
		flowtab_get_stats(h, &hs);
		CHECK(hs.flows == 1, "and is in the table (%llu)", (unsigned long long)hs.flows);
		flowtab_free(h);
	}

	/* `interactive`'s opening test through the table (interactive.c, opening_is_machine):
	 * a client that opens with HTTP/2's preface is a machine, but in a partial connection
	 * the first side seen may be the backdoor's own server, and its fake opening must not
	 * take the client's keystrokes out of the timing test. */
	static const char h2[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	CHECK(typed_session(true, 1, "ls\n"), "handshake, the client types: interactive");
	CHECK(!typed_session(true, 1, h2), "handshake, the client opens with HTTP/2's preface: a machine, silent");
	CHECK(typed_session(false, 0, h2), "partial, the server's fake HTTP/2 opening seen first: still interactive");
	CHECK(typed_session(false, 1, "ls\n"), "partial, the client seen first: interactive");
	return tap_done();
}
