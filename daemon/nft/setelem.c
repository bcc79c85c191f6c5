/* setelem.c - set elements over libnftnl, after libnftnl's examples/nft-set-elem-add.c and
 * OpenBSD bgpd's pftable.c (batch, read every ack, survive one bad entry). */
#include "nft/setelem.h"

#include <errno.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* End of the interval that covers prefix @p: p + 2^(bits - plen), in its family's length.
 * Returns false when the prefix runs to the top of the address space (then there is no end
 * element, as nft does). */
static bool prefix_end(const struct nfs_addr *p, uint8_t out[16])
{
	unsigned bits = (unsigned)nfs_addr_len(p) * 8, bit = bits - p->plen; /* add 1 << bit */
	int carry;

	memcpy(out, p->a, 16);
	if (bit >= bits)
		return false;
	int byte = (int)(bits / 8) - 1 - (int)(bit / 8);
	unsigned add = 1u << (bit % 8);
	for (int i = byte; i >= 0; i--) {
		unsigned v = out[i] + add;
		out[i] = (uint8_t)v;
		carry = v > 0xff;
		if (!carry)
			return true;
		add = 1;
	}
	return false;
}

int nftset_batch_add(struct mnl_nlmsg_batch *b, uint16_t type, const struct nftset_elem *e, uint32_t seq)
{
	struct nftnl_set *s;
	struct nftnl_set_elem *el;
	struct nlmsghdr *nlh;
	uint8_t end[16];

	const char *set = nftset_elem_set(e);
	/* the hash sets hold addresses; the others are interval sets */
	bool interval = strcmp(set, NFTSET_BAN4) && strcmp(set, NFTSET_FLEET4) && strcmp(set, NFTSET_FLEET6);

	s = nftnl_set_alloc();
	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTSET_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);

	el = nftnl_set_elem_alloc();
	if (!el)
		goto oom;
	nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e->addr.a, (uint32_t)nfs_addr_len(&e->addr));
	if (e->timeout_ms && type == NFT_MSG_NEWSETELEM)
		nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_TIMEOUT, e->timeout_ms);
	/* A restored ban keeps its original timeout and expires when it would have. */
	if (e->expires_ms && e->expires_ms < e->timeout_ms && type == NFT_MSG_NEWSETELEM)
		nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_EXPIRATION, e->expires_ms);
	nftnl_set_elem_add(s, el); /* @s owns @el from here */

	/* ban6 and the bannet sets are interval sets (rbtree): a prefix is a start element plus
	 * an end element flagged INTERVAL_END one past its last address. The kernel expires the
	 * pair through the start element's timeout. */
	if (interval && prefix_end(&e->addr, end)) {
		el = nftnl_set_elem_alloc();
		if (!el)
			goto oom;
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, end, (uint32_t)nfs_addr_len(&e->addr));
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		nftnl_set_elem_add(s, el);
	}
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type, NFPROTO_INET,
				    (type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_EXCL : 0) | NLM_F_ACK, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	/* false: past the batch's limit; the message stays out of it (the buffer has slack). */
	return mnl_nlmsg_batch_next(b) ? 0 : -ENOSPC;
oom:
	nftnl_set_free(s);
	return -ENOMEM;
}

/* Room for NFTSET_BATCH_MAX elements: 2 pages per element is far more than needed; a fixed
 * buffer per thread keeps a commit allocation-free. */
static _Thread_local char txn_buf[NFTSET_BATCH_MAX * 512 + 8192];

/* Opens a transaction (NFNL_MSG_BATCH_BEGIN) in txn_buf. @first gets the sequence number of
 * the first message to come. */
static struct mnl_nlmsg_batch *txn_begin(struct nl *nl, uint32_t *first)
{
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(txn_buf, sizeof(txn_buf) - 4096);

	nftnl_batch_begin(mnl_nlmsg_batch_current(b), nl_next_seq(nl));
	mnl_nlmsg_batch_next(b);
	*first = nl->seq + 1;
	return b;
}

/* Closes the transaction of @m messages from @first, sends it (unless empty) and reads every
 * ack into @errs. Returns 0 or -errno when the conversation failed. Frees @b. */
static int txn_end(struct nl *nl, struct mnl_nlmsg_batch *b, uint32_t first, size_t m, int *errs)
{
	int r = 0;

	nftnl_batch_end(mnl_nlmsg_batch_current(b), nl_next_seq(nl));
	mnl_nlmsg_batch_next(b);
	if (m > 0)
		r = nl_batch_talk(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b), first, first + (uint32_t)m - 1,
				  errs);
	mnl_nlmsg_batch_stop(b);
	return r;
}

