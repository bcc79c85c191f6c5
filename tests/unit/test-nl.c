/* test-nl.c - the netlink conversations with nf_tables, against a fake kernel (fakenl.h): what
 * goes out is parsed back with libnftnl and checked (types, sequence numbers, the batch's
 * BEGIN/END frame, table, set, keys), and hand-built replies come back: acks and errors inside
 * and outside a batch's sequence range, replies split over datagrams, silence, a set dump
 * (addresses, and ban6's intervals folded back into prefixes), single-element lookups and the
 * table's handle, the queues the rules send to. nl.c, setelem.c (commit, dump: test-setelem
 * covers building), setlookup.c, ruleset.c (not ruleset_load(): it runs libnftables) and
 * compat.c's rule swap (test-compat covers the text). */
#include <arpa/inet.h>
#include <stdio.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include "nft/compat.h"
#include "nft/nl.h"
#include "nft/ruleset.h"
#include "nft/setelem.h"
#include "nft/setlookup.h"
#include "fakenl.h"
#include "tap.h"

#define NFT(t) ((NFNL_SUBSYS_NFTABLES << 8) | (t))

static struct nfs_addr v4(uint8_t last)
{
	return (struct nfs_addr){ .family = AF_INET, .plen = 32, .a = { 192, 0, 2, last } };
}

/* ---- a kernel that answers batches: each acked message gets the error refuse() says ---- */

static int (*refuse)(const struct nlmsghdr *h);
static int batch_begin_error;

/* The key of the first element of a set element message, or 0. */
static uint8_t first_key_last_byte(const struct nlmsghdr *h)
{
	struct nftnl_set *s = nftnl_set_alloc();
	uint8_t last = 0;
	if (nftnl_set_elems_nlmsg_parse(h, s) == 0) {
		struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
		struct nftnl_set_elem *e = it ? nftnl_set_elems_iter_next(it) : NULL;
		uint32_t len = 0;
		const uint8_t *k = e ? nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len) : NULL;
		if (k && len)
			last = k[len - 1];
		if (it)
			nftnl_set_elems_iter_destroy(it);
	}
	nftnl_set_free(s);
	return last;
}

static void batch_kernel(const char *buf, size_t len)
{
	static char out[8192];
	const struct nlmsghdr *h = (const void *)buf;
	int left = (int)len;
	size_t off = 0;

	for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
		if (h->nlmsg_type == NFNL_MSG_BATCH_BEGIN && batch_begin_error) {
			fakenl_reply_err(h->nlmsg_seq, batch_begin_error);
			return; /* nothing else is looked at */
		}
		if (h->nlmsg_type == NFNL_MSG_BATCH_BEGIN || h->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		if (h->nlmsg_flags & NLM_F_ACK)
			fakenl_put_err(out, &off, sizeof(out), h->nlmsg_seq, refuse ? refuse(h) : 0);
	}
	if (off)
		fakenl_reply(out, off);
}

static int refuse_dot2(const struct nlmsghdr *h)
{
	return first_key_last_byte(h) == 2 ? -EEXIST : 0;
}

/* Checks sent datagram @i: a batch BEGIN, @n messages of @type with consecutive sequence numbers
 * from BEGIN's + 1 + @skip (each asking for an ack), END. Returns the first message's sequence
 * number. */
static uint32_t check_batch(size_t i, uint16_t type, size_t n, uint32_t skip, const char *what)
{
	const struct nlmsghdr *h = (const void *)fakenl_sent[i].buf;
	int left = (int)fakenl_sent[i].len;
	uint32_t begin = h->nlmsg_seq, first = 0;
	size_t m = 0;
	bool ok = h->nlmsg_type == NFNL_MSG_BATCH_BEGIN &&
		  ((const struct nfgenmsg *)mnl_nlmsg_get_payload(h))->res_id == htons(NFNL_SUBSYS_NFTABLES);
	const struct nlmsghdr *last = h;

	for (h = mnl_nlmsg_next(h, &left); mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
		last = h;
		if (h->nlmsg_type == NFNL_MSG_BATCH_END)
			break;
		if (m == 0)
			first = h->nlmsg_seq;
		ok = ok && h->nlmsg_type == NFT(type) && h->nlmsg_seq == begin + 1 + skip + m && (h->nlmsg_flags & NLM_F_ACK);
		m++;
	}
	ok = ok && last->nlmsg_type == NFNL_MSG_BATCH_END && last->nlmsg_seq == begin + 1 + skip + m && m == n;
	h = mnl_nlmsg_next(last, &left);
	ok = ok && !mnl_nlmsg_ok(h, left);
	CHECK(ok, "%s: BEGIN seq %u, %zu messages (%zu wanted) numbered on, END, nothing after", what, begin, m, n);
	return first;
}

