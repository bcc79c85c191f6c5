/* packet.c - bounds-checked header walk. Every length field is checked against what the
 * capture holds and against the outer header before it is used. */
#include "decode/packet.h"

#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <string.h>

#include "core/bytes.h"

/* Transport header at @l4 with @caplen captured bytes and @l4len bytes according to IP.
 * Inlined in both IP decoders: the call and its argument shuffling were 11 of a replayed
 * packet's instructions. */
static inline __attribute__((always_inline)) int decode_l4(const uint8_t *l4, size_t caplen, size_t l4len,
							     struct pkt *p)
{
	switch (p->proto) {
	case IPPROTO_TCP: {
		if (l4len < 20)
			return -EBADMSG;
		if (caplen < 20)
			return PKT_UNCAPTURED;
		size_t doff = (size_t)(l4[12] >> 4) * 4;
		if (doff < 20 || doff > l4len)
			return -EBADMSG;
		p->sport = rd16be(l4);
		p->dport = rd16be(l4 + 2);
		p->tcp_seq = rd32be(l4 + 4);
		p->tcp_ack = rd32be(l4 + 8);
		p->tcp_flags = l4[13];
		p->tcp_window = rd16be(l4 + 14);
		p->tcp_optlen = (uint8_t)(doff - 20);
		p->payload_len = (uint32_t)(l4len - doff);
		p->payload = caplen > doff ? l4 + doff : NULL;
		p->payload_caplen = caplen > doff ? (uint32_t)(caplen - doff) : 0;
		return PKT_L4;
	}
	case IPPROTO_UDP: {
		if (l4len < 8)
			return -EBADMSG;
		if (caplen < 8)
			return PKT_UNCAPTURED;
		size_t ulen = rd16be(l4 + 4);
		/* 0 is legal for IPv6 jumbograms only; otherwise the UDP length must fit IP's. */
		if (ulen < 8 || ulen > l4len)
			return -EBADMSG;
		p->sport = rd16be(l4);
		p->dport = rd16be(l4 + 2);
		p->payload_len = (uint32_t)(ulen - 8);
		p->payload = caplen > 8 ? l4 + 8 : NULL;
		p->payload_caplen = caplen > 8 ? (uint32_t)(caplen - 8 < ulen - 8 ? caplen - 8 : ulen - 8) : 0;
		return PKT_L4;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (l4len < 4)
			return -EBADMSG;
		if (caplen < 4)
			return PKT_UNCAPTURED;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		p->payload_len = (uint32_t)(l4len - 4);
		/* After type, code and checksum: an error's 4 unused (or MTU) bytes, then the
		 * packet it answers, which a replay reads for closed UDP ports. */
		p->payload = caplen > 4 ? l4 + 4 : NULL;
		p->payload_caplen = caplen > 4 ? (uint32_t)(caplen - 4) : 0;
		return PKT_L4;
	case IPPROTO_SCTP:
		/* RFC 9260 sec. 3.1: the common header, ports first (nmap -sY, the kernel's
		 * protocol unreachable quoting an INIT). */
		if (l4len < 12)
			return -EBADMSG;
		if (caplen < 4)
			return PKT_UNCAPTURED;
		p->sport = rd16be(l4);
		p->dport = rd16be(l4 + 2);
		if (caplen < 12) /* the ports only: an ICMP error may quote just 8 bytes (RFC 792) */
			return PKT_UNCAPTURED;
		p->payload_len = (uint32_t)(l4len - 12);
		p->payload = caplen > 12 ? l4 + 12 : NULL;
		p->payload_caplen = caplen > 12 ? (uint32_t)(caplen - 12) : 0;
		return PKT_L4;
	default:
		return PKT_NO_L4;
	}
}

static int decode_ipv4(const uint8_t *d, size_t len, size_t wire_len, struct pkt *p)
{
	size_t ihl, tot;
	uint16_t frag;

	if (len < 20)
		return -EBADMSG;
	ihl = (size_t)(d[0] & 0x0f) * 4;
	tot = rd16be(d + 2);
	if (tot == 0 && wire_len > 65535) /* BIG TCP GSO packet: see decode_ipv6() */
		tot = wire_len;
	if (ihl < 20 || ihl > len || tot < ihl || tot > wire_len)
		return -EBADMSG;
	p->src.family = p->dst.family = AF_INET;
	p->src.plen = p->dst.plen = 32;
	memcpy(p->src.a, d + 12, 4);
	memcpy(p->dst.a, d + 16, 4);
	p->ttl = d[8];
	p->ip_id = rd16be(d + 4);
	p->proto = d[9];
	frag = rd16be(d + 6);
	if (frag & 0x1fff) /* non-first fragment: its bytes are not a transport header */
		return PKT_NO_L4;
	size_t cap = (len < tot ? len : tot) - ihl;
	int r = decode_l4(d + ihl, cap, tot - ihl, p);
	/* A first fragment may end inside the transport header (fragmented SYNs, an evasion):
	 * valid IP, nothing to read yet. Replays see these; live, the kernel reassembles first. */
	if (r < 0 && (frag & 0x2000))
		return PKT_NO_L4;
	return r;
}

static int decode_ipv6(const uint8_t *d, size_t len, size_t wire_len, struct pkt *p)
{
	size_t off = 40, end;
	bool more_frags = false;
	uint8_t nh;

	if (len < 40)
		return -EBADMSG;
	end = 40 + (size_t)rd16be(d + 4);
	/* BIG TCP (GSO over 64 KiB) leaves payload length 0; the kernel's own length is then
	 * the truth. A zero anywhere else is a lie. */
	if (end == 40 && wire_len > 65535 + 40)
		end = wire_len;
	if (end > wire_len)
		return -EBADMSG;
	p->src.family = p->dst.family = AF_INET6;
	p->src.plen = p->dst.plen = 128;
	memcpy(p->src.a, d + 8, 16);
	memcpy(p->dst.a, d + 24, 16);
	p->ttl = d[7];
	nh = d[6];

	/* No limit on the number of headers: the kernel walks them all (ipv6_find_hdr, the
	 * input path), so a limit here would only hide packets it delivers (nine destination
	 * options before a SYN, an evasion). Each header is at least 8 bytes and @off only grows,
	 * so the walk ends within @len / 8 steps. */
	for (;;) {
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_FRAGMENT:
		case IPPROTO_AH: {
			size_t hlen;
			p->proto = nh;
			if (off + 8 > end)
				return -EBADMSG;
			if (off + 8 > len)
				return PKT_UNCAPTURED;
			if (nh == IPPROTO_FRAGMENT) {
				hlen = 8;
				if (rd16be(d + off + 2) & 0xfff8) { /* offset != 0 */
					p->proto = d[off];
					return PKT_NO_L4;
				}
				more_frags = rd16be(d + off + 2) & 1;
			} else if (nh == IPPROTO_AH) {
				hlen = ((size_t)d[off + 1] + 2) * 4;
			} else {
				hlen = ((size_t)d[off + 1] + 1) * 8;
			}
			if (off + hlen > end)
				return -EBADMSG;
			nh = d[off];
			off += hlen;
			if (off > len) { /* the chain runs past the capture: the packet does not */
				p->proto = nh;
				return PKT_UNCAPTURED;
			}
			continue;
		}
		case IPPROTO_NONE:
		case IPPROTO_ESP:
			p->proto = nh;
			return PKT_NO_L4;
		default: {
			p->proto = nh;
			int r = decode_l4(d + off, (len < end ? len : end) - off, end - off, p);
			return r < 0 && more_frags ? PKT_NO_L4 : r; /* see decode_ipv4() */
		}
		}
	}
}

int pkt_decode(const uint8_t *data, size_t len, size_t wire_len, struct pkt *out)
{
	int r;

	/* Straight into @out, zeroed once: every packet of a replay comes through here, and a
	 * local copy cost a second pass over the struct. Copied from a zero struct, not memset:
	 * gcc's -O2 (generic tuning) clears the 88 bytes with `rep stos`, slow to start (and 16
	 * more instructions a packet under callgrind), where a copy is five 16-byte stores. */
	static const struct pkt zero;
	memcpy(out, &zero, sizeof(*out));
	if (!data || len == 0 || wire_len < len)
		return -EBADMSG;
	switch (data[0] >> 4) {
	case 4: r = decode_ipv4(data, len, wire_len, out); break;
	case 6: r = decode_ipv6(data, len, wire_len, out); break;
	default: return -EBADMSG;
	}
	if (r < 0)
		memset(out, 0, sizeof(*out)); /* nothing half-decoded leaks out */
	return r;
}
