/* worker.c - nfnetlink_queue over libmnl and libnetfilter_queue's nfq_nlmsg_* helpers, after
 * libnetfilter_queue's examples/nf-queue.c. */
#include "queue/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/histogram.h"
#include "core/log.h"
#include "core/thread.h"
#include "decode/marktag.h"

/* What one queued packet costs in the socket buffer beyond its copied bytes: netlink and
 * nfqueue headers, attributes, skb overhead. */
#define PER_PACKET_OVERHEAD 768
#define RCVBUF_MAX (256 << 20)
/* Receive buffer beyond copy_range: room for a datagram of small messages. */
#define RECV_SLACK 65536
#define CONFIG_MSG_BUF 1024

struct worker {
	struct engine *engine;
	uint16_t queue;
	enum engine_origin origin;
	struct mnl_socket *nl;
	uint32_t portid;
	struct nfs_thread thread;
	uint32_t last_id;
	bool have_id;
	size_t buflen;
	char *buf;
	struct engine_counters c;
	_Atomic uint64_t enobufs, id_gaps, verdict_errors;
	_Atomic uint64_t verdict_bucket[WORKER_LATENCY_BUCKETS], verdict_sum_us, verdict_count;
	_Atomic int64_t heartbeat;
};

const uint64_t worker_latency_le_us[WORKER_LATENCY_BUCKETS - 1] = { 5, 10, 25, 50, 100, 250, 1000, 10000, 100000 };

/* Verdict latency: what the packet path costs a queued packet, in userspace. */
static void count_latency(struct worker *w, const struct timespec *rx)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t us = ((int64_t)now.tv_sec - rx->tv_sec) * 1000000 + (now.tv_nsec - rx->tv_nsec) / 1000;
	uint64_t u = us > 0 ? (uint64_t)us : 0;
	size_t b = histogram_bucket(worker_latency_le_us, WORKER_LATENCY_BUCKETS - 1, u);
	atomic_fetch_add_explicit(&w->verdict_bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->verdict_sum_us, u, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->verdict_count, 1, memory_order_relaxed);
}

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* @clear_mark: also set the packet's mark back to 0 (it carries the ruleset's tag, which
 * must not outlive the queue: decode/marktag.h). */
static void send_verdict(struct worker *w, uint32_t id, int verdict, bool clear_mark)
{
	char buf[256];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, w->queue);

	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	if (clear_mark)
		nfq_nlmsg_verdict_put_mark(nlh, 0);
	if (mnl_socket_sendto(w->nl, nlh, nlh->nlmsg_len) < 0)
		atomic_fetch_add_explicit(&w->verdict_errors, 1, memory_order_relaxed);
}

static void handle_packet(struct worker *w, const struct nlmsghdr *nlh, const struct timespec *rx)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	const struct nfqnl_msg_packet_hdr *ph;
	uint32_t id, len = 0, wire;
	const uint8_t *data = NULL;

	/* nfq_nlmsg_parse validates each attribute's type and length (mnl_attr_validate). */
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		/* Without the header there is no id to verdict; the kernel keeps the packet until
		 * the queue is unbound. This is a kernel bug if it happens; count it. */
		atomic_fetch_add_explicit(&w->c.malformed, 1, memory_order_relaxed);
		return;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	/* Ids are per queue and consecutive; a gap is packets the kernel dropped for us (queue
	 * full, or ENOBUFS on our socket). */
	if (w->have_id && id != w->last_id + 1 && id > w->last_id)
		atomic_fetch_add_explicit(&w->id_gaps, id - w->last_id - 1, memory_order_relaxed);
	w->last_id = id;
	w->have_id = true;
	if (attr[NFQA_PAYLOAD]) {
		data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	wire = attr[NFQA_CAP_LEN] ? ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) : len;
	if (wire < len)
		wire = len;

	struct timespec when = *rx;
	bool kernel_time = false;
	/* Present when the kernel timestamps received packets (e.g. while a packet socket asks
	 * for timestamps); then latency figures start at the packet's arrival. */
	if (attr[NFQA_TIMESTAMP] && mnl_attr_get_payload_len(attr[NFQA_TIMESTAMP]) >= sizeof(struct nfqnl_msg_packet_timestamp)) {
		const struct nfqnl_msg_packet_timestamp *ts = mnl_attr_get_payload(attr[NFQA_TIMESTAMP]);
		when.tv_sec = (time_t)be64toh(ts->sec);
		when.tv_nsec = (long)be64toh(ts->usec) * 1000;
		kernel_time = true;
	}
	/* The hook says which side is this host: input, the destination; output, the source. */
	struct engine_meta m = {
		.when = when, .when_kernel = kernel_time, .queue = w->queue, .origin = w->origin,
		.local = ph->hook == NF_INET_LOCAL_IN ? LOCAL_DST : ph->hook == NF_INET_LOCAL_OUT ? LOCAL_SRC : LOCAL_UNKNOWN,
		/* Sent only when not 0; nfq_nlmsg_parse checked it is a u32. */
		.mark = attr[NFQA_MARK] ? ntohl(mnl_attr_get_u32(attr[NFQA_MARK])) : 0,
	};
	enum engine_verdict v = engine_packet(w->engine, data, len, wire, &m, &w->c);
	struct marktag tag;
	/* An accepted closed-port attempt goes on with the mark it came with: 0, as the ruleset
	 * tags only unmarked packets. */
	bool clear = v == ENGINE_ACCEPT && w->origin == ORIGIN_CLOSED_PORT && marktag_read(m.mark, &tag);
	send_verdict(w, id, v == ENGINE_ACCEPT ? NF_ACCEPT : NF_DROP, clear);
	count_latency(w, rx);
}

