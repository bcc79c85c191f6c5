/* nl.h - one NETLINK_NETFILTER socket and the request/acknowledge loop that every nftables
 * conversation here goes through. */
#pragma once

#include <libmnl/libmnl.h>
#include <stddef.h>
#include <stdint.h>

/* Receive buffers: large enough for any reply the kernel sends us (it caps datagrams at 32 KiB
 * for dumps, one message for acks). */
#define NL_RECV_BUF 65536
#define NL_MSG_BUF 8192

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

/* Opens and binds the socket (ext-acks on, capped acks, a large receive buffer).
 * Returns 0 or -errno. */
int nl_open(struct nl *nl);
/* Accepts an unopened (zeroed) struct. */
void nl_close(struct nl *nl);
static inline uint32_t nl_next_seq(struct nl *nl) { return ++nl->seq; }

/* Sends a batch (@buf: NFNL_MSG_BATCH_BEGIN, the messages, NFNL_MSG_BATCH_END) whose acked
 * messages carry sequence numbers @first..@last (each with NLM_F_ACK) and reads every reply.
 * @errs[i] receives the result of message @first+i (0 or -errno). Returns 0 when all replies
 * arrived; the kernel's -errno when it refused the batch as a whole (an error for BATCH_BEGIN
 * or BATCH_END, e.g. -EPERM without CAP_NET_ADMIN: nothing applied); or -errno when the
 * conversation itself failed (send error, ENOBUFS, timeout) and the outcome is unknown. */
int nl_batch_talk(struct nl *nl, const void *buf, size_t len, uint32_t first, uint32_t last, int *errs);

/* Sends dump request @req and calls @cb on each reply until NLMSG_DONE.
 * Returns 0 or -errno (e.g. -ENOENT for a missing table or set). */
int nl_dump(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data);