static void test_batch_talk(struct nl *nl)
{
	static char buf[16384];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	struct nftset_elem e1 = { .addr = v4(1), .timeout_ms = 60000 }, e2 = { .addr = v4(2), .timeout_ms = 60000 };
	int errs[2] = { 99, 99 };

	nftnl_batch_begin(mnl_nlmsg_batch_current(b), 100);
	mnl_nlmsg_batch_next(b);
	nftset_batch_add(b, NFT_MSG_NEWSETELEM, &e1, 101);
	nftset_batch_add(b, NFT_MSG_NEWSETELEM, &e2, 102);
	nftnl_batch_end(mnl_nlmsg_batch_current(b), 103);
	mnl_nlmsg_batch_next(b);
	const void *batch = mnl_nlmsg_batch_head(b);
	size_t blen = mnl_nlmsg_batch_size(b);

	/* An ack and a refusal, in one datagram. */
	fakenl_reset();
	fakenl_kernel = batch_kernel;
	refuse = refuse_dot2;
	int r = nl_batch_talk(nl, batch, blen, 101, 102, errs);
	CHECK(r == 0 && errs[0] == 0 && errs[1] == -EEXIST, "an ack and an -EEXIST: rc %d, errs %d %d", r, errs[0],
	      errs[1]);
	CHECK(fakenl_nsent == 1 && fakenl_sent[0].len == blen && !memcmp(fakenl_sent[0].buf, batch, blen),
	      "the batch goes out as one datagram, unchanged");

	/* Replies out of the range that are not the batch's frame are not ours: skipped. Replies
	 * split over datagrams are gathered. */
	fakenl_reset();
	fakenl_kernel = NULL;
	fakenl_reply_err(7, -ENOENT);     /* an earlier conversation's error */
	fakenl_reply_err(104, -EINVAL);   /* a later one's */
	fakenl_reply_err(102, 0);
	fakenl_reply_err(101, -ENOSPC);
	errs[0] = errs[1] = 99;
	r = nl_batch_talk(nl, batch, blen, 101, 102, errs);
	CHECK(r == 0 && errs[0] == -ENOSPC && errs[1] == 0,
	      "foreign errors skipped, answers over two datagrams: rc %d, errs %d %d", r, errs[0], errs[1]);

	/* Issue 12, item 4: the kernel refuses the batch as a whole (EPERM without CAP_NET_ADMIN):
	 * its error carries BATCH_BEGIN's sequence number, outside first..last. */
	fakenl_reset();
	fakenl_reply_err(100, -EPERM);
	r = nl_batch_talk(nl, batch, blen, 101, 102, errs);
	CHECK_EQ(r, -EPERM, "an error for BATCH_BEGIN is the batch's answer (not a timeout)");
	fakenl_reset();
	fakenl_reply_err(103, -EINVAL);
	r = nl_batch_talk(nl, batch, blen, 101, 102, errs);
	CHECK_EQ(r, -EINVAL, "an error for BATCH_END too");
	/* An ack of the frame is no refusal. */
	fakenl_reset();
	fakenl_reply_err(100, 0);
	fakenl_reply_err(101, 0);
	fakenl_reply_err(102, 0);
	r = nl_batch_talk(nl, batch, blen, 101, 102, errs);
	CHECK(r == 0 && errs[0] == 0 && errs[1] == 0, "an ack for BATCH_BEGIN is skipped: rc %d", r);

	/* Silence: the receive times out (EAGAIN); the outcome is unknown. */
	fakenl_reset();
	fakenl_reply_err(101, 0);
	r = nl_batch_talk(nl, batch, blen, 101, 102, errs);
	CHECK_EQ(r, -ETIMEDOUT, "one answer missing: -ETIMEDOUT");
	mnl_nlmsg_batch_stop(b);
}

static void test_commit(struct nl *nl)
{
	struct nftset_elem e[3] = { { .addr = v4(1), .timeout_ms = 60000 }, { .addr = v4(2), .timeout_ms = 60000 },
				    { .addr = v4(3), .timeout_ms = 60000 } };
	int res[3] = { 99, 99, 99 };

	fakenl_reset();
	fakenl_kernel = batch_kernel;
	refuse = refuse_dot2;
	int r = nftset_commit(nl, NFT_MSG_NEWSETELEM, e, 3, res);
	CHECK(r == 2 && res[0] == 0 && res[1] == -EEXIST && res[2] == 0,
	      "commit: one element refused, the two others applied: %d (%d %d %d)", r, res[0], res[1], res[2]);
	CHECK_EQ(fakenl_nsent, 2, "two transactions: the kernel aborts one with a refused element");
	if (fakenl_nsent == 2) {
		uint32_t a = check_batch(0, NFT_MSG_NEWSETELEM, 3, 0, "first transaction");
		uint32_t b = check_batch(1, NFT_MSG_NEWSETELEM, 2, 0, "second transaction, without the refused one");
		CHECK(b > a + 3, "the second uses new sequence numbers (%u after %u)", b, a);
		const struct nlmsghdr *h = mnl_nlmsg_next((const void *)fakenl_sent[1].buf, &(int){ 1 << 20 });
		uint8_t k1 = first_key_last_byte(h);
		h = mnl_nlmsg_next(h, &(int){ 1 << 20 });
		CHECK(k1 == 1 && first_key_last_byte(h) == 3, "the second holds .1 and .3 (%u, %u)", k1, first_key_last_byte(h));
	}

	/* The whole batch refused: nothing applied, the error passed up. */
	fakenl_reset();
	batch_begin_error = -EPERM;
	r = nftset_commit(nl, NFT_MSG_NEWSETELEM, e, 3, res);
	batch_begin_error = 0;
	CHECK(r == -EPERM && fakenl_nsent == 1, "a refused transaction: -EPERM at once (%d, %zu sent)", r, fakenl_nsent);
	refuse = NULL;
	fakenl_kernel = NULL;
}

