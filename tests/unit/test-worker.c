/* test-worker.c - a queue worker against a recorded-style nfnetlink_queue stream, without root:
 * the fake kernel of fakenl.h acks the worker's one configuration message (checked: bind,
 * copy mode and range, queue length, flags), then a UNIX datagram socketpair takes the place
 * of the worker's netlink socket (dup2 over the descriptor it sent on), so the running thread
 * reads the packet messages this test writes; its verdicts go out through fakenl.h and are
 * decoded here (queue, id, verdict, mark). Malformed and short messages are refused without a
 * verdict and without a crash, and the next packet is still served. */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ban/banq.h"
#include "core/log.h"
#include "decode/marktag.h"
#include "engine/engine.h"
#include "queue/worker.h"
#include "fakenl.h"
#include "enginefix.h"
#include "nfqmsg.h"
#include "tap.h"
#include "tcp4.h"

#define QNUM 4242
#define QTYPE(t) NFQ_TYPE(t)

static const uint8_t key[16] = "workerworkerwork";
static int config_error;
static bool packet_before_ack;

/* Acks the worker's configuration (or refuses it); optionally a packet arrives first, in the
 * same datagram, as it may when other packets are already queued. */
static void queue_kernel(const char *buf, size_t len)
{
	const struct nlmsghdr *h = (const void *)buf;
	static char out[4096];
	size_t off = 0;
	(void)len;

	if (h->nlmsg_type != QTYPE(NFQNL_MSG_CONFIG))
		return;
	if (packet_before_ack) {
		uint8_t pkt[64];
		size_t n = tcp4(pkt, 9, 40000, 9, 0x02, NULL);
		off = nfqmsg_packet(out, QNUM, 1, NF_INET_LOCAL_IN, pkt, n, 0, sizeof(struct nfqnl_msg_packet_hdr));
	}
	fakenl_put_err(out, &off, sizeof(out), h->nlmsg_seq, config_error);
	fakenl_reply(out, off);
}

struct verdict {
	bool ok;
	uint16_t queue;
	uint32_t id, verdict;
	bool has_mark;
	uint32_t mark;
};

/* Decodes sent datagram @i as a verdict message. */
static struct verdict verdict_at(size_t i)
{
	struct verdict v = { 0 };
	pthread_mutex_lock(&fakenl_lock);
	const struct nlmsghdr *h = (const void *)fakenl_sent[i].buf;
	size_t len = fakenl_sent[i].len;
	pthread_mutex_unlock(&fakenl_lock);
	struct nlattr *a;

	if (len < mnl_nlmsg_size(sizeof(struct nfgenmsg)) || h->nlmsg_len != len ||
	    h->nlmsg_type != QTYPE(NFQNL_MSG_VERDICT))
		return v;
	v.queue = ntohs(((const struct nfgenmsg *)mnl_nlmsg_get_payload(h))->res_id);
	mnl_attr_for_each(a, h, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFQA_VERDICT_HDR &&
		    mnl_attr_get_payload_len(a) == sizeof(struct nfqnl_msg_verdict_hdr)) {
			const struct nfqnl_msg_verdict_hdr *vh = mnl_attr_get_payload(a);
			v.verdict = ntohl(vh->verdict);
			v.id = ntohl(vh->id);
			v.ok = true;
		} else if (mnl_attr_get_type(a) == NFQA_MARK && mnl_attr_get_payload_len(a) == 4) {
			v.has_mark = true;
			v.mark = ntohl(mnl_attr_get_u32(a));
		}
	}
	return v;
}

/* The attribute @type of configuration message @h, or NULL. */
static const struct nlattr *cfg_attr(const struct nlmsghdr *h, uint16_t type)
{
	const struct nlattr *a;
	mnl_attr_for_each(a, h, sizeof(struct nfgenmsg)) if (mnl_attr_get_type(a) == type) return a;
	return NULL;
}

