/* nfqmsg.h - nfnetlink_queue packet messages as the kernel sends them, for the tests that feed
 * a queue worker (test-worker, test-metrics). */
#pragma once

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stddef.h>
#include <stdint.h>

#define NFQ_TYPE(t) ((NFNL_SUBSYS_QUEUE << 8) | (t))

/* Puts one NFQNL_MSG_PACKET of queue @queue at @buf: packet @id, hook @hook, @payload of @len
 * bytes (NULL: none), mark @mark (0: none). @hdr_len: bytes of NFQA_PACKET_HDR (its size;
 * less makes it malformed; 0 leaves it out). Returns its length, aligned. */
static inline size_t nfqmsg_packet(char *buf, uint16_t queue, uint32_t id, uint8_t hook, const uint8_t *payload,
				   size_t len, uint32_t mark, size_t hdr_len)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	struct nfqnl_msg_packet_hdr ph = { .packet_id = htonl(id), .hw_protocol = htons(0x0800), .hook = hook };

	h->nlmsg_type = NFQ_TYPE(NFQNL_MSG_PACKET);
	g->nfgen_family = AF_INET;
	g->version = NFNETLINK_V0;
	g->res_id = htons(queue);
	if (hdr_len)
		mnl_attr_put(h, NFQA_PACKET_HDR, hdr_len, &ph);
	if (mark)
		mnl_attr_put_u32(h, NFQA_MARK, htonl(mark));
	if (payload)
		mnl_attr_put(h, NFQA_PAYLOAD, len, payload);
	return MNL_ALIGN(h->nlmsg_len);
}