/* ---- a kernel that answers dumps and questions ---- */

static bool raw_lists; /* leave libnftnl's numbering: a reply libnftnl cannot parse back */

/* A NEWSETELEM of set @set holding @n elements: keys @keys (@klen bytes each), @flags, timeout
 * @timeout and expiration @expires (0: none). Appended at @buf + *@off. */
static void put_elems(char *buf, size_t *off, uint32_t seq, uint16_t flags, const char *set, const uint8_t (*keys)[16],
		      uint32_t klen, const uint32_t *eflags, size_t n, uint64_t timeout, uint64_t expires)
{
	struct nftnl_set *s = nftnl_set_alloc();
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTSET_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	for (size_t i = 0; i < n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, keys[i], klen);
		if (eflags && eflags[i])
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, eflags[i]);
		if (timeout)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout);
		if (expires)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, expires);
		nftnl_set_elem_add(s, e);
	}
	struct nlmsghdr *h = nftnl_nlmsg_build_hdr(buf + *off, NFT_MSG_NEWSETELEM, NFPROTO_INET, flags, seq);
	nftnl_set_elems_nlmsg_build_payload(h, s);
	nftnl_set_free(s);
	/* libnftnl numbers a list's elements 1, 2, ... where the kernel sends NFTA_LIST_ELEM for
	 * each (and libnftnl's parser wants that): as in test-setelem. */
	struct nlattr *attr, *elem;
	if (raw_lists)
		goto out;
	mnl_attr_for_each(attr, h, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(elem, attr) elem->nla_type = (elem->nla_type & ~NLA_TYPE_MASK) | NFTA_LIST_ELEM;
	}
out:
	*off += MNL_ALIGN(h->nlmsg_len);
}

static void put_done(char *buf, size_t *off, uint32_t seq)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf + *off);
	h->nlmsg_type = NLMSG_DONE;
	h->nlmsg_flags = NLM_F_MULTI;
	h->nlmsg_seq = seq;
	mnl_nlmsg_put_extra_header(h, sizeof(int));
	*off += MNL_ALIGN(h->nlmsg_len);
}

struct got {
	size_t n;
	struct nftset_elem e[8];
};

static int collect(const struct nftset_elem *e, void *data)
{
	struct got *g = data;
	if (g->n < 8)
		g->e[g->n++] = *e;
	return 0;
}

static const char *dump_set;

/* Answers a dump of ban4 (two addresses, over two datagrams) or ban6 (one /64 as an interval). */
static void dump_kernel(const char *buf, size_t len)
{
	const struct nlmsghdr *req = (const void *)buf;
	static char out[8192];
	size_t off = 0;
	(void)len;

	if (req->nlmsg_type != NFT(NFT_MSG_GETSETELEM) || !(req->nlmsg_flags & NLM_F_DUMP))
		return;
	if (!strcmp(dump_set, NFTSET_BAN4)) {
		const uint8_t k1[1][16] = { { 192, 0, 2, 1 } }, k2[1][16] = { { 198, 51, 100, 7 } };
		put_elems(out, &off, req->nlmsg_seq, NLM_F_MULTI, NFTSET_BAN4, k1, 4, NULL, 1, 600000, 500000);
		fakenl_reply(out, off);
		off = 0;
		put_elems(out, &off, req->nlmsg_seq, NLM_F_MULTI, NFTSET_BAN4, k2, 4, NULL, 1, 0, 0);
		put_done(out, &off, req->nlmsg_seq);
		fakenl_reply(out, off);
	} else if (!strcmp(dump_set, NFTSET_FLEETNET4)) {
		/* A fleet range: 203.0.113.0/24 as the interval 203.0.113.0 up to 203.0.114.0. */
		const uint8_t k[2][16] = { { 203, 0, 114, 0 }, { 203, 0, 113, 0 } };
		const uint32_t f[2] = { NFT_SET_ELEM_INTERVAL_END, 0 };
		put_elems(out, &off, req->nlmsg_seq, NLM_F_MULTI, NFTSET_FLEETNET4, k, 4, f, 2, 60000, 30000);
		put_done(out, &off, req->nlmsg_seq);
		fakenl_reply(out, off);
	} else if (!strcmp(dump_set, NFTSET_BAN6)) {
		/* The kernel lists an interval set's elements end first. */
		const uint8_t k[2][16] = { { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 3 }, { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2 } };
		const uint32_t f[2] = { NFT_SET_ELEM_INTERVAL_END, 0 };
		put_elems(out, &off, req->nlmsg_seq, NLM_F_MULTI, NFTSET_BAN6, k, 16, f, 2, 0, 0);
		put_done(out, &off, req->nlmsg_seq);
		fakenl_reply(out, off);
	} else {
		fakenl_reply_err(req->nlmsg_seq, -ENOENT);
	}
}

