/* setlookup.c - see setlookup.h. Requests outside a transaction: nfnetlink hands each message
 * of a datagram to nf_tables in turn (netlink_rcv_skb), and each answers with its element
 * (NEWSETELEM) or set (NEWSET), then an ack or an error carrying the request's sequence. */
#include "nft/setlookup.h"

#include <errno.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>

#include "nft/setelem.h"

#define MSG_ROOM 256 /* one question: headers, table and set names, one key; well under this */
#define SETS_MAX 4   /* distinct sets per call */

/* One message of the datagram and what came back for it. */
struct slot {
	int set;       /* index in sets[] */
	ssize_t query; /* -1 for the question about the set itself */
	bool done;
};

struct lookup {
	struct nftset_query *q;
	const char *sets[SETS_MAX];
	uint64_t set_timeout[SETS_MAX];
	size_t nsets;
	struct slot slot[SETS_MAX + NFTSET_LOOKUP_MAX];
	size_t nslots, left;
	uint32_t first;
};

static struct nlmsghdr *put_question(struct mnl_nlmsg_batch *b, const char *set, const struct nfs_addr *key,
				     uint32_t seq)
{
	struct nlmsghdr *nlh;

	if (!key) {
		nlh = nftset_request(mnl_nlmsg_batch_current(b), NFT_MSG_GETSET, NLM_F_ACK, set, seq);
		return nlh && mnl_nlmsg_batch_next(b) ? nlh : NULL;
	}
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *el = nftnl_set_elem_alloc();
	if (!s || !el) {
		if (el)
			nftnl_set_elem_free(el);
		if (s)
			nftnl_set_free(s);
		return NULL;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTSET_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key->a, (uint32_t)nfs_addr_len(key));
	nftnl_set_elem_add(s, el); /* @s owns @el */
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_ACK, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return mnl_nlmsg_batch_next(b) ? nlh : NULL;
}

/* The set's own timeout from its NEWSET message into @timeout_ms (left alone if it has none). */
static void parse_set_timeout(const struct nlmsghdr *h, uint64_t *timeout_ms)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return;
	if (nftnl_set_nlmsg_parse(h, s) == 0 && nftnl_set_is_set(s, NFTNL_SET_TIMEOUT))
		*timeout_ms = nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT);
	nftnl_set_free(s);
}

static void got_set(struct lookup *l, const struct slot *sl, const struct nlmsghdr *h)
{
	parse_set_timeout(h, &l->set_timeout[sl->set]);
}

/* An element's age: its timeout (@timeout_ms, its own or the set's) minus the time it has left. */
static uint64_t elem_age(uint64_t timeout_ms, uint64_t expires_ms)
{
	return expires_ms < timeout_ms ? timeout_ms - expires_ms : 0;
}

static void got_elem(struct lookup *l, const struct slot *sl, const struct nlmsghdr *h)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftset_query *q = &l->q[sl->query];
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;

	if (!s)
		return;
	if (nftnl_set_elems_nlmsg_parse(h, s) < 0 || !(it = nftnl_set_elems_iter_create(s))) {
		nftnl_set_free(s);
		return;
	}
	el = nftnl_set_elems_iter_next(it);
	if (el) {
		/* An element whose timeout is the set's own carries none (the kernel leaves it out). */
		uint64_t timeout = nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_TIMEOUT)
					   ? nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_TIMEOUT)
					   : l->set_timeout[sl->set];
		uint64_t expires = nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_EXPIRATION)
					   ? nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_EXPIRATION)
					   : 0;
		q->found = true;
		q->age_ms = elem_age(timeout, expires);
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
}

/* The question @h answers, or NULL: not ours. */
static struct slot *slot_of(struct lookup *l, const struct nlmsghdr *h)
{
	if (h->nlmsg_seq < l->first || h->nlmsg_seq - l->first >= l->nslots)
		return NULL;
	return &l->slot[h->nlmsg_seq - l->first];
}

/* NLMSG_ERROR: the ack or the error that ends the answer to one question. */
static int answer_error_cb(const struct nlmsghdr *h, void *data)
{
	struct lookup *l = data;
	struct slot *sl = slot_of(l, h);

	if (!sl || h->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)) || sl->done)
		return MNL_CB_OK;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
	sl->done = true;
	l->left--;
	if (e->error == 0 || (e->error == -ENOENT && sl->query >= 0))
		return MNL_CB_OK; /* -ENOENT for an element: not in the set */
	if (sl->query >= 0) {
		l->q[sl->query].err = e->error;
		return MNL_CB_OK;
	}
	for (size_t i = 0; i < l->nslots; i++) /* the set itself is missing or refused */
		if (l->slot[i].set == sl->set && l->slot[i].query >= 0)
			l->q[l->slot[i].query].err = e->error;
	return MNL_CB_OK;
}