int nftset_commit(struct nl *nl, uint16_t type, const struct nftset_elem *e, size_t n, int *res)
{
	int errs[NFTSET_BATCH_MAX];
	size_t idx[NFTSET_BATCH_MAX];
	bool pending[NFTSET_BATCH_MAX];
	size_t left = n, applied = 0;

	if (n > NFTSET_BATCH_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		res[i] = 0;
		pending[i] = true;
	}
	/* Each round either applies everything pending or removes at least one refused element. */
	while (left > 0) {
		uint32_t first, seq;
		struct mnl_nlmsg_batch *b = txn_begin(nl, &first);
		size_t m = 0;
		int r;

		for (size_t i = 0; i < n; i++) {
			if (!pending[i])
				continue;
			seq = nl_next_seq(nl);
			r = nftset_batch_add(b, type, &e[i], seq);
			if (r < 0) {
				/* Not sent: give the sequence number back so acks line up. */
				nl->seq--;
				res[i] = r;
				pending[i] = false;
				left--;
				continue;
			}
			idx[m++] = i;
		}
		r = txn_end(nl, b, first, m, errs);
		if (r < 0)
			return r;
		if (m == 0)
			break;
		bool refused = false;
		for (size_t k = 0; k < m; k++) {
			if (errs[k] < 0) {
				res[idx[k]] = errs[k];
				pending[idx[k]] = false;
				left--;
				refused = true;
			}
		}
		if (!refused) { /* committed */
			applied += m;
			break;
		}
	}
	return (int)applied;
}

int nftset_swap(struct nl *nl, const struct nftset_elem *out, const struct nftset_elem *in, int res[2])
{
	uint32_t first;
	struct mnl_nlmsg_batch *b = txn_begin(nl, &first);
	int r = nftset_batch_add(b, NFT_MSG_DELSETELEM, out, nl_next_seq(nl));

	if (r == 0)
		r = nftset_batch_add(b, NFT_MSG_NEWSETELEM, in, nl_next_seq(nl));
	if (r < 0) {
		nl->seq = first - 1; /* nothing sent: the numbers go back */
		txn_end(nl, b, first, 0, res);
		return r;
	}
	r = txn_end(nl, b, first, 2, res);
	if (r < 0)
		return r;
	return res[0] < 0 ? res[0] : res[1] < 0 ? res[1] : 0;
}

struct raw {
	uint8_t key[16];
	bool end;
	uint64_t timeout, expires;
};

struct dump_ctx {
	int (*cb)(const struct nftset_elem *e, void *data);
	void *data;
	bool v6, interval, net, fleet;
	/* interval sets: collected and paired after the dump */
	size_t n, cap;
	struct raw *raw;
	int err;
};

static int elem_cb(struct nftnl_set_elem *el, void *data)
{
	struct dump_ctx *d = data;
	uint32_t klen = 0;
	const void *key = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &klen);

	/* An address set (ban4, active4, active6) holds either family: the key's length says which. */
	if (!key || (d->interval ? klen != (d->v6 ? 16u : 4u) : klen != 4u && klen != 16u))
		return 0; /* not ours to interpret */
	struct raw r = { .end = nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_FLAGS) &&
				(nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END) };
	memcpy(r.key, key, klen);
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_TIMEOUT))
		r.timeout = nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_TIMEOUT);
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_EXPIRATION))
		r.expires = nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_EXPIRATION);
	if (!d->interval) {
		bool v4 = klen == 4;
		struct nftset_elem e = { .addr = { .family = v4 ? AF_INET : AF_INET6, .plen = v4 ? 32 : 128 },
					 .fleet = d->fleet, .timeout_ms = r.timeout, .expires_ms = r.expires };
		memcpy(e.addr.a, r.key, klen);
		return d->cb(&e, d->data) < 0 ? -1 : 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct raw *nr = realloc(d->raw, cap * sizeof(*nr));
		if (!nr) {
			d->err = -ENOMEM;
			return -1;
		}
		d->raw = nr;
		d->cap = cap;
	}
	d->raw[d->n++] = r;
	return 0;
}

static int set_elems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	struct nftnl_set *s = nftnl_set_alloc();
	int r = MNL_CB_OK;

	/* nl_dump() returns -errno for MNL_CB_ERROR: say why, or a stale errno is the answer. */
	if (!s) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		errno = EBADMSG;
		r = MNL_CB_ERROR;
	} else if (nftnl_set_elem_foreach(s, elem_cb, d) < 0) {
		errno = d->err ? -d->err : ECANCELED; /* out of memory, or the caller's callback said stop */
		r = MNL_CB_ERROR;
	}
	nftnl_set_free(s);
	return r;
}