static void test_dump(struct nl *nl)
{
	struct got g = { 0 };

	fakenl_reset();
	fakenl_kernel = dump_kernel;
	dump_set = NFTSET_BAN4;
	int r = nftset_dump(nl, NFTSET_BAN4, collect, &g);
	CHECK(r == 0 && g.n == 2, "ban4 dump over two datagrams: %d, %zu elements", r, g.n);
	CHECK(g.n == 2 && g.e[0].addr.family == AF_INET && g.e[0].addr.plen == 32 && g.e[0].addr.a[3] == 1 &&
	      g.e[0].timeout_ms == 600000 && g.e[0].expires_ms == 500000 && g.e[1].addr.a[0] == 198 &&
	      g.e[1].timeout_ms == 0, "ban4: 192.0.2.1 (timeout and time left) and 198.51.100.7");
	const struct nlmsghdr *req = fakenl_nsent ? (const void *)fakenl_sent[0].buf : NULL;
	struct nftnl_set *s = nftnl_set_alloc();
	CHECK(req && req->nlmsg_type == NFT(NFT_MSG_GETSETELEM) && (req->nlmsg_flags & NLM_F_DUMP) &&
	      nftnl_set_elems_nlmsg_parse(req, s) == 0 && !strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME), "ban4") &&
	      !strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), "nfsentry"),
	      "the request: a GETSETELEM dump of nfsentry/ban4");
	nftnl_set_free(s);

	fakenl_reset();
	g.n = 0;
	dump_set = NFTSET_BAN6;
	r = nftset_dump(nl, NFTSET_BAN6, collect, &g);
	char txt[NFS_ADDR_STRLEN] = "";
	if (g.n)
		nfs_addr_format(&g.e[0].addr, txt, sizeof(txt));
	CHECK(r == 0 && g.n == 1 && !strcmp(txt, "2001:db8:1:2::/64"), "ban6: an interval folds back into %s (%d, %zu)",
	      txt, r, g.n);

	fakenl_reset();
	g.n = 0;
	dump_set = NFTSET_FLEETNET4;
	r = nftset_dump(nl, NFTSET_FLEETNET4, collect, &g);
	txt[0] = '\0';
	if (g.n)
		nfs_addr_format(&g.e[0].addr, txt, sizeof(txt));
	CHECK(r == 0 && g.n == 1 && !strcmp(txt, "203.0.113.0/24") && g.e[0].fleet && g.e[0].net &&
	      !strcmp(nftset_elem_set(&g.e[0]), NFTSET_FLEETNET4),
	      "fleetnet4: an interval folds back into a fleet range, %s (%d, %zu)", txt, r, g.n);

	/* An element list libnftnl cannot parse (entries numbered 1, 2 where the kernel sends
	 * NFTA_LIST_ELEM): the dump fails with a reason of its own, not a stale errno. */
	fakenl_reset();
	g.n = 0;
	dump_set = NFTSET_BAN6;
	raw_lists = true;
	errno = EAGAIN;
	r = nftset_dump(nl, NFTSET_BAN6, collect, &g);
	raw_lists = false;
	CHECK(r == -EBADMSG, "an unparseable reply: -EBADMSG (%d)", r);

	fakenl_reset();
	g.n = 0;
	dump_set = "missing";
	r = nftset_dump(nl, NFTSET_BANNET4, collect, &g);
	CHECK(r == -ENOENT && g.n == 0, "a missing set: -ENOENT (%d)", r);

	fakenl_reset();
	fakenl_kernel = NULL;
	r = nftset_dump(nl, NFTSET_BAN4, collect, &g);
	CHECK_EQ(r, -ETIMEDOUT, "no answer: -ETIMEDOUT");
}

/* Answers questions about active4: the set has timeout 600 s; 192.0.2.1 is in it with 599 s
 * left, anything else is not. All answers in one datagram, as nfnetlink answers one. */
static bool set_missing;

