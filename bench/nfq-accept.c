/* nfq-accept - the least a queue reader can do: accept every packet. Written like
 * libnetfilter_queue's examples/nf-queue.c (libmnl plus the nfq_nlmsg_* helpers, one queue,
 * a blocking receive loop, mnl_cb_run over each datagram, one verdict message per packet),
 * with the queue settings nfsentry's workers use, so that bench/live-path.sh compares the
 * same kernel path served by this and by nfsentry: copy mode and range, queue length, a
 * receive buffer for a full queue, F_GSO, and F_FAIL_OPEN when asked.
 *
 * Build: cc -O2 -o nfq-accept nfq-accept.c -lmnl -lnetfilter_queue
 * Usage: nfq-accept [-r COPY_RANGE=256] [-l QUEUE_LEN=4096] [-f] QUEUE   (-f: fail-open)
 * Runs until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct mnl_socket *nl;

static void send_verdict(uint16_t queue, uint32_t id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue);

	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("mnl_socket_sendto");
		exit(EXIT_FAILURE);
	}
}

static int queue_cb(const struct nlmsghdr *nlh, void *data __attribute__((unused)))
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	const struct nfqnl_msg_packet_hdr *ph;
	const struct nfgenmsg *nfg;

	if (nfq_nlmsg_parse(nlh, attr) < 0) {
		perror("nfq_nlmsg_parse");
		return MNL_CB_ERROR;
	}
	nfg = mnl_nlmsg_get_payload(nlh);
	if (!attr[NFQA_PACKET_HDR] || mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		fputs("metaheader not set\n", stderr);
		return MNL_CB_ERROR;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	send_verdict(ntohs(nfg->res_id), ntohl(ph->packet_id));
	return MNL_CB_OK;
}

int main(int argc, char **argv)
{
	unsigned copy_range = 256, qlen = 4096;
	uint32_t flags = NFQA_CFG_F_GSO;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	size_t buflen = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
	char *rbuf;
	struct nlmsghdr *nlh;
	unsigned portid;
	uint16_t queue;
	int opt, one = 1;

	while ((opt = getopt(argc, argv, "r:l:f")) != -1) {
		switch (opt) {
		case 'r': copy_range = (unsigned)atoi(optarg); break;
		case 'l': qlen = (unsigned)atoi(optarg); break;
		case 'f': flags |= NFQA_CFG_F_FAIL_OPEN; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	queue = (uint16_t)atoi(argv[optind]);
	rbuf = malloc(buflen);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!rbuf || !nl) {
		perror("mnl_socket_open");
		exit(EXIT_FAILURE);
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("mnl_socket_bind");
		exit(EXIT_FAILURE);
	}
	portid = mnl_socket_get_portid(nl);
	/* Like nfsentry: room for a full queue of copied packets (768: per-packet overhead). */
	int rcv = (int)(qlen * (copy_range + 768));
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		perror("SO_RCVBUFFORCE");

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("mnl_socket_sendto");
		exit(EXIT_FAILURE);
	}
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, qlen);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("mnl_socket_sendto");
		exit(EXIT_FAILURE);
	}
	/* As in nf-queue.c: packets lost in the kernel are not this reader's business. */
	mnl_socket_setsockopt(nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, rbuf, buflen);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			perror("mnl_socket_recvfrom");
			exit(EXIT_FAILURE);
		}
		if (mnl_cb_run(rbuf, (size_t)n, 0, portid, queue_cb, NULL) < 0) {
			perror("mnl_cb_run");
			exit(EXIT_FAILURE);
		}
	}
usage:
	fprintf(stderr, "usage: nfq-accept [-r COPY_RANGE] [-l QUEUE_LEN] [-f] QUEUE\n");
	return 2;
}
