/* test-setelem.c - build NEWSETELEM messages, parse them back with libnftnl, compare
 * (libnftnl's own tests/ do the same). */
#include <errno.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft/setelem.h"
#include "tap.h"

struct seen {
	int n;
	uint8_t key[4][16];
	uint32_t klen[4], flags[4];
	uint64_t timeout[4];
};

static int elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct seen *s = data;
	if (s->n >= 4)
		return -1;
	const void *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &s->klen[s->n]);
	memcpy(s->key[s->n], k, s->klen[s->n]);
	s->flags[s->n] = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) ? nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) : 0;
	s->timeout[s->n] = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT) ? nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT) : 0;
	s->n++;
	return 0;
}

/* libnftnl numbers the elements of a list 1, 2, ... when it builds one, but its parser accepts
 * only type NFTA_LIST_ELEM (the kernel ignores the type). Renumber a copy before parsing. */
static const struct nlmsghdr *normalise(const struct nlmsghdr *in)
{
	static char copy[8192];
	struct nlmsghdr *nlh = (struct nlmsghdr *)copy;
	struct nlattr *attr, *elem;
	memcpy(copy, in, in->nlmsg_len);
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(elem, attr) elem->nla_type = (elem->nla_type & ~NLA_TYPE_MASK) | NFTA_LIST_ELEM;
	}
	return nlh;
}

/* Parses message @nlh back; checks type, seq, family, table and set. */
static struct seen parse(const struct nlmsghdr *nlh, uint16_t type, uint32_t seq, const char *set)
{
	struct seen s = { 0 };
	struct nftnl_set *ns = nftnl_set_alloc();
	CHECK(NFNL_MSG_TYPE(nlh->nlmsg_type) == type && nlh->nlmsg_seq == seq && (nlh->nlmsg_flags & NLM_F_ACK),
	      "message type %u, seq %u, ack requested", type, seq);
	CHECK(nftnl_set_elems_nlmsg_parse(normalise(nlh), ns) == 0, "libnftnl parses it");
	CHECK_STR(nftnl_set_get_str(ns, NFTNL_SET_TABLE), "nfsentry", "table");
	CHECK_STR(nftnl_set_get_str(ns, NFTNL_SET_NAME), set, "set");
	CHECK(nftnl_set_get_u32(ns, NFTNL_SET_FAMILY) == NFPROTO_INET, "family inet");
	nftnl_set_elem_foreach(ns, elem_cb, &s);
	nftnl_set_free(ns);
	return s;
}

