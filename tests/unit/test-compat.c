/* test-compat.c - queue statements become placeholders; placeholders decode back. */
#include <errno.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include "nft/compat.h"
#include "tap.h"

static void rewrites(const char *in, const char *want_sub, unsigned want_n)
{
	char *out = NULL, err[256] = "";
	unsigned n = 99;
	int r = compat_rewrite(in, &out, &n, err, sizeof(err));
	CHECK(r == 0 && n == want_n && strstr(out, want_sub), "rewrite \"%s\" -> \"%s\" (%u)", in, r == 0 ? out : err, n);
	free(out);
}

static char *placeholder(uint16_t num, uint16_t total, uint16_t flags)
{
	static char buf[160];
	uint64_t p, b;
	compat_encode(&(struct compat_queue){ num, total, flags }, &p, &b);
	snprintf(buf, sizeof(buf), "counter packets %llu bytes %llu %s", (unsigned long long)p, (unsigned long long)b,
		 flags & NFQ_FLAG_BYPASS ? "accept" : "drop");
	return buf;
}

int main(void)
{
	struct compat_queue q;
	uint64_t p, b;

	compat_encode(&(struct compat_queue){ 7, 3, NFQ_FLAG_BYPASS | NFQ_FLAG_CPU_FANOUT }, &p, &b);
	CHECK(compat_decode(p, b, &q) && q.num == 7 && q.total == 3 && q.flags == 3, "round trip");
	CHECK(compat_decode(p + 1000, b + 1500000, &q) && q.num == 7 && q.total == 3, "survives packets hitting it");
	CHECK(!compat_decode(0, 0, &q) && !compat_decode(12, 1000, &q), "ordinary counters are not placeholders");

	char want[256];
	snprintf(want, sizeof(want), "\t\t%s\n", placeholder(0, 2, 0));
	rewrites("\t\tqueue num 0-1\n", want, 1);
	rewrites("tcp dport 22 queue num 3 bypass\n", placeholder(3, 1, NFQ_FLAG_BYPASS), 1);
	rewrites("queue num 4-7 fanout,bypass;", placeholder(4, 4, 3), 1);
	rewrites("queue flags bypass to 1-3 comment \"q\"\n", placeholder(1, 3, 1), 1);
	rewrites("queue\n", placeholder(0, 1, 0), 1);
	rewrites("queue to 5 }", placeholder(5, 1, 0), 1);
	rewrites("chain queue { jump queue; }\n# queue num 9\nset x { comment \"queue num 9\"; }\n", "chain queue { jump queue; }", 0);
	rewrites("queue num 1\nqueue num 2 bypass\n", placeholder(2, 1, 1), 2);
	/* A statement before the queue is not a name ("counter name x" names counters). */
	snprintf(want, sizeof(want), "counter %s", placeholder(8, 2, 1));
	rewrites("counter queue num 8-9 bypass\n", want, 1);

	char *out = NULL, err[256];
	unsigned n;
	CHECK(compat_rewrite("queue to symhash mod 2\n", &out, &n, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "line 1"), "expression queue numbers refused: %s", err);
	CHECK(compat_rewrite("\n\nqueue num 9-3\n", &out, &n, err, sizeof(err)) == -EINVAL && strstr(err, "line 3"),
	      "reversed range refused with its line: %s", err);
	CHECK(compat_rewrite("queue num 1 flags frobnicate\n", &out, &n, err, sizeof(err)) == -EINVAL, "unknown flag refused");

	/* Line numbers of the rest of the file are unchanged, so nft's errors still point right. */
	const char *in = "table inet t {\n chain c {\n  queue num 0\n  bogus\n }\n}\n";
	CHECK(compat_rewrite(in, &out, &n, err, sizeof(err)) == 0, "multi-line");
	int lines = 0;
	for (const char *c = out; *c; c++)
		lines += *c == '\n';
	CHECK(lines == 6 && strstr(out, "\n  bogus\n"), "same number of lines");
	free(out);
	return tap_done();
}