struct datagram {
	struct worker *w;
	struct timespec rx;
	uint32_t want_seq; /* 0: no ack awaited */
	int *ack;
};

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct datagram *d = data;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_QUEUE && NFNL_MSG_TYPE(nlh->nlmsg_type) == NFQNL_MSG_PACKET)
		handle_packet(d->w, nlh, &d->rx);
	return MNL_CB_OK; /* a bad packet message must not cost the packets after it their verdicts */
}

static int ack_cb(const struct nlmsghdr *nlh, void *data)
{
	struct datagram *d = data;

	if (d->want_seq && nlh->nlmsg_seq == d->want_seq && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(struct nlmsgerr)))
		*d->ack = ((const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error;
	return MNL_CB_OK; /* errors for other requests do not stop the packets that follow */
}

/* Walks one datagram of messages. Packets are handled; an error or ack for @want_seq is
 * returned through @ack (untouched otherwise). Every message is walked: libmnl's default
 * control callbacks would stop at the first error, and NLMSG_DONE, which nfqueue does not
 * send, has no entry. seq and portid 0: packets carry neither (the kernel sends them with
 * seq 0, portid 0); only NLM_F_DUMP_INTR would end the walk early, and only dumps carry it. */
static void handle_datagram(struct worker *w, const char *buf, size_t n, uint32_t want_seq, int *ack)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = ack_cb };
	struct datagram d = { .w = w, .want_seq = want_seq, .ack = ack };

	clock_gettime(CLOCK_REALTIME, &d.rx);
	(void)mnl_cb_run2(buf, n, 0, 0, packet_cb, &d, ctl, NLMSG_MIN_TYPE);
}