static void check_config(const struct nlmsghdr *h, const struct nfs_config *cfg)
{
	const struct nlattr *cmd = cfg_attr(h, NFQA_CFG_CMD), *par = cfg_attr(h, NFQA_CFG_PARAMS);
	const struct nlattr *ml = cfg_attr(h, NFQA_CFG_QUEUE_MAXLEN), *fl = cfg_attr(h, NFQA_CFG_FLAGS);
	const struct nlattr *mk = cfg_attr(h, NFQA_CFG_MASK);

	CHECK(h->nlmsg_type == QTYPE(NFQNL_MSG_CONFIG) && (h->nlmsg_flags & NLM_F_ACK) &&
	      ntohs(((const struct nfgenmsg *)mnl_nlmsg_get_payload(h))->res_id) == QNUM,
	      "one CONFIG message for queue %d, acked", QNUM);
	CHECK(cmd && mnl_attr_get_payload_len(cmd) >= sizeof(struct nfqnl_msg_config_cmd) &&
	      ((const struct nfqnl_msg_config_cmd *)mnl_attr_get_payload(cmd))->command == NFQNL_CFG_CMD_BIND,
	      "it binds the queue");
	const struct nfqnl_msg_config_params *p = par ? mnl_attr_get_payload(par) : NULL;
	CHECK(p && p->copy_mode == NFQNL_COPY_PACKET && ntohl(p->copy_range) == cfg->copy_range,
	      "copy packets, %llu bytes ([queue] copy_range)", (unsigned long long)cfg->copy_range);
	CHECK(ml && ntohl(mnl_attr_get_u32(ml)) == cfg->max_len, "queue length %llu ([queue] max_len)",
	      (unsigned long long)cfg->max_len);
	uint32_t flags = fl ? ntohl(mnl_attr_get_u32(fl)) : 0, mask = mk ? ntohl(mnl_attr_get_u32(mk)) : 0;
	CHECK(fl && mk && (flags & NFQA_CFG_F_GSO) && !(flags & NFQA_CFG_F_FAIL_OPEN) && (mask & NFQA_CFG_F_FAIL_OPEN) &&
	      (mask & NFQA_CFG_F_GSO), "flags GSO, not fail-open (a closed-port queue, fail_open = no): %#x/%#x",
	      flags, mask);
}

