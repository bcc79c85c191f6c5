/* marktag.c - see marktag.h. */
#include "decode/marktag.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "decode/packet.h"

bool marktag_read(uint32_t mark, struct marktag *out)
{
	/* htonl: the bytes in the order the kernel holds them, which is the order nft wrote. */
	uint32_t v = htonl(mark);
	struct marktag t = { .proto = IPPROTO_TCP, .dport = (uint16_t)v };

	if (v >> 24 != MARKTAG_MAGIC)
		return false;
	switch ((v >> 16) & 0xff) {
	case MARKTAG_TCP_SYN: t.tcp_flags = TCPF_SYN; break;
	case MARKTAG_TCP_SYNACK: t.tcp_flags = TCPF_SYN | TCPF_ACK; break;
	case MARKTAG_TCP_RST: t.tcp_flags = TCPF_RST; break;
	/* PSH alone: neither a SYN nor backscatter, so the tracker's tcp-other. */
	case MARKTAG_TCP_OTHER: t.tcp_flags = TCPF_PSH; break;
	case MARKTAG_UDP: t.proto = IPPROTO_UDP; break;
	default: return false;
	}
	*out = t;
	return true;
}
