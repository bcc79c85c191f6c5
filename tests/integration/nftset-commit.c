/* nftset-commit - commits set elements through the ban writer's own nftset_commit(), in one
 * call, and prints each element's outcome. For test-batch-refusal.sh and
 * test-batch-header-refusal.sh.
 * Usage: nftset-commit ADDRESS[/PREFIX]... (timeout 10 minutes each) */
#include <stdio.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "nft/setelem.h"

int main(int argc, char **argv)
{
	struct nftset_elem e[NFTSET_BATCH_MAX];
	int res[NFTSET_BATCH_MAX], n = argc - 1, r;
	struct nl nl;

	if (n < 1 || n > NFTSET_BATCH_MAX)
		return 2;
	for (int i = 0; i < n; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		if (nfs_addr_parse(argv[i + 1], false, &e[i].addr) < 0) {
			fprintf(stderr, "bad address %s\n", argv[i + 1]);
			return 2;
		}
		e[i].timeout_ms = 600000;
	}
	if ((r = nl_open(&nl)) < 0) {
		fprintf(stderr, "nl_open: %s\n", strerror(-r));
		return 1;
	}
	r = nftset_commit(&nl, NFT_MSG_NEWSETELEM, e, (size_t)n, res);
	nl_close(&nl);
	if (r < 0) {
		fprintf(stderr, "commit: %s\n", strerror(-r));
		return 1;
	}
	for (int i = 0; i < n; i++)
		printf("%s %s\n", argv[i + 1], res[i] ? strerror(-res[i]) : "added");
	printf("applied %d\n", r);
	return 0;
}
