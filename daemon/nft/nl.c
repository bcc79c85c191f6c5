/* nl.c - netlink plumbing over libmnl. */
#include "nft/nl.h"

#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define NL_RCVBUF (8 << 20)
#define NL_TIMEOUT_S 5

int nl_open(struct nl *nl)
{
	int one = 1, rcv = NL_RCVBUF, fd;
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };

	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;
		nl_close(nl);
		return r;
	}
	fd = mnl_socket_get_fd(nl->sock);
	/* Best effort: without them we still work, with bigger acks or a smaller buffer. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* The sequence numbers of the messages that frame the batch in @buf: its first
 * (NFNL_MSG_BATCH_BEGIN) and its last (NFNL_MSG_BATCH_END). */
static void frame_seqs(const void *buf, size_t len, uint32_t *begin, uint32_t *end)
{
	const struct nlmsghdr *h = buf, *tail = h;
	int left = (int)len;

	*begin = h->nlmsg_seq;
	for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
		tail = h;
	*end = tail->nlmsg_seq;
}

/* What the replies to one batch have said so far. */
struct batch_replies {
	uint32_t first, last;  /* the acked messages */
	uint32_t begin, end;   /* the frame (BATCH_BEGIN, BATCH_END) */
	bool *seen;            /* [seq - first]: answered */
	size_t got;
	int *errs;
	int refused;           /* the kernel's -errno for the batch as a whole, or 0 */
};

/* NLMSG_ERROR: an ack (error 0) or an error for one message of the batch, or for its frame. */
static int batch_error_cb(const struct nlmsghdr *h, void *data)
{
	struct batch_replies *b = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

	if (h->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
		return MNL_CB_OK;
	if (h->nlmsg_seq < b->first || h->nlmsg_seq > b->last) {
		/* An error for the batch's frame: the kernel refused the batch as a whole (EPERM
		 * without CAP_NET_ADMIN, a malformed header) and applied none of it. No message in
		 * it gets an answer: waiting for theirs would end in a timeout that hides the error. */
		if (e->error < 0 && (h->nlmsg_seq == b->begin || h->nlmsg_seq == b->end)) {
			b->refused = e->error;
			return MNL_CB_STOP;
		}
		return MNL_CB_OK; /* not a reply to this batch */
	}
	size_t i = h->nlmsg_seq - b->first;
	if (!b->seen[i]) {
		b->seen[i] = true;
		b->got++;
	}
	b->errs[i] = e->error; /* 0 for an ack, -errno otherwise */
	return MNL_CB_OK;
}

int nl_batch_talk(struct nl *nl, const void *buf, size_t len, uint32_t first, uint32_t last, int *errs)
{
	/* Only errors and acks matter: data messages and the other control messages (NOOP,
	 * DONE, OVERRUN) have no entry here and are skipped, not taken as the end. */
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = batch_error_cb };
	static _Thread_local char rbuf[NL_RECV_BUF];
	size_t want = (size_t)(last - first) + 1;
	struct batch_replies b = { .first = first, .last = last, .seen = calloc(want, sizeof(bool)), .errs = errs };
	int r = 0;

	if (!b.seen)
		return -ENOMEM;
	frame_seqs(buf, len, &b.begin, &b.end);
	for (size_t i = 0; i < want; i++)
		errs[i] = 0;
	if (mnl_socket_sendto(nl->sock, buf, len) < 0)
		r = -errno;
	while (r == 0 && b.got < want && !b.refused) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, rbuf, sizeof(rbuf));
		if (n < 0) {
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		/* seq 0: the replies carry one sequence number per message of the batch, checked
		 * by the callback; portid 0: the socket only receives what is addressed to it. */
		if (mnl_cb_run2(rbuf, (size_t)n, 0, 0, NULL, &b, ctl, NLMSG_MIN_TYPE) < 0)
			r = -errno; /* only NLM_F_DUMP_INTR, which acks never carry */
	}
	free(b.seen);
	return r ? r : b.refused;
}

int nl_dump(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	static _Thread_local char rbuf[NL_RECV_BUF];
	uint32_t seq = req->nlmsg_seq;
	int r;

	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, rbuf, sizeof(rbuf));
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		r = mnl_cb_run(rbuf, (size_t)n, seq, nl->portid, cb, data);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}
