/* packet.h - decode an IPv4/IPv6 packet as handed over by nfnetlink_queue (no L2 header). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

/* TCP flag bits as on the wire (byte 13). */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10
#define TCPF_URG 0x20

struct pkt {
	struct nfs_addr src, dst;
	uint8_t proto;          /* IPPROTO_* of the transport header that was reached (PKT_UNCAPTURED:
				   the next header the capture ended in) */
	uint8_t ttl;            /* TTL / hop limit */
	uint16_t ip_id;         /* IPv4 identification (0 for IPv6) */
	uint16_t sport, dport;  /* TCP, UDP and SCTP only */
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint16_t tcp_window;
	uint8_t tcp_optlen;     /* bytes of TCP options (data offset beyond 20) */
	uint32_t tcp_seq, tcp_ack;
	uint32_t payload_len;   /* transport payload length according to the headers */
	const uint8_t *payload; /* captured transport payload (may be shorter than payload_len) */
	uint32_t payload_caplen;
};

enum pkt_outcome {
	PKT_L4 = 0,      /* TCP/UDP/ICMP/ICMPv6 header decoded */
	PKT_NO_L4 = 1,   /* valid IP, but no transport header to read: a non-first fragment, ESP,
			    "no next header", or another protocol */
	PKT_UNCAPTURED = 2, /* valid as far as captured, but the capture ends before the end of the
			       transport header (a long extension header chain, copy_range): the
			       kernel saw a transport header that we cannot read (SCTP: the
			       ports are filled when their 4 bytes were captured) */
};

/* Decodes @len captured bytes of a packet whose length on the wire was @wire_len (>= @len).
 * Returns PKT_L4, PKT_NO_L4 or PKT_UNCAPTURED and fills @out, or -EBADMSG for a malformed
 * packet (bad version, header lengths that contradict each other or the wire length) and
 * leaves @out zeroed. IPv6 extension headers are walked however many there are, as the
 * kernel does (each is at least 8 bytes, so the walk is bounded by @len). Reads nothing past
 * @len. */
int pkt_decode(const uint8_t *data, size_t len, size_t wire_len, struct pkt *out);
