/* backend-nft.c - the ban writer's kernel backend: table inet nfsentry's sets over one
 * netfilter netlink socket (nft/). Each operation is one call of nft/; this file only
 * adapts them to the table of operations in backend.h. */
#include "ban/backend.h"

#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>

#include "nft/nl.h"
#include "nft/ruleset.h"

struct nft_backend {
	struct ban_backend b; /* first */
	struct nl nl;
};

static struct nl *nl_of(struct ban_backend *b)
{
	return &((struct nft_backend *)b)->nl;
}

static int nft_commit(struct ban_backend *b, enum ban_backend_verb verb, const struct nftset_elem *e, size_t n,
		      int *res)
{
	return nftset_commit(nl_of(b), verb == BAN_BACKEND_DEL ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM, e, n, res);
}

static int nft_swap(struct ban_backend *b, const struct nftset_elem *out, const struct nftset_elem *in, int res[2])
{
	return nftset_swap(nl_of(b), out, in, res);
}

static int nft_dump(struct ban_backend *b, const char *set, int (*cb)(const struct nftset_elem *e, void *data),
		    void *data)
{
	return nftset_dump(nl_of(b), set, cb, data);
}

static int nft_lookup(struct ban_backend *b, struct nftset_query *q, size_t n)
{
	return nftset_lookup(nl_of(b), q, n);
}

static int nft_ages(struct ban_backend *b, const char *set,
		    void (*cb)(const struct nfs_addr *a, uint64_t age_ms, void *data), void *data)
{
	return nftset_ages(nl_of(b), set, cb, data);
}

static int nft_table_handle(struct ban_backend *b, uint64_t *handle)
{
	return ruleset_table_handle(nl_of(b), handle);
}

static void nft_free(struct ban_backend *b)
{
	nl_close(nl_of(b));
	free(b);
}

static const struct ban_backend_ops nft_ops = {
	.commit = nft_commit,
	.swap = nft_swap,
	.dump = nft_dump,
	.lookup = nft_lookup,
	.ages = nft_ages,
	.table_handle = nft_table_handle,
	.free = nft_free,
};

int ban_backend_nft_new(struct ban_backend **out)
{
	struct nft_backend *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	n->b.ops = &nft_ops;
	r = nl_open(&n->nl);
	if (r < 0) {
		free(n);
		return r;
	}
	*out = &n->b;
	return 0;
}