/* Sends @nlh with an ack request and waits for the ack, handling packets that arrive first. */
static int config_talk(struct worker *w, struct nlmsghdr *nlh)
{
	static const uint32_t seq0 = 1;
	int ack = 1;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq0 + w->queue;
	if (mnl_socket_sendto(w->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (int tries = 0; ack == 1 && tries < 1000; tries++) {
		ssize_t n = mnl_socket_recvfrom(w->nl, w->buf, w->buflen);
		if (n < 0)
			return -errno;
		handle_datagram(w, w->buf, (size_t)n, nlh->nlmsg_seq, &ack);
	}
	return ack == 1 ? -ETIMEDOUT : ack;
}

int worker_open(struct worker **out, struct engine *e, uint16_t queue, enum engine_origin origin,
		const struct nfs_config *c)
{
	struct worker *w = calloc(1, sizeof(*w));
	char buf[CONFIG_MSG_BUF];
	struct nlmsghdr *nlh;
	int r, one = 1;

	if (!w)
		return -ENOMEM;
	w->engine = e;
	w->queue = queue;
	w->origin = origin;
	r = thread_init(&w->thread, NULL, NULL);
	w->buflen = c->copy_range + RECV_SLACK;
	w->buf = malloc(w->buflen);
	w->heartbeat = mono_s();
	if (r < 0)
		goto fail;
	if (!w->buf) {
		r = -ENOMEM;
		goto fail;
	}
	w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!w->nl || mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto fail;
	}
	w->portid = mnl_socket_get_portid(w->nl);

	/* Room for a full queue of copied packets, so bursts are not lost to ENOBUFS. Needs
	 * CAP_NET_ADMIN to pass rmem_max; fall back to what we may have. */
	uint64_t want = c->max_len * (c->copy_range + PER_PACKET_OVERHEAD);
	int rcv = want > RCVBUF_MAX ? RCVBUF_MAX : (int)want;
	int fd = mnl_socket_get_fd(w->nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	/* Report ENOBUFS (the default) rather than hiding it: we count it. Ask for ext acks. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));

	/* One message: bind, copy mode and range, queue length and flags are applied together,
	 * so no packet is ever delivered under half a configuration. */
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)c->copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, (uint32_t)c->max_len);
	/* F_GSO: take GSO packets whole (we never modify them, so no checksum work is needed).
	 * F_FAIL_OPEN: inspection queues always (like their bypass, a daemon that cannot keep up
	 * must not break established services); closed-port queues only if configured, so
	 * closed-port attempts are dropped when we cannot keep up. No conntrack, uid/gid or
	 * security context: decoding does not use them. */
	bool fail_open = origin == ORIGIN_INSPECT || c->fail_open;
	uint32_t flags = NFQA_CFG_F_GSO | (fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	uint32_t mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_CONNTRACK | NFQA_CFG_F_UID_GID |
			NFQA_CFG_F_SECCTX;
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	r = config_talk(w, nlh);
	if (r < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	worker_free(w);
	return r;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd pfd[2] = {
		{ .fd = mnl_socket_get_fd(w->nl), .events = POLLIN },
		{ .fd = w->thread.stop_fd, .events = POLLIN },
	};

	for (;;) {
		atomic_store_explicit(&w->heartbeat, mono_s(), memory_order_relaxed);
		int r = poll(pfd, 2, 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (r <= 0 || !(pfd[0].revents & POLLIN))
			continue;
		/* Drain what is there without blocking, then poll again. */
		for (int burst = 0; burst < 256; burst++) {
			ssize_t n = recv(pfd[0].fd, w->buf, w->buflen, MSG_DONTWAIT);
			if (n < 0) {
				if (errno == ENOBUFS) {
					/* The kernel dropped messages for us; the ids will show the gap. */
					atomic_fetch_add_explicit(&w->enobufs, 1, memory_order_relaxed);
					continue;
				}
				break; /* EAGAIN, or EINTR: back to poll */
			}
			handle_datagram(w, w->buf, (size_t)n, 0, NULL);
		}
	}
	return NULL;
}

int worker_start(struct worker *w)
{
	return thread_start(&w->thread, worker_main, w);
}

void worker_stop(struct worker *w)
{
	if (w)
		thread_stop(&w->thread);
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	thread_deinit(&w->thread);
	if (w->nl)
		mnl_socket_close(w->nl);
	free(w->buf);
	free(w);
}

uint16_t worker_queue(const struct worker *w)
{
	return w->queue;
}

void worker_get_stats(struct worker *w, struct worker_stats *o)
{
	o->packets = atomic_load(&w->c.packets);
	o->accepted = atomic_load(&w->c.accepted);
	o->dropped = atomic_load(&w->c.dropped);
	o->malformed = atomic_load(&w->c.malformed);
	o->no_l4 = atomic_load(&w->c.no_l4);
	o->ban_requests = atomic_load(&w->c.ban_requests);
	o->banq_full = atomic_load(&w->c.banq_full);
	o->tracker_errors = atomic_load(&w->c.tracker_errors);
	o->events = atomic_load(&w->c.events);
	o->enobufs = atomic_load(&w->enobufs);
	o->id_gaps = atomic_load(&w->id_gaps);
	o->verdict_errors = atomic_load(&w->verdict_errors);
	for (unsigned b = 0; b < WORKER_LATENCY_BUCKETS; b++)
		o->verdict_bucket[b] = atomic_load(&w->verdict_bucket[b]);
	o->verdict_sum_us = atomic_load(&w->verdict_sum_us);
	o->verdict_count = atomic_load(&w->verdict_count);
}

int64_t worker_heartbeat(struct worker *w)
{
	return atomic_load(&w->heartbeat);
}