static void lookup_kernel(const char *buf, size_t len)
{
	const struct nlmsghdr *h = (const void *)buf;
	int left = (int)len;
	static char out[16384];
	size_t off = 0;

	for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
		if (set_missing) {
			fakenl_put_err(out, &off, sizeof(out), h->nlmsg_seq, -ENOENT);
		} else if (h->nlmsg_type == NFT(NFT_MSG_GETSET)) {
			struct nftnl_set *s = nftnl_set_alloc();
			nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTSET_TABLE);
			nftnl_set_set_str(s, NFTNL_SET_NAME, NFTSET_ACTIVE4);
			nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, 600000);
			struct nlmsghdr *a = nftnl_nlmsg_build_hdr(out + off, NFT_MSG_NEWSET, NFPROTO_INET, 0, h->nlmsg_seq);
			nftnl_set_nlmsg_build_payload(a, s);
			nftnl_set_free(s);
			off += MNL_ALIGN(a->nlmsg_len);
			fakenl_put_err(out, &off, sizeof(out), h->nlmsg_seq, 0);
		} else if (h->nlmsg_type == NFT(NFT_MSG_GETSETELEM)) {
			uint8_t k = first_key_last_byte(h);
			if (k == 1) {
				const uint8_t key[1][16] = { { 192, 0, 2, 1 } };
				put_elems(out, &off, h->nlmsg_seq, 0, NFTSET_ACTIVE4, key, 4, NULL, 1, 0, 599000);
			}
			fakenl_put_err(out, &off, sizeof(out), h->nlmsg_seq, k == 1 ? 0 : -ENOENT);
		}
	}
	fakenl_reply(out, off);
}

static void test_lookup(struct nl *nl)
{
	struct nftset_query q[2] = { { .set = NFTSET_ACTIVE4, .key = v4(1) }, { .set = NFTSET_ACTIVE4, .key = v4(9) } };

	fakenl_reset();
	fakenl_kernel = lookup_kernel;
	set_missing = false;
	int r = nftset_lookup(nl, q, 2);
	CHECK(r == 0 && q[0].found && q[0].age_ms == 1000 && q[0].err == 0,
	      "192.0.2.1 found, 1 s old: the set's 600 s minus 599 s left (%d, %d, %llu)", r, q[0].found,
	      (unsigned long long)q[0].age_ms);
	CHECK(!q[1].found && q[1].err == 0, "192.0.2.9: not in the set, and no error (-ENOENT for an element)");
	/* One datagram: the set, then each element, numbered on. */
	const struct nlmsghdr *h = fakenl_nsent == 1 ? (const void *)fakenl_sent[0].buf : NULL;
	int left = h ? (int)fakenl_sent[0].len : 0, n = 0;
	uint32_t seq0 = h ? h->nlmsg_seq : 0;
	bool ok = h && h->nlmsg_type == NFT(NFT_MSG_GETSET);
	for (; h && mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left), n++)
		ok = ok && h->nlmsg_seq == seq0 + (uint32_t)n && (h->nlmsg_flags & NLM_F_ACK) &&
		     (n == 0 || (h->nlmsg_type == NFT(NFT_MSG_GETSETELEM) && first_key_last_byte(h) == (n == 1 ? 1 : 9)));
	CHECK(ok && n == 3, "one datagram: GETSET active4, GETSETELEM .1, GETSETELEM .9, consecutive seqs (%d)", n);

	fakenl_reset();
	set_missing = true;
	r = nftset_lookup(nl, q, 2);
	CHECK(r == 0 && q[0].err == -ENOENT && q[1].err == -ENOENT && !q[0].found,
	      "the set missing: each question says -ENOENT (%d %d)", q[0].err, q[1].err);

	fakenl_reset();
	fakenl_kernel = NULL;
	r = nftset_lookup(nl, q, 2);
	CHECK_EQ(r, -ETIMEDOUT, "no answer: -ETIMEDOUT");
	{
		long long got_ = nftset_lookup(nl, q, NFTSET_LOOKUP_MAX + 1);
		CHECK_EQ(got_, -E2BIG, "too many questions: -E2BIG");
	}
}

/* nftset_ages(): the set's own timeout (GETSET), then a dump of its elements. */
static void ages_kernel(const char *buf, size_t len)
{
	const struct nlmsghdr *h = (const void *)buf;
	static char out[8192];
	size_t off = 0;

	if (h->nlmsg_type == NFT(NFT_MSG_GETSET)) {
		lookup_kernel(buf, len); /* NEWSET with timeout 600 s, and an ack */
		return;
	}
	if (h->nlmsg_type != NFT(NFT_MSG_GETSETELEM) || !(h->nlmsg_flags & NLM_F_DUMP))
		return;
	/* 192.0.2.1 with the set's timeout and 590 s left; 192.0.2.2 with its own 60 s, 30 s left. */
	const uint8_t k1[1][16] = { { 192, 0, 2, 1 } }, k2[1][16] = { { 192, 0, 2, 2 } };
	put_elems(out, &off, h->nlmsg_seq, NLM_F_MULTI, NFTSET_ACTIVE4, k1, 4, NULL, 1, 0, 590000);
	put_elems(out, &off, h->nlmsg_seq, NLM_F_MULTI, NFTSET_ACTIVE4, k2, 4, NULL, 1, 60000, 30000);
	put_done(out, &off, h->nlmsg_seq);
	fakenl_reply(out, off);
}