int main(void)
{
	struct enginefix fx;
	struct worker *w = NULL;
	struct worker_stats st;
	uint8_t pkt[64];
	char buf[4096];
	int sp[2], r;

	log_set_level(LOG_LVL_ERR);
	CHECK(enginefix_open(&fx, key), "an engine to hand packets to");
	if (tap_failed)
		return tap_done();
	struct nfs_config *cfg = fx.cfg;
	struct engine *e = &fx.e;
	fakenl_kernel = queue_kernel;

	/* The kernel refuses: another process holds the queue. */
	config_error = -EBUSY;
	r = worker_open(&w, e, QNUM, ORIGIN_CLOSED_PORT, cfg);
	CHECK(r == -EBUSY && !w, "the kernel's -EBUSY is worker_open's answer (%d)", r);

	/* The kernel acks, with a packet delivered before the ack: it gets its verdict. */
	fakenl_reset();
	config_error = 0;
	packet_before_ack = true;
	r = worker_open(&w, e, QNUM, ORIGIN_CLOSED_PORT, cfg);
	packet_before_ack = false;
	CHECK(r == 0 && w && worker_queue(w) == QNUM, "worker_open: %d", r);
	if (!w)
		return tap_done();
	CHECK_EQ(fakenl_nsent, 2, "sent: the configuration, then a verdict");
	check_config((const void *)fakenl_sent[0].buf, cfg);
	struct verdict v = verdict_at(1);
	CHECK(v.ok && v.queue == QNUM && v.id == 1 && v.verdict == NF_DROP && !v.has_mark,
	      "the packet that came before the ack: dropped (id %u, verdict %u)", v.id, v.verdict);

	/* From here the thread reads what this test writes. */
	int nlfd = fakenl_last_fd;
	CHECK(nlfd >= 0 && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) == 0 && dup2(sp[0], nlfd) == nlfd,
	      "a socketpair in the place of the netlink socket");
	close(sp[0]);
	fakenl_reset();
	{
		long long got_ = worker_start(w);
		CHECK_EQ(got_, 0, "worker_start");
	}

	/* A closed-port SYN: dropped. */
	size_t n = tcp4(pkt, 1, 40000, 1, 0x02, NULL);
	size_t len = nfqmsg_packet(buf, QNUM, 2, NF_INET_LOCAL_IN, pkt, n, 0, sizeof(struct nfqnl_msg_packet_hdr));
	CHECK(send(sp[1], buf, len, 0) == (ssize_t)len && fakenl_wait_sent(1, 10) == 1, "a SYN: one verdict");
	v = verdict_at(0);
	CHECK(v.ok && v.queue == QNUM && v.id == 2 && v.verdict == NF_DROP && !v.has_mark, "id 2 dropped (%u %u %u)",
	      v.queue, v.id, v.verdict);

	/* [scan] verdict = accept: a packet carrying the ruleset's tag has it cleared; an
	 * administrator's mark is left alone. Two messages in one datagram. */
	cfg->verdict_accept = true;
	engine_configure(e, cfg);
	fakenl_reset();
	/* The mark as NFQA_MARK gives it: the tag's bytes 0x4e, kind, port in the kernel's order. */
	uint32_t tag = ntohl(((uint32_t)MARKTAG_MAGIC << 24) | ((uint32_t)MARKTAG_TCP_SYN << 16) | 2);
	n = tcp4(pkt, 1, 40000, 2, 0x02, NULL);
	len = nfqmsg_packet(buf, QNUM, 3, NF_INET_LOCAL_IN, pkt, n, tag, sizeof(struct nfqnl_msg_packet_hdr));
	n = tcp4(pkt, 2, 40000, 3, 0x02, NULL);
	len += nfqmsg_packet(buf + len, QNUM, 4, NF_INET_LOCAL_IN, pkt, n, 0x1234, sizeof(struct nfqnl_msg_packet_hdr));
	CHECK(send(sp[1], buf, len, 0) == (ssize_t)len && fakenl_wait_sent(2, 10) == 2, "two packets: two verdicts");
	v = verdict_at(0);
	CHECK(v.ok && v.id == 3 && v.verdict == NF_ACCEPT && v.has_mark && v.mark == 0,
	      "id 3 accepted, its tag cleared (mark %s %u)", v.has_mark ? "set to" : "not set", v.mark);
	v = verdict_at(1);
	CHECK(v.ok && v.id == 4 && v.verdict == NF_ACCEPT && !v.has_mark, "id 4 accepted, its own mark untouched");

	/* What a kernel would never send, and what a bug could: refused, no verdict, no crash. */
	worker_get_stats(w, &st);
	uint64_t malformed0 = st.malformed;
	fakenl_reset();
	n = tcp4(pkt, 3, 40000, 4, 0x02, NULL);
	len = nfqmsg_packet(buf, QNUM, 5, NF_INET_LOCAL_IN, pkt, n, 0, 0); /* no packet header: no id */
	send(sp[1], buf, len, 0);
	len = nfqmsg_packet(buf, QNUM, 6, NF_INET_LOCAL_IN, pkt, n, 0, 2); /* a header of 2 bytes */
	send(sp[1], buf, len, 0);
	len = nfqmsg_packet(buf, QNUM, 7, NF_INET_LOCAL_IN, pkt, n, 0, sizeof(struct nfqnl_msg_packet_hdr));
	((struct nlattr *)(buf + mnl_nlmsg_size(sizeof(struct nfgenmsg))))->nla_len = 2000; /* past the end */
	send(sp[1], buf, len, 0);
	len = nfqmsg_packet(buf, QNUM, 8, NF_INET_LOCAL_IN, pkt, n, 0, sizeof(struct nfqnl_msg_packet_hdr));
	send(sp[1], buf, len - 8, 0); /* the datagram shorter than its nlmsg_len */
	send(sp[1], buf, 7, 0);       /* shorter than a netlink header */
	send(sp[1], buf, 0, 0);       /* empty */
	((struct nlmsghdr *)buf)->nlmsg_len = 4; /* a length below the header's own */
	send(sp[1], buf, len, 0);
	/* Then a packet whose bytes are not IP: decoded as malformed, verdicted all the same. */
	len = nfqmsg_packet(buf, QNUM, 9, NF_INET_LOCAL_IN, (const uint8_t *)"\x45\x00\x00", 3, 0, sizeof(struct nfqnl_msg_packet_hdr));
	send(sp[1], buf, len, 0);
	/* And a good one: it is served. */
	n = tcp4(pkt, 4, 40000, 5, 0x02, NULL);
	len = nfqmsg_packet(buf, QNUM, 12, NF_INET_LOCAL_IN, pkt, n, 0, sizeof(struct nfqnl_msg_packet_hdr));
	send(sp[1], buf, len, 0);
	size_t got = fakenl_wait_sent(2, 10);
	CHECK_EQ(got, 2, "verdicts: for the non-IP packet and the good one only");
	v = verdict_at(0);
	CHECK(v.ok && v.id == 9 && v.verdict == NF_ACCEPT, "the non-IP packet (id 9) verdicted: %u %u", v.id, v.verdict);
	v = verdict_at(1);
	CHECK(v.ok && v.id == 12, "the good packet after them (id 12) verdicted: %u", v.id);
	worker_stop(w); /* the thread counts a verdict's latency after sending it */
	worker_get_stats(w, &st);
	CHECK_EQ(st.malformed - malformed0, 4,
		 "malformed: no header, a short header, an attribute past the end, the non-IP packet");
	CHECK_EQ(st.id_gaps, 6, "ids 5 to 8 (unreadable) and 10, 11 missing from the sequence: 6");
	CHECK(st.packets == 6 && st.dropped == 2 && st.accepted == 4,
	      "counted: %llu packets, %llu dropped, %llu accepted", (unsigned long long)st.packets,
	      (unsigned long long)st.dropped, (unsigned long long)st.accepted);
	uint64_t sum = 0;
	for (unsigned b = 0; b < WORKER_LATENCY_BUCKETS; b++)
		sum += st.verdict_bucket[b];
	CHECK(st.verdict_count == 6 && sum == 6, "verdict latency: %llu counted, %llu in the buckets",
	      (unsigned long long)st.verdict_count, (unsigned long long)sum);

	worker_free(w);
	close(sp[1]);
	enginefix_close(&fx);
	fakenl_reset();
	return tap_done();
}
