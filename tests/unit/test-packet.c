/* test-packet.c - the decoder on good, truncated and malformed packets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "decode/packet.h"
#include "tap.h"

static size_t ipv4(uint8_t *b, uint8_t proto, const uint8_t *l4, size_t l4len)
{
	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = (uint8_t)((20 + l4len) >> 8);
	b[3] = (uint8_t)(20 + l4len);
	b[4] = 0x12, b[5] = 0x34; /* id */
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, (uint8_t[]){ 198, 51, 100, 2 }, 4);
	memcpy(b + 16, (uint8_t[]){ 198, 51, 100, 1 }, 4);
	memcpy(b + 20, l4, l4len);
	return 20 + l4len;
}

static size_t tcp(uint8_t *b, uint16_t sport, uint16_t dport, uint8_t flags, size_t payload)
{
	memset(b, 0, 20 + payload);
	b[0] = (uint8_t)(sport >> 8), b[1] = (uint8_t)sport;
	b[2] = (uint8_t)(dport >> 8), b[3] = (uint8_t)dport;
	b[12] = 5 << 4;
	b[13] = flags;
	b[14] = 0x04, b[15] = 0x00;
	return 20 + payload;
}

static size_t udp(uint8_t *b, uint16_t sport, uint16_t dport, size_t payload)
{
	memset(b, 0, 8 + payload);
	b[0] = (uint8_t)(sport >> 8), b[1] = (uint8_t)sport;
	b[2] = (uint8_t)(dport >> 8), b[3] = (uint8_t)dport;
	b[4] = (uint8_t)((8 + payload) >> 8), b[5] = (uint8_t)(8 + payload);
	return 8 + payload;
}

/* IPv6 with @next and @ext (already chained) before the transport header. */
static size_t ipv6(uint8_t *b, uint8_t next, const uint8_t *rest, size_t restlen)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	b[4] = (uint8_t)(restlen >> 8), b[5] = (uint8_t)restlen;
	b[6] = next;
	b[7] = 64;
	inet_pton(AF_INET6, "2001:db8:1::2", b + 8);
	inet_pton(AF_INET6, "2001:db8:1::1", b + 24);
	memcpy(b + 40, rest, restlen);
	return 40 + restlen;
}

/* Every captured prefix of a packet must decode or be refused, never read past its end (the
 * ASan build checks that), and a prefix presented as the whole packet must not pass for it. */
static void truncations(const char *name, const uint8_t *pkt, size_t len)
{
	int crashes = 0, lies = 0;
	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size so ASan sees any overread */
		struct pkt p;
		memcpy(copy, pkt, n);
		int r1 = pkt_decode(copy, n, len, &p); /* short capture of a longer packet */
		int r2 = pkt_decode(copy, n, n, &p);   /* headers claim more than exists */
		crashes += !(r1 == PKT_L4 || r1 == PKT_NO_L4 || r1 == PKT_UNCAPTURED || r1 == -EBADMSG);
		lies += (r2 == PKT_L4 && n < 20) || r2 == PKT_UNCAPTURED; /* a short wire is no capture limit */
		free(copy);
	}
	CHECK(crashes == 0 && lies == 0, "%s: every truncation handled", name);
}