static uint64_t ages[8];
static uint8_t age_keys[8];
static size_t nages;

static void age_cb(const struct nfs_addr *a, uint64_t age_ms, void *data)
{
	(void)data;
	if (nages < 8) {
		age_keys[nages] = a->a[3];
		ages[nages++] = age_ms;
	}
}

static void test_ages(struct nl *nl)
{
	fakenl_reset();
	fakenl_kernel = ages_kernel;
	set_missing = false;
	nages = 0;
	int r = nftset_ages(nl, NFTSET_ACTIVE4, age_cb, NULL);
	CHECK(r == 0 && nages == 2 && age_keys[0] == 1 && ages[0] == 10000 && age_keys[1] == 2 && ages[1] == 30000,
	      "ages: .1 10 s (the set's 600 s timeout), .2 30 s (its own 60 s) (%d, %zu: %llu, %llu)", r, nages,
	      (unsigned long long)ages[0], (unsigned long long)ages[1]);
	fakenl_reset();
	set_missing = true;
	nages = 0;
	r = nftset_ages(nl, NFTSET_ACTIVE4, age_cb, NULL);
	set_missing = false;
	CHECK(r == -ENOENT && nages == 0, "no such set: -ENOENT (%d)", r);
	fakenl_kernel = NULL;
}

static void table_kernel(const char *buf, size_t len)
{
	const struct nlmsghdr *h = (const void *)buf;
	static char out[4096];
	size_t off = 0;
	(void)len;
	if (h->nlmsg_type != NFT(NFT_MSG_GETTABLE))
		return;
	struct nftnl_table *t = nftnl_table_alloc();
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFTSET_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_u64(t, NFTNL_TABLE_HANDLE, 42);
	struct nlmsghdr *a = nftnl_nlmsg_build_hdr(out, NFT_MSG_NEWTABLE, NFPROTO_INET, 0, h->nlmsg_seq);
	nftnl_table_nlmsg_build_payload(a, t);
	nftnl_table_free(t);
	off = MNL_ALIGN(a->nlmsg_len);
	fakenl_put_err(out, &off, sizeof(out), h->nlmsg_seq, 0);
	fakenl_reply(out, off);
}

static void test_table(struct nl *nl)
{
	uint64_t handle = 0;

	fakenl_reset();
	fakenl_kernel = table_kernel;
	int r = ruleset_table_handle(nl, &handle);
	CHECK(r == 0 && handle == 42, "table inet nfsentry: handle %llu (%d)", (unsigned long long)handle, r);
	struct nftnl_table *t = nftnl_table_alloc();
	const struct nlmsghdr *h = fakenl_nsent ? (const void *)fakenl_sent[0].buf : NULL;
	CHECK(h && h->nlmsg_type == NFT(NFT_MSG_GETTABLE) && (h->nlmsg_flags & NLM_F_ACK) &&
	      nftnl_table_nlmsg_parse(h, t) == 0 && !strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "nfsentry") &&
	      ((const struct nfgenmsg *)mnl_nlmsg_get_payload(h))->nfgen_family == NFPROTO_INET,
	      "the request: GETTABLE inet nfsentry, acked");
	nftnl_table_free(t);

	fakenl_reset();
	fakenl_kernel = NULL;
	handle = 7;
	fakenl_reply_err(nl->seq + 1, -ENOENT);
	r = ruleset_table_handle(nl, &handle);
	CHECK(r == -ENOENT && handle == 7, "no table: -ENOENT, the handle untouched (%d)", r);
}

/* ---- the rules of table inet nfsentry: which queues they send to ---- */

static bool rule_sreg; /* a rule that picks its queue at run time */

/* One NEWRULE of chain @chain holding @e (taken), appended at @buf + *@off. */
static void put_rule(char *buf, size_t *off, uint32_t seq, const char *chain, struct nftnl_expr *e)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTSET_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_add_expr(r, e);
	struct nlmsghdr *h = nftnl_nlmsg_build_hdr(buf + *off, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_MULTI, seq);
	nftnl_rule_nlmsg_build_payload(h, r);
	nftnl_rule_free(r);
	*off += MNL_ALIGN(h->nlmsg_len);
}