/* By key; at equal keys an end sorts first, so adjacent prefixes pair up correctly. */
static int raw_cmp(const void *a, const void *b)
{
	const struct raw *x = a, *y = b;
	int c = memcmp(x->key, y->key, 16);
	return c ? c : (int)y->end - (int)x->end;
}

/* Pairs each interval start with the smallest end above it and names the prefix that spans
 * them (the largest aligned prefix starting there, if an admin added an odd range). */
static int fold_intervals(struct dump_ctx *d)
{
	if (d->n) /* an empty set leaves raw NULL, which qsort() must not be given (UBSan) */
		qsort(d->raw, d->n, sizeof(*d->raw), raw_cmp);
	for (size_t i = 0; i < d->n; i++) {
		if (d->raw[i].end)
			continue;
		struct nftset_elem e = { .addr = { .family = d->v6 ? AF_INET6 : AF_INET, .plen = d->v6 ? 128 : 32 },
					 .net = d->net, .fleet = d->fleet, .timeout_ms = d->raw[i].timeout,
					 .expires_ms = d->raw[i].expires };
		memcpy(e.addr.a, d->raw[i].key, 16);
		const uint8_t *end = NULL;
		for (size_t j = i + 1; j < d->n; j++) {
			if (d->raw[j].end) {
				end = d->raw[j].key;
				break;
			}
		}
		/* Shortest prefix starting at key whose end does not pass @end. */
		for (unsigned plen = 0; plen <= e.addr.plen; plen++) {
			struct nfs_addr p = nfs_addr_prefix(&e.addr, plen);
			uint8_t pe[16];
			if (memcmp(p.a, e.addr.a, 16) != 0)
				continue;
			bool has_end = prefix_end(&p, pe);
			if (end ? (has_end && memcmp(pe, end, 16) <= 0) : !has_end) {
				e.addr.plen = (uint8_t)plen;
				break;
			}
		}
		if (d->cb(&e, d->data) < 0)
			return -ECANCELED;
	}
	return 0;
}

struct nlmsghdr *nftset_request(char *buf, uint16_t type, uint16_t flags, const char *set, uint32_t seq)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTSET_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, seq);
	if (type == NFT_MSG_GETSET)
		nftnl_set_nlmsg_build_payload(nlh, s);
	else
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nlh;
}

int nftset_dump(struct nl *nl, const char *set, int (*cb)(const struct nftset_elem *e, void *data), void *data)
{
	char buf[NL_MSG_BUF];
	bool fleetnet = !strcmp(set, NFTSET_FLEETNET4) || !strcmp(set, NFTSET_FLEETNET6);
	bool net = !strcmp(set, NFTSET_BANNET4) || !strcmp(set, NFTSET_BANNET6) || fleetnet;
	struct dump_ctx d = { .cb = cb, .data = data,
			      .v6 = !strcmp(set, NFTSET_BAN6) || !strcmp(set, NFTSET_BANNET6) || !strcmp(set, NFTSET_FLEETNET6),
			      .interval = !strcmp(set, NFTSET_BAN6) || net, .net = net,
			      .fleet = fleetnet || !strcmp(set, NFTSET_FLEET4) || !strcmp(set, NFTSET_FLEET6) };
	struct nlmsghdr *nlh = nftset_request(buf, NFT_MSG_GETSETELEM, NLM_F_DUMP | NLM_F_ACK, set, nl_next_seq(nl));
	int r;

	if (!nlh)
		return -ENOMEM;
	r = nl_dump(nl, nlh, set_elems_cb, &d);
	if (r == 0 && d.err)
		r = d.err;
	if (r == 0 && d.interval)
		r = fold_intervals(&d);
	free(d.raw);
	return r;
}

static int decl_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftset_decl *d = data;
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) == 0) {
		if (nftnl_set_is_set(s, NFTNL_SET_FLAGS))
			d->flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
		/* nf_tables sends the policy only when it is not the default, performance */
		if (nftnl_set_is_set(s, NFTNL_SET_POLICY))
			d->policy = nftnl_set_get_u32(s, NFTNL_SET_POLICY);
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

int nftset_decl_read(struct nl *nl, const char *set, struct nftset_decl *out)
{
	char buf[NL_MSG_BUF];
	struct nlmsghdr *nlh = nftset_request(buf, NFT_MSG_GETSET, NLM_F_ACK, set, nl_next_seq(nl));

	*out = (struct nftset_decl){ .policy = NFT_SET_POL_PERFORMANCE };
	return nlh ? nl_dump(nl, nlh, decl_cb, out) : -ENOMEM;
}