int main(void)
{
	uint8_t l4[256], pkt[512];
	struct pkt p;
	size_t n;

	n = ipv4(pkt, IPPROTO_TCP, l4, tcp(l4, 40000, 22, 0x02, 0));
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_L4 && p.proto == IPPROTO_TCP && p.sport == 40000 && p.dport == 22 &&
	      p.tcp_flags == 0x02 && p.ttl == 64 && p.ip_id == 0x1234 && p.tcp_window == 1024 && p.payload_len == 0,
	      "IPv4 TCP SYN");
	CHECK(p.src.family == AF_INET && p.src.a[3] == 2 && p.dst.a[3] == 1 && p.src.plen == 32, "IPv4 addresses");
	truncations("IPv4 TCP", pkt, n);

	n = ipv4(pkt, IPPROTO_TCP, l4, tcp(l4, 1, 80, 0x18, 12));
	CHECK(pkt_decode(pkt, 44, n, &p) == PKT_L4 && p.payload_len == 12 && p.payload_caplen == 4, "short capture keeps lengths");

	n = ipv4(pkt, IPPROTO_UDP, l4, udp(l4, 5353, 161, 10));
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_L4 && p.proto == IPPROTO_UDP && p.dport == 161 && p.payload_len == 10,
	      "IPv4 UDP");
	truncations("IPv4 UDP", pkt, n);
	pkt[20 + 5] = 200; /* UDP length past the IP payload */
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "UDP length longer than IP payload");
	pkt[20 + 5] = 4;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "UDP length under 8");

	n = ipv4(pkt, IPPROTO_ICMP, (uint8_t[]){ 8, 0, 0, 0, 0, 1, 0, 1 }, 8);
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_L4 && p.icmp_type == 8, "ICMP echo");
	/* A port unreachable quoting a UDP probe: the replay reads the quote (engine.c). */
	uint8_t quote[8 + 28];
	memcpy(quote, (uint8_t[]){ 3, 3, 0, 0, 0, 0, 0, 0 }, 8);
	ipv4(quote + 8, IPPROTO_UDP, l4, udp(l4, 40000, 161, 0));
	n = ipv4(pkt, IPPROTO_ICMP, quote, sizeof(quote));
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_L4 && p.icmp_code == 3 && p.payload == pkt + 24 &&
	      p.payload_caplen == sizeof(quote) - 4, "ICMP error: the quote follows type, code, checksum");

	n = ipv4(pkt, IPPROTO_TCP, l4, tcp(l4, 1, 2, 0, 0));
	pkt[0] = 0x44;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "IHL 4 refused");
	pkt[0] = 0x4f;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "IHL past the capture refused");
	pkt[0] = 0x45;
	pkt[2] = 0, pkt[3] = 10;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "total length under IHL refused");
	pkt[2] = 0x10, pkt[3] = 0;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "total length past the wire length refused");
	n = ipv4(pkt, IPPROTO_TCP, l4, tcp(l4, 1, 2, 0, 0));
	pkt[32] = 4 << 4;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "TCP data offset 4 refused");
	pkt[32] = 15 << 4;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "TCP data offset past the segment refused");
	n = ipv4(pkt, IPPROTO_TCP, l4, tcp(l4, 1, 2, 0, 0));
	pkt[6] = 0x00, pkt[7] = 0x10; /* fragment offset 16 */
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_NO_L4, "IPv4 non-first fragment has no transport header");
	/* A first fragment (MF set) that ends inside the TCP header: not malformed, just no
	 * transport header yet. Without MF the same bytes are malformed. */
	n = ipv4(pkt, IPPROTO_TCP, l4, 8);
	pkt[6] = 0x20, pkt[7] = 0x00;
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_NO_L4, "first fragment ending inside the TCP header");
	pkt[6] = 0x00;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "the same without more-fragments is malformed");
	pkt[0] = 0x55;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "version 5 refused");
	CHECK(pkt_decode(NULL, 0, 0, &p) == -EBADMSG, "empty refused");

	/* IPv6: hop-by-hop, destination options, then TCP. */
	uint8_t chain[128];
	size_t c = 0;
	chain[c++] = IPPROTO_DSTOPTS, chain[c++] = 0, memset(chain + c, 0, 6), c += 6; /* HBH, 8 bytes */
	chain[c++] = IPPROTO_TCP, chain[c++] = 1, memset(chain + c, 0, 14), c += 14;   /* DST, 16 bytes */
	c += tcp(chain + c, 5555, 443, 0x29, 0);                                        /* FIN PSH URG */
	n = ipv6(pkt, IPPROTO_HOPOPTS, chain, c);
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_L4 && p.proto == IPPROTO_TCP && p.dport == 443 && p.tcp_flags == 0x29 &&
	      p.src.family == AF_INET6 && p.src.plen == 128 && p.src.a[15] == 2, "IPv6 through two extension headers");
	truncations("IPv6 ext TCP", pkt, n);

	/* Fragment header with offset 0 (first fragment) then UDP; then offset != 0. */
	c = 0;
	chain[c++] = IPPROTO_UDP, chain[c++] = 0, chain[c++] = 0, chain[c++] = 1, memset(chain + c, 0, 4), c += 4;
	c += udp(chain + c, 1, 53, 0);
	n = ipv6(pkt, IPPROTO_FRAGMENT, chain, c);
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_L4 && p.dport == 53, "IPv6 first fragment decodes");
	pkt[40 + 2] = 0x01; /* offset 32 */
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_NO_L4, "IPv6 later fragment has no transport header");

	/* Issue 10, item 1: the kernel delivers SYNs behind any number of extension headers, so
	 * the decoder walks them all: 9, 12 and 40 destination options headers. */
	uint8_t big[4096];
	const int depths[] = { 9, 12, 40 };
	for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
		c = 0;
		for (int i = 0; i < depths[d]; i++)
			big[c++] = i < depths[d] - 1 ? IPPROTO_DSTOPTS : IPPROTO_TCP, big[c++] = 0, memset(big + c, 0, 6),
			c += 6;
		c += tcp(big + c, 1, 2, 2, 0);
		uint8_t *deep = malloc(40 + c);
		n = ipv6(deep, IPPROTO_DSTOPTS, big, c);
		CHECK(pkt_decode(deep, n, n, &p) == PKT_L4 && p.proto == IPPROTO_TCP && p.dport == 2 && p.tcp_flags == 2,
		      "a SYN behind %d extension headers decodes", depths[d]);
		truncations("IPv6 deep chain", deep, n);
		free(deep);
	}

	/* Captured short of the transport header (copy_range): not malformed, just unread. */
	c = 0;
	big[c++] = IPPROTO_TCP, big[c++] = 255, memset(big + c, 0, 2046), c += 2046; /* 2 KB of options */
	c += tcp(big + c, 1, 2, 2, 0);
	uint8_t *wide = malloc(40 + c);
	n = ipv6(wide, IPPROTO_DSTOPTS, big, c);
	CHECK(pkt_decode(wide, 256, n, &p) == PKT_UNCAPTURED && p.src.a[15] == 2, "TCP past copy_range: unread");
	CHECK(pkt_decode(wide, n, n, &p) == PKT_L4 && p.dport == 2, "the same packet captured whole decodes");
	CHECK(pkt_decode(wide, 256, 256, &p) == -EBADMSG, "a header longer than the wire is malformed");
	n = ipv6(wide, IPPROTO_TCP, l4, tcp(l4, 1, 2, 2, 0));
	CHECK(pkt_decode(wide, 50, n, &p) == PKT_UNCAPTURED && p.proto == IPPROTO_TCP, "capture ends inside TCP");
	c = 0;
	for (int i = 0; i < 40; i++)
		big[c++] = i < 39 ? IPPROTO_DSTOPTS : IPPROTO_UDP, big[c++] = 0, memset(big + c, 0, 6), c += 6;
	c += udp(big + c, 1, 53, 0);
	n = ipv6(wide, IPPROTO_DSTOPTS, big, c);
	CHECK(pkt_decode(wide, 256, n, &p) == PKT_UNCAPTURED && p.proto == IPPROTO_DSTOPTS,
	      "capture ends inside the chain: unread, the header it ended in");
	free(wide);

	/* SCTP (nmap -sY): the common header's ports. */
	uint8_t sctp[28] = { 0x9c, 0x40, 0x00, 0x50 }; /* 40000 -> 80, then vtag, checksum, INIT */
	n = ipv4(pkt, IPPROTO_SCTP, sctp, sizeof(sctp));
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_L4 && p.proto == IPPROTO_SCTP && p.sport == 40000 && p.dport == 80,
	      "SCTP ports");
	truncations("IPv4 SCTP", pkt, n);
	n = ipv4(pkt, IPPROTO_SCTP, sctp, 8);
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "SCTP shorter than its common header");
	n = ipv4(pkt, 253, sctp, 8);
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_NO_L4 && p.proto == 253, "another protocol: no transport header");

	/* Extension header length running past the payload. */
	c = 0;
	chain[c++] = IPPROTO_TCP, chain[c++] = 200, memset(chain + c, 0, 6), c += 6;
	n = ipv6(pkt, IPPROTO_HOPOPTS, chain, c);
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "extension header longer than the packet");
	n = ipv6(pkt, IPPROTO_NONE, chain, 0);
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_NO_L4, "no next header");
	n = ipv6(pkt, IPPROTO_TCP, chain, 0);
	pkt[4] = 0x10;
	CHECK(pkt_decode(pkt, n, n, &p) == -EBADMSG, "IPv6 payload length past the wire");
	n = ipv6(pkt, IPPROTO_ICMPV6, (uint8_t[]){ 128, 0, 0, 0 }, 4);
	CHECK(pkt_decode(pkt, n, n, &p) == PKT_L4 && p.icmp_type == 128, "ICMPv6 echo");

	/* Random bytes: no crash, and nothing claims a transport header it does not have. */
	uint32_t seed = 12345;
	int odd = 0;
	for (int i = 0; i < 200000; i++) {
		size_t len = (seed = seed * 1103515245 + 12345) % 120;
		uint8_t *buf = malloc(len ? len : 1);
		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
		if (len && i % 2)
			buf[0] = (uint8_t)((buf[0] & 0x0f) | (i % 4 == 1 ? 0x40 : 0x60));
		int r = pkt_decode(buf, len, len, &p);
		odd += !(r == PKT_L4 || r == PKT_NO_L4 || r == -EBADMSG); /* wire == capture: never unread */
		free(buf);
	}
	CHECK(odd == 0, "200000 random packets decoded or refused");
	return tap_done();
}