static void rules_kernel(const char *buf, size_t len)
{
	const struct nlmsghdr *h = (const void *)buf;
	static char out[16384];
	size_t off = 0;

	if (h->nlmsg_type == NFT(NFT_MSG_GETTABLE)) {
		table_kernel(buf, len);
		return;
	}
	if (h->nlmsg_type != NFT(NFT_MSG_GETRULE) || !(h->nlmsg_flags & NLM_F_DUMP))
		return;
	struct nftnl_expr *q = nftnl_expr_alloc("queue");
	nftnl_expr_set_u16(q, NFTNL_EXPR_QUEUE_NUM, 0);
	nftnl_expr_set_u16(q, NFTNL_EXPR_QUEUE_TOTAL, 2);
	if (rule_sreg)
		nftnl_expr_set_u32(q, NFTNL_EXPR_QUEUE_SREG_QNUM, NFT_REG32_00);
	put_rule(out, &off, h->nlmsg_seq, "closed", q);
	/* What the compat loader puts in place of a queue statement: xt NFQUEUE rev 3. */
	struct nftnl_expr *t = nftnl_expr_alloc("target");
	struct xt_NFQ_info_v3 *info = calloc(1, sizeof(*info)); /* the expression takes it */
	info->queuenum = 5;
	info->queues_total = 1;
	nftnl_expr_set_str(t, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(t, NFTNL_EXPR_TG_REV, 3);
	nftnl_expr_set(t, NFTNL_EXPR_TG_INFO, info, sizeof(*info));
	put_rule(out, &off, h->nlmsg_seq, "inspect", t);
	fakenl_reply(out, off); /* a dump spans datagrams */
	off = 0;
	struct nftnl_expr *c = nftnl_expr_alloc("counter");
	put_rule(out, &off, h->nlmsg_seq, "ban", c);
	put_done(out, &off, h->nlmsg_seq);
	fakenl_reply(out, off);
}

static void test_queues(struct nl *nl)
{
	struct ruleset_queues q;

	fakenl_reset();
	fakenl_kernel = rules_kernel;
	rule_sreg = false;
	memset(&q, 0xff, sizeof(q));
	int r = ruleset_queues_read(nl, &q);
	unsigned bound = 0;
	for (unsigned i = 0; i < 65536; i++)
		bound += ruleset_queues_has(&q, i);
	CHECK(r == 0 && q.rules == 2 && ruleset_queues_has(&q, 0) && ruleset_queues_has(&q, 1) &&
	      ruleset_queues_has(&q, 5) && bound == 3,
	      "queue num 0-1 and an NFQUEUE target to 5: queues 0, 1, 5 from 2 rules (%d, %u rules, %u queues)", r, q.rules,
	      bound);
	const struct nlmsghdr *h = fakenl_nsent == 2 ? (const void *)fakenl_sent[1].buf : NULL;
	struct nftnl_rule *rule = nftnl_rule_alloc();
	CHECK(h && h->nlmsg_type == NFT(NFT_MSG_GETRULE) && (h->nlmsg_flags & NLM_F_DUMP) &&
	      nftnl_rule_nlmsg_parse(h, rule) == 0 && !strcmp(nftnl_rule_get_str(rule, NFTNL_RULE_TABLE), "nfsentry"),
	      "the table's handle asked first, then a GETRULE dump of table nfsentry");
	nftnl_rule_free(rule);

	fakenl_reset();
	rule_sreg = true;
	r = ruleset_queues_read(nl, &q);
	CHECK_EQ(r, -EOPNOTSUPP, "queue to <expression>: -EOPNOTSUPP");
	rule_sreg = false;

	fakenl_reset();
	fakenl_kernel = NULL;
	fakenl_reply_err(nl->seq + 1, -ENOENT);
	r = ruleset_queues_read(nl, &q);
	CHECK_EQ(r, -ENOENT, "no table: -ENOENT");
}

/* ---- compat: placeholders [counter P B, verdict] swapped for xt NFQUEUE targets ---- */

static struct nftnl_expr *counter(const struct compat_queue *q, uint64_t packets, uint64_t bytes)
{
	struct nftnl_expr *c = nftnl_expr_alloc("counter");
	if (q)
		compat_encode(q, &packets, &bytes);
	nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_PACKETS, packets);
	nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_BYTES, bytes);
	return c;
}

static struct nftnl_expr *verdict(int v)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
	return e;
}

/* A NEWRULE with handle @handle of expressions @a, @b (taken), appended at @buf + *@off. */
static void put_rule2(char *buf, size_t *off, uint32_t seq, uint64_t handle, struct nftnl_expr *a, struct nftnl_expr *b)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTSET_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "closed");
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nftnl_rule_add_expr(r, a);
	nftnl_rule_add_expr(r, b);
	struct nlmsghdr *h = nftnl_nlmsg_build_hdr(buf + *off, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_MULTI, seq);
	nftnl_rule_nlmsg_build_payload(h, r);
	nftnl_rule_free(r);
	*off += MNL_ALIGN(h->nlmsg_len);
}

static void compat_kernel(const char *buf, size_t len)
{
	const struct nlmsghdr *h = (const void *)buf;
	static char out[16384];
	size_t off = 0;

	if (h->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
		batch_kernel(buf, len);
		return;
	}
	if (h->nlmsg_type != NFT(NFT_MSG_GETRULE) || !(h->nlmsg_flags & NLM_F_DUMP))
		return;
	put_rule2(out, &off, h->nlmsg_seq, 7, counter(&(struct compat_queue){ 0, 2, 0 }, 0, 0), verdict(NF_DROP));
	put_rule2(out, &off, h->nlmsg_seq, 8, counter(NULL, 12, 1000), verdict(NF_ACCEPT)); /* an ordinary counter */
	put_rule2(out, &off, h->nlmsg_seq, 9, counter(&(struct compat_queue){ 4, 1, NFQ_FLAG_BYPASS }, 3, 180),
		  verdict(NF_ACCEPT)); /* hit by 3 packets before the swap */
	put_done(out, &off, h->nlmsg_seq);
	fakenl_reply(out, off);
}