int main(void)
{
	static char buf[1 << 16];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	struct nftset_elem v4 = { .addr = { .family = AF_INET, .plen = 32, .a = { 198, 51, 100, 2 } }, .timeout_ms = 600000 };
	struct nftset_elem v6 = { .addr = { .family = AF_INET6, .plen = 64, .a = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2 } },
				  .timeout_ms = 2400000 };
	struct nftset_elem v6top = { .addr = { .family = AF_INET6, .plen = 64 }, .timeout_ms = 1000 };
	memset(v6top.addr.a, 0xff, 8);
	struct nftset_elem v6odd = { .addr = { .family = AF_INET6, .plen = 61, .a = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0x08 } } };
	/* Distributed scans: prefix bans in their own interval sets. */
	struct nftset_elem net4 = { .addr = { .family = AF_INET, .plen = 24, .a = { 10, 0, 0, 0 } }, .net = true,
				    .timeout_ms = 1000 };
	struct nftset_elem net6 = { .addr = { .family = AF_INET6, .plen = 48, .a = { 0x20, 0x01, 0x0d, 0xb8, 0, 7 } },
				    .net = true, .timeout_ms = 1000 };
	struct nftset_elem top4 = { .addr = { .family = AF_INET, .plen = 24, .a = { 255, 255, 255, 0 } }, .net = true };
	/* The fleet's: addresses in hash sets, ranges in interval sets, apart from this host's bans. */
	struct nftset_elem fl4 = { .addr = { .family = AF_INET, .plen = 32, .a = { 203, 0, 113, 5 } }, .fleet = true,
				   .timeout_ms = 60000 };
	struct nftset_elem fl6 = { .addr = { .family = AF_INET6, .plen = 128, .a = { 0x20, 0x01, 0x0d, 0xb8, 0, 8 } },
				   .fleet = true, .timeout_ms = 60000 };
	struct nftset_elem fln4 = { .addr = { .family = AF_INET, .plen = 16, .a = { 203, 0 } }, .fleet = true,
				    .net = true, .timeout_ms = 60000 };
	struct nftset_elem fln6 = { .addr = { .family = AF_INET6, .plen = 48, .a = { 0x20, 0x01, 0x0d, 0xb8, 0, 7 } },
				    .fleet = true, .timeout_ms = 60000 };

	CHECK(nftset_batch_add(b, NFT_MSG_NEWSETELEM, &v4, 101) == 0, "add IPv4");
	CHECK(nftset_batch_add(b, NFT_MSG_NEWSETELEM, &v6, 102) == 0, "add IPv6 prefix");
	CHECK(nftset_batch_add(b, NFT_MSG_NEWSETELEM, &v6top, 103) == 0, "add IPv6 prefix at the top");
	CHECK(nftset_batch_add(b, NFT_MSG_DELSETELEM, &v6odd, 104) == 0, "delete IPv6 /61");
	CHECK(nftset_batch_add(b, NFT_MSG_NEWSETELEM, &net4, 105) == 0, "add an IPv4 prefix ban");
	CHECK(nftset_batch_add(b, NFT_MSG_NEWSETELEM, &net6, 106) == 0, "add an IPv6 prefix ban");
	CHECK(nftset_batch_add(b, NFT_MSG_NEWSETELEM, &top4, 107) == 0, "add the top IPv4 /24");
	CHECK(nftset_batch_add(b, NFT_MSG_NEWSETELEM, &fl4, 108) == 0 && nftset_batch_add(b, NFT_MSG_NEWSETELEM, &fl6, 109) == 0 &&
	      nftset_batch_add(b, NFT_MSG_NEWSETELEM, &fln4, 110) == 0 && nftset_batch_add(b, NFT_MSG_DELSETELEM, &fln6, 111) == 0,
	      "add the fleet's address and ranges, delete one");

	const struct nlmsghdr *nlh = mnl_nlmsg_batch_head(b);
	int left = (int)mnl_nlmsg_batch_size(b);
	struct seen s = parse(nlh, NFT_MSG_NEWSETELEM, 101, "ban4");
	CHECK(s.n == 1 && s.klen[0] == 4 && !memcmp(s.key[0], v4.addr.a, 4) && s.timeout[0] == 600000 && s.flags[0] == 0,
	      "ban4 element: key and timeout");
	CHECK((nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL), "NEWSETELEM creates, exclusively");

	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_NEWSETELEM, 102, "ban6");
	uint8_t end[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 3 };
	CHECK(s.n == 2, "a prefix is two elements");
	CHECK(s.klen[0] == 16 && !memcmp(s.key[0], v6.addr.a, 16) && s.timeout[0] == 2400000 && s.flags[0] == 0,
	      "interval start carries the timeout");
	CHECK(!memcmp(s.key[1], end, 16) && s.flags[1] == NFT_SET_ELEM_INTERVAL_END, "interval end is prefix + 2^64");

	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_NEWSETELEM, 103, "ban6");
	CHECK(s.n == 1, "a prefix reaching the top of the address space has no end element");

	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_DELSETELEM, 104, "ban6");
	uint8_t end61[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0x10 };
	CHECK(s.n == 2 && !memcmp(s.key[1], end61, 16) && s.timeout[0] == 0, "/61 ends 2^67 later; deletes carry no timeout");
	CHECK(!(nlh->nlmsg_flags & NLM_F_CREATE), "DELSETELEM does not create");

	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_NEWSETELEM, 105, "bannet4");
	uint8_t end24[4] = { 10, 0, 1, 0 };
	CHECK(s.n == 2 && s.klen[0] == 4 && !memcmp(s.key[0], net4.addr.a, 4) && s.timeout[0] == 1000 &&
	      s.klen[1] == 4 && !memcmp(s.key[1], end24, 4) && s.flags[1] == NFT_SET_ELEM_INTERVAL_END,
	      "an IPv4 /24 goes in bannet4 as 10.0.0.0 up to 10.0.1.0");
	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_NEWSETELEM, 106, "bannet6");
	uint8_t end48[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 8 };
	CHECK(s.n == 2 && !memcmp(s.key[1], end48, 16), "an IPv6 /48 prefix ban goes in bannet6, not ban6");
	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_NEWSETELEM, 107, "bannet4");
	CHECK(s.n == 1, "255.255.255.0/24 reaches the top: no end element");
	CHECK(!strcmp(nftset_elem_set(&(struct nftset_elem){ .addr = v4.addr }), "ban4") &&
	      !strcmp(nftset_elem_set(&(struct nftset_elem){ .addr = v6.addr }), "ban6"), "hosts and /64s stay in ban4 and ban6");
	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_NEWSETELEM, 108, "fleet4");
	CHECK(s.n == 1 && s.klen[0] == 4 && s.timeout[0] == 60000 && s.flags[0] == 0,
	      "a fleet address goes in fleet4, a hash set: one element, no interval end");
	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_NEWSETELEM, 109, "fleet6");
	CHECK(s.n == 1 && s.klen[0] == 16, "a fleet IPv6 address goes in fleet6, one element");
	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_NEWSETELEM, 110, "fleetnet4");
	uint8_t end16[4] = { 203, 1, 0, 0 };
	CHECK(s.n == 2 && !memcmp(s.key[1], end16, 4) && s.flags[1] == NFT_SET_ELEM_INTERVAL_END,
	      "a fleet /16 goes in fleetnet4 as 203.0.0.0 up to 203.1.0.0");
	nlh = mnl_nlmsg_next(nlh, &left);
	s = parse(nlh, NFT_MSG_DELSETELEM, 111, "fleetnet6");
	CHECK(s.n == 2, "a fleet IPv6 range (net unset: its length says) is deleted from fleetnet6");
	CHECK(!strcmp(nftset_elem_set(&(struct nftset_elem){ .addr = fl4.addr, .net = true, .fleet = true }),
		      "fleetnet4") && !strcmp(nftset_elem_set(&(struct nftset_elem){ .addr = fl4.addr }), "ban4"),
	      "the fleet flag alone decides between this host's sets and the fleet's");
	nlh = mnl_nlmsg_next(nlh, &left);
	CHECK(!mnl_nlmsg_ok(nlh, left), "nothing else in the batch");

	mnl_nlmsg_batch_stop(b);

	/* Filling a batch: past the limit the builder says so and the batch stays well formed. */
	int added = 0, r = 0;
	b = mnl_nlmsg_batch_start(buf, 4096);
	while ((r = nftset_batch_add(b, NFT_MSG_NEWSETELEM, &v6, 200 + (uint32_t)added)) == 0)
		added++;
	CHECK(r == -ENOSPC && added > 5 && mnl_nlmsg_batch_size(b) <= 4096, "full batch: %d messages, then -ENOSPC", added);
	mnl_nlmsg_batch_stop(b);

	/* The questions of nftset_dump() and nftset_ages(): a set's elements, and the set itself. */
	static char req[NL_MSG_BUF];
	nlh = nftset_request(req, NFT_MSG_GETSETELEM, NLM_F_DUMP | NLM_F_ACK, "active6", 301);
	s = parse(nlh, NFT_MSG_GETSETELEM, 301, "active6");
	CHECK(s.n == 0 && (nlh->nlmsg_flags & NLM_F_DUMP), "a dump of active6's elements, none given");
	nlh = nftset_request(req, NFT_MSG_GETSET, NLM_F_ACK, "active4", 302);
	struct nftnl_set *ns = nftnl_set_alloc();
	CHECK(NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_GETSET && nlh->nlmsg_seq == 302 &&
	      !(nlh->nlmsg_flags & NLM_F_DUMP) && nftnl_set_nlmsg_parse(nlh, ns) == 0 &&
	      !strcmp(nftnl_set_get_str(ns, NFTNL_SET_TABLE), "nfsentry") &&
	      !strcmp(nftnl_set_get_str(ns, NFTNL_SET_NAME), "active4"),
	      "a question about set active4 itself (its timeout), in table inet nfsentry");
	nftnl_set_free(ns);
	return tap_done();
}
