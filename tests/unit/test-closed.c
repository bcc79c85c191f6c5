/* test-closed.c - closed-port attempts the decoder cannot read by itself (issue 10, items 1
 * and 5): a transport header past copy_range counts by the kernel's tag in the mark; a
 * protocol nothing handles counts by the kernel's ICMP answer, queued from the output hook. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "ban/banq.h"
#include "core/log.h"
#include "engine/engine.h"
#include "decode/marktag.h"
#include "tap.h"

static const uint8_t key[16] = "closedclosedclos";

struct lab {
	struct tracker *t;
	struct nfs_config *cfg;
	struct banq *q;
	struct engine e;
	struct engine_counters c;
};

static int lab_open(struct lab *l)
{
	memset(l, 0, sizeof(*l));
	tracker_new(&l->t, 1024, key);
	config_new_default(&l->cfg);
	banq_new(&l->q, 64);
	return l->t && l->cfg && l->q && engine_init(&l->e, l->t, NULL, l->q, NULL, l->cfg) == 0 ? 0 : -1;
}

static void lab_close(struct lab *l)
{
	engine_deinit(&l->e);
	banq_free(l->q);
	tracker_free(l->t);
	config_free(l->cfg);
}

static void feed(struct lab *l, const uint8_t *pkt, size_t len, size_t wire, enum engine_local local, uint32_t mark)
{
	struct engine_meta m = { .origin = ORIGIN_CLOSED_PORT, .local = local, .mark = mark };
	clock_gettime(CLOCK_REALTIME, &m.when);
	engine_packet(&l->e, pkt, len, wire, &m, &l->c);
}

/* IPv6 from 2001:db8:5::2 to 2001:db8:1::1: a TCP SYN to @dport behind 2 KB of destination
 * options. Returns its length; @b holds 2200 bytes. */
static size_t deep_syn(uint8_t *b, uint16_t dport)
{
	size_t plen = 2048 + 20;
	memset(b, 0, 40 + plen);
	b[0] = 0x60, b[4] = (uint8_t)(plen >> 8), b[5] = (uint8_t)plen, b[6] = IPPROTO_DSTOPTS, b[7] = 64;
	inet_pton(AF_INET6, "2001:db8:5::2", b + 8);
	inet_pton(AF_INET6, "2001:db8:1::1", b + 24);
	b[40] = IPPROTO_TCP, b[41] = 255; /* (255 + 1) * 8 bytes */
	uint8_t *tcp = b + 40 + 2048;
	tcp[0] = 0x9c, tcp[1] = 0x40, tcp[2] = (uint8_t)(dport >> 8), tcp[3] = (uint8_t)dport;
	tcp[12] = 5 << 4, tcp[13] = 0x02;
	return 40 + plen;
}

/* IPv4 ICMP 192.0.2.1 -> 10.0.0.7, type 3 code @code, quoting a packet of protocol @proto
 * from 10.0.0.7 to 192.0.2.1 with @l4 (8 bytes) after its header. Returns the length. */
static size_t unreach4(uint8_t *b, uint8_t code, uint8_t proto, const uint8_t l4[8])
{
	memset(b, 0, 56);
	b[0] = 0x45, b[3] = 56, b[8] = 64, b[9] = IPPROTO_ICMP;
	b[12] = 192, b[14] = 2, b[15] = 1;
	b[16] = 10, b[19] = 7;
	b[20] = 3, b[21] = code;
	uint8_t *q = b + 28;
	q[0] = 0x45, q[3] = 48, q[8] = 50, q[9] = proto;
	q[12] = 10, q[15] = 7;
	q[16] = 192, q[18] = 2, q[19] = 1;
	memcpy(q + 20, l4, 8);
	return 56;
}

/* IPv4 SCTP 10.0.0.7 -> 192.0.2.1 with @l4 (the common header and chunks). */
static size_t ipv4_sctp(uint8_t *b, const uint8_t *l4, size_t l4len)
{
	memset(b, 0, 20);
	b[0] = 0x45, b[2] = (uint8_t)((20 + l4len) >> 8), b[3] = (uint8_t)(20 + l4len), b[8] = 64, b[9] = IPPROTO_SCTP;
	b[12] = 10, b[15] = 7;
	b[16] = 192, b[18] = 2, b[19] = 1;
	memcpy(b + 20, l4, l4len);
	return 20 + l4len;
}

static uint32_t tag(uint8_t kind, uint16_t port)
{
	return ntohl((uint32_t)MARKTAG_MAGIC << 24 | (uint32_t)kind << 16 | port);
}