/* The NFQUEUE target info and handle of NEWRULE @h; false if it is not one ending in it. */
static bool replaced(const struct nlmsghdr *h, uint64_t *handle, struct xt_NFQ_info_v3 *info)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	bool ok = false;
	if (h->nlmsg_type == NFT(NFT_MSG_NEWRULE) && (h->nlmsg_flags & NLM_F_REPLACE) && nftnl_rule_nlmsg_parse(h, r) == 0) {
		struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
		struct nftnl_expr *e, *last = NULL;
		unsigned n = 0;
		while ((e = nftnl_expr_iter_next(it)))
			last = e, n++;
		nftnl_expr_iter_destroy(it);
		uint32_t len = 0;
		const void *d = last && !strcmp(nftnl_expr_get_str(last, NFTNL_EXPR_NAME), "target") &&
					!strcmp(nftnl_expr_get_str(last, NFTNL_EXPR_TG_NAME), "NFQUEUE") &&
					nftnl_expr_get_u32(last, NFTNL_EXPR_TG_REV) == 3
				? nftnl_expr_get(last, NFTNL_EXPR_TG_INFO, &len)
				: NULL;
		if (d && len == sizeof(*info) && n == 1) {
			memcpy(info, d, sizeof(*info));
			*handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
			ok = true;
		}
	}
	nftnl_rule_free(r);
	return ok;
}

static int refuse_rule9(const struct nlmsghdr *h)
{
	struct xt_NFQ_info_v3 info;
	uint64_t handle = 0;
	return replaced(h, &handle, &info) && handle == 9 ? -EINVAL : 0;
}

static void test_compat_patch(struct nl *nl)
{
	fakenl_reset();
	fakenl_kernel = compat_kernel;
	refuse = NULL;
	int r = compat_patch_rules(nl);
	CHECK(r == 2 && fakenl_nsent == 2, "two placeholders replaced, the ordinary counter left (%d, %zu sent)", r,
	      fakenl_nsent);
	if (fakenl_nsent == 2) {
		/* BEGIN was numbered before the dump request that found the rules. */
		check_batch(1, NFT_MSG_NEWRULE, 2, 1, "the swap: one transaction");
		const struct nlmsghdr *h = (const void *)fakenl_sent[1].buf;
		int left = (int)fakenl_sent[1].len;
		struct xt_NFQ_info_v3 a = { 0 }, b = { 0 };
		uint64_t ha = 0, hb = 0;
		h = mnl_nlmsg_next(h, &left);
		bool ok = replaced(h, &ha, &a);
		h = mnl_nlmsg_next(h, &left);
		ok = ok && replaced(h, &hb, &b);
		CHECK(ok && ha == 7 && a.queuenum == 0 && a.queues_total == 2 && a.flags == 0,
		      "rule 7 replaced in place by NFQUEUE rev 3, queues 0-1 (handle %llu, %u+%u)", (unsigned long long)ha,
		      a.queuenum, a.queues_total);
		CHECK(ok && hb == 9 && b.queuenum == 4 && b.queues_total == 1 && b.flags == NFQ_FLAG_BYPASS,
		      "rule 9: queue 4 with bypass, though packets hit the placeholder (handle %llu, flags %u)",
		      (unsigned long long)hb, b.flags);
	}

	/* The kernel refuses one rule of the swap: its error is the answer. */
	fakenl_reset();
	refuse = refuse_rule9;
	r = compat_patch_rules(nl);
	refuse = NULL;
	CHECK_EQ(r, -EINVAL, "one rule refused: its error");

	/* The kernel refuses the swap (no nft_compat): the error passed up. */
	fakenl_reset();
	batch_begin_error = -EOPNOTSUPP;
	r = compat_patch_rules(nl);
	batch_begin_error = 0;
	CHECK_EQ(r, -EOPNOTSUPP, "the swap refused: the kernel's error");
	fakenl_kernel = NULL;
}

int main(void)
{
	struct nl nl;

	/* A real socket (no privilege needed to open and bind one); the fake carries the bytes. */
	int r = nl_open(&nl);
	CHECK(r == 0, "nl_open: %d", r);
	if (r < 0)
		return tap_done();
	test_batch_talk(&nl);
	test_commit(&nl);
	test_dump(&nl);
	test_lookup(&nl);
	test_ages(&nl);
	test_table(&nl);
	test_queues(&nl);
	test_compat_patch(&nl);
	nl_close(&nl);
	nl_close(&nl); /* twice is harmless */
	fakenl_reset();
	return tap_done();
}