/* A set (for the question about the set) or an element (for a question about a key). */
static int answer_cb(const struct nlmsghdr *h, void *data)
{
	struct lookup *l = data;
	struct slot *sl = slot_of(l, h);

	if (!sl)
		return MNL_CB_OK;
	if (sl->query < 0 && h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSET))
		got_set(l, sl, h);
	else if (sl->query >= 0 && h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM))
		got_elem(l, sl, h);
	return MNL_CB_OK;
}

/* One datagram of answers. Every message is walked, errors included (libmnl's default would
 * stop at the first -ENOENT); seq 0: one sequence number per question, checked by slot_of();
 * portid 0: the socket only receives what is addressed to it. These are not dumps, so
 * NLM_F_DUMP_INTR, the one thing that would end the walk early, does not come. */
static void read_answers(struct lookup *l, const char *buf, size_t len)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = answer_error_cb };

	(void)mnl_cb_run2(buf, len, 0, 0, answer_cb, l, ctl, NLMSG_MIN_TYPE);
}

int nftset_lookup(struct nl *nl, struct nftset_query *q, size_t n)
{
	struct lookup *l;
	char *buf, *rbuf;
	size_t buflen = (SETS_MAX + n) * MSG_ROOM + 8192;
	int r = 0;

	if (n > NFTSET_LOOKUP_MAX)
		return -E2BIG;
	if (n == 0)
		return 0;
	/* On the heap, sized to the questions: a thread-local buffer for the largest burst would
	 * sit in every thread's static TLS. */
	l = calloc(1, sizeof(*l));
	buf = malloc(buflen);
	rbuf = malloc(NL_RECV_BUF);
	if (!l || !buf || !rbuf) {
		r = -ENOMEM;
		goto out;
	}
	l->q = q;
	/* The sets first: their own timeout is what their elements' ages are measured against,
	 * and an error there says the set is missing. Their answers come before the elements'. */
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		q[i].found = false;
		q[i].age_ms = 0;
		q[i].err = 0;
		while (k < l->nsets && strcmp(l->sets[k], q[i].set))
			k++;
		if (k == l->nsets) {
			if (l->nsets == SETS_MAX) {
				r = -E2BIG;
				goto out;
			}
			l->sets[l->nsets++] = q[i].set;
			l->slot[l->nslots++] = (struct slot){ .set = (int)k, .query = -1 };
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (strcmp(l->sets[k], q[i].set))
			k++;
		l->slot[l->nslots++] = (struct slot){ .set = (int)k, .query = (ssize_t)i };
	}

	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, buflen - 4096);
	l->first = nl->seq + 1;
	for (size_t s = 0; s < l->nslots; s++) {
		const struct slot *sl = &l->slot[s];
		if (!put_question(b, l->sets[sl->set], sl->query < 0 ? NULL : &q[sl->query].key, nl_next_seq(nl))) {
			mnl_nlmsg_batch_stop(b);
			r = -ENOMEM;
			goto out;
		}
	}
	l->left = l->nslots;
	if (mnl_socket_sendto(nl->sock, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0)
		r = -errno;
	mnl_nlmsg_batch_stop(b);
	while (r == 0 && l->left > 0) {
		ssize_t got = mnl_socket_recvfrom(nl->sock, rbuf, NL_RECV_BUF);
		if (got < 0)
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
		else
			read_answers(l, rbuf, (size_t)got);
	}
out:
	free(rbuf);
	free(buf);
	free(l);
	return r;
}

static int set_timeout_cb(const struct nlmsghdr *nlh, void *data)
{
	parse_set_timeout(nlh, data);
	return MNL_CB_OK;
}

struct ages_ctx {
	uint64_t set_timeout;
	void (*cb)(const struct nfs_addr *a, uint64_t age_ms, void *data);
	void *data;
};

static int ages_cb(const struct nftset_elem *e, void *data)
{
	struct ages_ctx *c = data;
	/* An element whose timeout is the set's own carries none (the kernel leaves it out). */
	c->cb(&e->addr, elem_age(e->timeout_ms ? e->timeout_ms : c->set_timeout, e->expires_ms), c->data);
	return 0;
}

int nftset_ages(struct nl *nl, const char *set, void (*cb)(const struct nfs_addr *a, uint64_t age_ms, void *data),
		void *data)
{
	char buf[NL_MSG_BUF];
	struct ages_ctx c = { .cb = cb, .data = data };
	/* The set first, for its own timeout: one message, answered by the set and an ack. */
	struct nlmsghdr *nlh = nftset_request(buf, NFT_MSG_GETSET, NLM_F_ACK, set, nl_next_seq(nl));
	int r;

	if (!nlh)
		return -ENOMEM;
	r = nl_dump(nl, nlh, set_timeout_cb, &c.set_timeout);
	return r < 0 ? r : nftset_dump(nl, set, ages_cb, &c);
}