int main(void)
{
	static uint8_t pkt[2200];
	struct lab l;
	uint8_t none[8] = { 0 };

	log_set_level(LOG_LVL_ERR);
	CHECK(lab_open(&l) == 0, "engine");
	if (tap_failed)
		return tap_done();
	unsigned threshold = (unsigned)l.cfg->threshold;

	/* Item 1: the TCP header lies past the 256 captured bytes. */
	for (unsigned p = 1; p <= threshold; p++) {
		size_t n = deep_syn(pkt, (uint16_t)p);
		feed(&l, pkt, 256, n, LOCAL_DST, 0);
	}
	CHECK(l.c.malformed == 0 && l.c.ban_requests == 0, "without the tag: not malformed, and not counted");
	for (unsigned p = 1; p <= threshold; p++) {
		size_t n = deep_syn(pkt, (uint16_t)p);
		feed(&l, pkt, 256, n, LOCAL_DST, tag(MARKTAG_TCP_SYN, (uint16_t)p));
	}
	CHECK(l.c.ban_requests == 1 && l.e.detections[DET_SCAN] == 1, "with the kernel's tag: a scan, a ban request");
	lab_close(&l);

	CHECK(lab_open(&l) == 0, "engine");
	for (unsigned p = 1; p <= threshold; p++) {
		size_t n = deep_syn(pkt, (uint16_t)p);
		feed(&l, pkt, 256, n, LOCAL_DST, tag(MARKTAG_TCP_SYNACK, (uint16_t)p));
	}
	CHECK(l.c.ban_requests == 0, "tagged SYN-ACKs are backscatter, never a scan");
	lab_close(&l);

	/* Item 5: protocol unreachable, as the output hook queues it. */
	CHECK(lab_open(&l) == 0, "engine");
	for (unsigned p = 0; p < threshold - 1; p++) {
		size_t n = unreach4(pkt, 2, (uint8_t)(200 + p), none);
		feed(&l, pkt, n, n, LOCAL_SRC, 0);
	}
	size_t n = unreach4(pkt, 2, 200, none);
	feed(&l, pkt, n, n, LOCAL_SRC, 0);
	CHECK(l.c.ban_requests == 0, "the same protocol twice is one attempt");
	n = unreach4(pkt, 3, 201, none);
	feed(&l, pkt, n, n, LOCAL_SRC, 0);
	n = unreach4(pkt, 2, IPPROTO_TCP, none);
	feed(&l, pkt, n, n, LOCAL_SRC, 0);
	n = unreach4(pkt, 2, 240, none);
	feed(&l, pkt, n, n, LOCAL_DST, 0);
	CHECK(l.c.ban_requests == 0, "not counted: port unreachable for a bare protocol, TCP, an error not of this host's");
	n = unreach4(pkt, 2, 250, none);
	feed(&l, pkt, n, n, LOCAL_SRC, 0);
	CHECK(l.c.ban_requests == 1, "%u protocols: a scan by the quoted source", threshold);
	struct ban_request req;
	CHECK(banq_pop(l.q, &req, 1, 0) == 1 && req.addr.family == AF_INET && req.addr.a[0] == 10 && req.addr.a[3] == 7,
	      "the ban is for the prober, not this host");
	lab_close(&l);

	CHECK(lab_open(&l) == 0, "engine");
	for (unsigned p = 1; p <= threshold; p++) {
		uint8_t init[8] = { 0x9c, 0x40, (uint8_t)(p >> 8), (uint8_t)p };
		n = unreach4(pkt, 2, IPPROTO_SCTP, init);
		feed(&l, pkt, n, n, LOCAL_SRC, 0);
		feed(&l, pkt, n, n, LOCAL_SRC, 0); /* a retry is not another port */
	}
	CHECK(l.c.ban_requests == 1, "SCTP INITs to %u ports (nmap -sY): a scan", threshold);
	lab_close(&l);

	/* SCTP INITs queued on input: the endpoint table says which ports are open. */
	CHECK(lab_open(&l) == 0, "engine");
	char eps[] = "/tmp/test-closed-eps.XXXXXX";
	int fd = mkstemp(eps);
	const char table[] = " ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS\n"
			     "0000000000000000 0000000000000000 2   10  29   80      0 1 192.0.2.1 \n";
	CHECK(fd >= 0 && write(fd, table, sizeof(table) - 1) == (ssize_t)(sizeof(table) - 1), "an endpoint on port 80");
	close(fd);
	sctpeps_deinit(&l.e.sctp);
	sctpeps_init(&l.e.sctp, eps);
	uint8_t init[8 + 4 + 20] = { 0x9c, 0x40, 0, 80 };
	init[12] = 1; /* chunk type INIT */
	struct engine_meta m = { .origin = ORIGIN_CLOSED_PORT, .local = LOCAL_DST };
	clock_gettime(CLOCK_REALTIME, &m.when);
	n = ipv4_sctp(pkt, init, sizeof(init));
	CHECK(engine_packet(&l.e, pkt, n, n, &m, &l.c) == ENGINE_ACCEPT, "an INIT to the open port goes on");
	enum engine_verdict v = ENGINE_ACCEPT;
	for (unsigned p = 1; p <= threshold; p++) {
		init[2] = 1, init[3] = (uint8_t)p; /* ports 257.. : closed */
		n = ipv4_sctp(pkt, init, sizeof(init));
		v = engine_packet(&l.e, pkt, n, n, &m, &l.c);
	}
	CHECK(v == ENGINE_DROP && l.c.ban_requests == 1, "INITs to %u closed ports: dropped, and a scan", threshold);
	init[12] = 0; /* DATA: not an INIT, not ours to judge */
	n = ipv4_sctp(pkt, init, sizeof(init));
	CHECK(engine_packet(&l.e, pkt, n, n, &m, &l.c) == ENGINE_ACCEPT, "other SCTP chunks go on");
	unlink(eps);
	lab_close(&l);
	return tap_done();
}
