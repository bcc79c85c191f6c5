/* ban-commit - adds COUNT consecutive IPv4 addresses from FIRST to ban4 (table inet nfsentry)
 * through the ban writer's own nftset_commit(): transactions of BATCH elements (at most
 * NFTSET_BATCH_MAX, the writer's), each element exclusive and acked, a refused one taken out
 * and the rest sent again. For bench/ban-path.sh (bans per second through the batch path) and
 * bench/ban-scale.sh (filling the set). Links the daemon's static library; built by the
 * scripts.
 *
 * Usage: ban-commit [-b BATCH=256] [-t TIMEOUT_S=3600] FIRST COUNT
 * Prints "added N of COUNT elements in S s (R elements/s, B transactions)". */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nft/setelem.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct nftset_elem e[NFTSET_BATCH_MAX];
	static int res[NFTSET_BATCH_MAX];
	unsigned long batch = NFTSET_BATCH_MAX, timeout = 3600, count, batches = 0, added = 0;
	struct in_addr first;
	struct nl nl;
	int opt, r;

	while ((opt = getopt(argc, argv, "b:t:")) != -1) {
		switch (opt) {
		case 'b': batch = strtoul(optarg, NULL, 0); break;
		case 't': timeout = strtoul(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 || !inet_aton(argv[optind], &first) || !batch || batch > NFTSET_BATCH_MAX)
		goto usage;
	count = strtoul(argv[optind + 1], NULL, 0);
	if ((r = nl_open(&nl)) < 0) {
		fprintf(stderr, "nl_open: %s\n", strerror(-r));
		return 1;
	}
	uint32_t a0 = ntohl(first.s_addr);
	double t0 = now_s();
	for (unsigned long done = 0; done < count;) {
		size_t n = count - done < batch ? count - done : batch;
		for (size_t i = 0; i < n; i++) {
			uint32_t a = htonl(a0 + (uint32_t)(done + i));
			memset(&e[i], 0, sizeof(e[i]));
			e[i].addr.family = AF_INET;
			e[i].addr.plen = 32;
			memcpy(e[i].addr.a, &a, 4);
			e[i].timeout_ms = (uint64_t)timeout * 1000;
		}
		r = nftset_commit(&nl, NFT_MSG_NEWSETELEM, e, n, res);
		if (r < 0) {
			fprintf(stderr, "commit: %s\n", strerror(-r));
			nl_close(&nl);
			return 1;
		}
		added += (unsigned long)r;
		batches++;
		done += n;
	}
	double dt = now_s() - t0;
	nl_close(&nl);
	printf("added %lu of %lu elements in %.3f s (%.0f elements/s, %lu transactions)\n", added, count, dt,
	       added / dt, batches);
	return 0;
usage:
	fprintf(stderr, "usage: ban-commit [-b BATCH] [-t TIMEOUT_S] FIRST COUNT\n");
	return 2;
}
