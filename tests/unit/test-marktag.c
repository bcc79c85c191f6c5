/* test-marktag.c - the ruleset's (protocol, port) tag in the packet mark (decode/marktag.h). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "decode/marktag.h"
#include "decode/packet.h"
#include "tap.h"

/* The mark as the kernel holds it after `@th,0,32 & 0xffff | 0x4eKK0000`: those four bytes in
 * network order, whatever the host's. */
static uint32_t mark_of(uint8_t kind, uint16_t port)
{
	return ntohl((uint32_t)MARKTAG_MAGIC << 24 | (uint32_t)kind << 16 | port);
}

int main(void)
{
	struct marktag t;

	CHECK(marktag_read(mark_of(MARKTAG_TCP_SYN, 22), &t) && t.proto == IPPROTO_TCP && t.dport == 22 &&
	      t.tcp_flags == TCPF_SYN, "TCP SYN tag");
	CHECK(marktag_read(mark_of(MARKTAG_TCP_SYNACK, 443), &t) && t.tcp_flags == (TCPF_SYN | TCPF_ACK),
	      "SYN-ACK tag keeps backscatter apart");
	CHECK(marktag_read(mark_of(MARKTAG_TCP_RST, 1), &t) && t.tcp_flags == TCPF_RST, "RST tag");
	CHECK(marktag_read(mark_of(MARKTAG_TCP_OTHER, 65535), &t) && t.dport == 65535 &&
	      (t.tcp_flags & (TCPF_SYN | TCPF_ACK)) != TCPF_SYN && !(t.tcp_flags & TCPF_RST), "other TCP flags: neither SYN nor RST");
	CHECK(marktag_read(mark_of(MARKTAG_UDP, 161), &t) && t.proto == IPPROTO_UDP && t.dport == 161, "UDP tag");
	t.dport = 7;
	CHECK(!marktag_read(0, &t) && t.dport == 7, "mark 0 is no tag");
	CHECK(!marktag_read(0x1, &t) && !marktag_read(0xff00, &t), "an administrator's marks are no tag");
	CHECK(!marktag_read(mark_of(0, 22), &t) && !marktag_read(mark_of(6, 22), &t) && !marktag_read(mark_of(0xff, 22), &t),
	      "unknown kinds refused");
	CHECK(!marktag_read(ntohl(0x4f010016), &t), "another magic refused");
	return tap_done();
}
