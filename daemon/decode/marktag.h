/* marktag.h - the kernel's own (protocol, port) of a closed-port attempt, which the ruleset
 * writes into the packet mark before queueing it (nft/nfsentry.nft, chain closed_tag).
 *
 * The kernel finds the transport header by walking every IPv6 extension header, whatever
 * their number and length; the daemon sees only [queue] copy_range bytes. When the transport
 * header lies beyond them, the tag still says what the attempt was, so a scan hidden behind a
 * long header chain counts like any other (issue 10, item 1).
 *
 * The ruleset builds the tag with one raw 32-bit load of the transport header's ports,
 * `@th,0,32 & 0xffff | 0x4eKK0000`: nft keeps raw payload in network byte order, so the
 * mark's four bytes, as the kernel stores them, are 0x4e ('N'), a kind, and the destination
 * port (big-endian). Only a mark that was 0 is tagged: an administrator's marks are never
 * overwritten. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define MARKTAG_MAGIC 0x4e

/* The kind byte; the ruleset's constants 0x4eKK0000 must agree. */
enum marktag_kind {
	MARKTAG_TCP_SYN = 1,    /* SYN without ACK or RST */
	MARKTAG_TCP_SYNACK = 2, /* SYN-ACK without RST: backscatter */
	MARKTAG_TCP_RST = 3,    /* RST: backscatter or a late reset */
	MARKTAG_TCP_OTHER = 4,  /* any other flags (FIN, NULL, XMAS, ACK scans) */
	MARKTAG_UDP = 5,
};

struct marktag {
	uint8_t proto;     /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t tcp_flags; /* flags that the tracker classes as the kind says (TCP only) */
	uint16_t dport;
};

/* Reads the tag in @mark (the packet mark as NFQA_MARK gives it, in host order). Returns true
 * and fills @out when @mark is a tag, false (and leaves @out alone) otherwise. */
bool marktag_read(uint32_t mark, struct marktag *out);
