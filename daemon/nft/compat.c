/* compat.c - see compat.h. The placeholder keeps the ruleset's meaning between the load and
 * the swap: a fail-closed queue with no reader drops, a bypass queue accepts. */
#include "nft/compat.h"

#include <ctype.h>
#include <errno.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_P 0x4e46ULL /* "NF" in packets[63:48]; queue num in [47:32]; [31:0] slack */
#define MAGIC_B 0x51ULL   /* "Q" in bytes[63:56]; flags in [55:48]; total in [47:32] */

void compat_encode(const struct compat_queue *q, uint64_t *packets, uint64_t *bytes)
{
	*packets = MAGIC_P << 48 | (uint64_t)q->num << 32;
	*bytes = MAGIC_B << 56 | (uint64_t)(q->flags & 0xff) << 48 | (uint64_t)q->total << 32;
}

bool compat_decode(uint64_t packets, uint64_t bytes, struct compat_queue *q)
{
	if (packets >> 48 != MAGIC_P || bytes >> 56 != MAGIC_B)
		return false;
	q->num = (uint16_t)(packets >> 32);
	q->flags = (uint16_t)((bytes >> 48) & 0xff);
	q->total = (uint16_t)(bytes >> 32);
	return q->total >= 1 && (uint32_t)q->num + q->total <= 65536;
}

/* --- text rewrite ------------------------------------------------------------------------ */

struct tok {
	const char *p;
	size_t n;
};

static bool tok_is(const struct tok *t, const char *s)
{
	return t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

/* Next word or punctuation on the same statement; skips blanks and "\\\n". Stops (n == 0) at
 * newline, ';', '}', '#' or end of text. */
static struct tok next_tok(const char *p)
{
	struct tok t = { p, 0 };
	while (*p == ' ' || *p == '\t' || (*p == '\\' && p[1] == '\n'))
		p += *p == '\\' ? 2 : 1;
	t.p = p;
	if (!*p || *p == '\n' || *p == ';' || *p == '}' || *p == '#')
		return t;
	if (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == ',' || *p == '$') {
		while (isalnum((unsigned char)p[t.n]) || p[t.n] == '_' || p[t.n] == '-' || p[t.n] == ',' ||
		       p[t.n] == '$')
			t.n++;
	} else {
		t.n = 1;
	}
	return t;
}

static int parse_range(const struct tok *t, struct compat_queue *q)
{
	char buf[32], *end;
	unsigned long a, b;

	if (t->n == 0 || t->n >= sizeof(buf) || !isdigit((unsigned char)t->p[0]))
		return -EINVAL;
	memcpy(buf, t->p, t->n);
	buf[t->n] = '\0';
	a = strtoul(buf, &end, 10);
	b = a;
	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (*end || a > 65535 || b > 65535 || b < a)
		return -EINVAL;
	q->num = (uint16_t)a;
	q->total = (uint16_t)(b - a + 1);
	return 0;
}

static int parse_flags(const struct tok *t, struct compat_queue *q)
{
	const char *p = t->p, *end = t->p + t->n;
	while (p < end) {
		size_t n = strcspn(p, ",");
		if (p + n > end)
			n = (size_t)(end - p);
		if (n == 6 && !memcmp(p, "bypass", 6))
			q->flags |= NFQ_FLAG_BYPASS;
		else if (n == 6 && !memcmp(p, "fanout", 6))
			q->flags |= NFQ_FLAG_CPU_FANOUT;
		else
			return -EINVAL;
		p += n + 1;
	}
	return 0;
}

/* Words after which "queue" is a name, not the statement. */
static bool names_follow(const struct tok *prev)
{
	static const char *const words[] = { "table", "chain", "set", "map", "jump", "goto", "flowtable",
					     "element", "ip", "ip6", "inet", "arp", "bridge", "netdev",
					     "define", "@", "$" };
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (tok_is(prev, words[i]))
			return true;
	return false;
}

int compat_rewrite(const char *text, char **out, unsigned *count, char *err, size_t errlen)
{
	size_t len = strlen(text), cap = len + 1024, o = 0;
	char *res = malloc(cap);
	unsigned line = 1, n = 0;
	struct tok prev = { "", 0 };
	const char *p = text;

	if (!res)
		return -ENOMEM;
	while (*p) {
		if (*p == '#') { /* comment to end of line */
			size_t k = strcspn(p, "\n");
			memcpy(res + o, p, k);
			o += k;
			p += k;
			continue;
		}
		if (*p == '"') { /* string: copy through the closing quote */
			size_t k = 1;
			while (p[k] && p[k] != '"' && p[k] != '\n')
				k++;
			if (p[k] == '"')
				k++;
			memcpy(res + o, p, k);
			o += k;
			p += k;
			prev = (struct tok){ "\"", 1 };
			continue;
		}
		struct tok t = next_tok(p);
		if (t.n == 0) { /* blank, newline or statement end: copy one char */
			if (t.p > p) {
				memcpy(res + o, p, (size_t)(t.p - p));
				o += (size_t)(t.p - p);
				line += (unsigned)(memchr(p, '\n', (size_t)(t.p - p)) != NULL);
				p = t.p;
				continue;
			}
			if (*p == '\n')
				line++;
			if (*p == '\n' || *p == ';' || *p == '}')
				prev = (struct tok){ "", 0 };
			res[o++] = *p++;
			continue;
		}
		/* copy leading blanks; strings and comments are handled at the top */
		memcpy(res + o, p, (size_t)(t.p - p));
		o += (size_t)(t.p - p);
		p = t.p;
		if (*p == '"' || *p == '#')
			continue;
		if (!tok_is(&t, "queue") || names_follow(&prev)) {
			memcpy(res + o, t.p, t.n);
			o += t.n;
			p = t.p + t.n;
			prev = t;
			continue;
		}
		/* A queue statement: read its arguments. */
		struct compat_queue q = { .num = 0, .total = 1, .flags = 0 };
		const char *s = t.p + t.n;
		for (;;) {
			struct tok a = next_tok(s);
			if (a.n == 0)
				break;
			if (tok_is(&a, "num") || tok_is(&a, "to")) {
				struct tok v = next_tok(a.p + a.n);
				if (parse_range(&v, &q) < 0) {
					snprintf(err, errlen,
						 "line %u: queue %.*s %.*s: only a number or a range can become an "
						 "NFQUEUE target", line, (int)a.n, a.p, (int)(v.n ? v.n : 1), v.p);
					free(res);
					return -EINVAL;
				}
				s = v.p + v.n;
			} else if (tok_is(&a, "flags")) {
				struct tok v = next_tok(a.p + a.n);
				if (parse_flags(&v, &q) < 0)
					goto bad_flag;
				s = v.p + v.n;
			} else if (parse_flags(&a, &q) == 0) {
				s = a.p + a.n;
			} else {
				break; /* e.g. a trailing comment "comment" keyword */
			}
			continue;
bad_flag:
			snprintf(err, errlen, "line %u: unknown queue flag", line);
			free(res);
			return -EINVAL;
		}
		uint64_t pk, by;
		char rep[128];
		compat_encode(&q, &pk, &by);
		int k = snprintf(rep, sizeof(rep), "counter packets %llu bytes %llu %s", (unsigned long long)pk,
				 (unsigned long long)by, (q.flags & NFQ_FLAG_BYPASS) ? "accept" : "drop");
		if (o + (size_t)k + (len - (size_t)(s - text)) + 1 > cap) {
			cap = o + (size_t)k + (len - (size_t)(s - text)) + 1024;
			char *nr = realloc(res, cap);
			if (!nr) {
				free(res);
				return -ENOMEM;
			}
			res = nr;
		}
		memcpy(res + o, rep, (size_t)k);
		o += (size_t)k;
		p = s;
		prev = (struct tok){ "drop", 4 };
		n++;
	}
	res[o] = '\0';
	*out = res;
	*count = n;
	return 0;
}

/* --- rule swap --------------------------------------------------------------------------- */

struct patch_ctx {
	struct mnl_nlmsg_batch *b;
	struct nl *nl;
	uint32_t first, last;
	int err;
};

/* If @r ends in [counter placeholder, immediate verdict], rewrites it in place. */
static bool rule_swap(struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e, *counter = NULL, *verdict = NULL, *last2 = NULL, *last = NULL;
	struct compat_queue q;

	if (!it)
		return false;
	while ((e = nftnl_expr_iter_next(it))) {
		last2 = last;
		last = e;
	}
	nftnl_expr_iter_destroy(it);
	if (!last2 || strcmp(nftnl_expr_get_str(last2, NFTNL_EXPR_NAME), "counter") ||
	    strcmp(nftnl_expr_get_str(last, NFTNL_EXPR_NAME), "immediate"))
		return false;
	counter = last2;
	verdict = last;
	if (!compat_decode(nftnl_expr_get_u64(counter, NFTNL_EXPR_CTR_PACKETS),
			   nftnl_expr_get_u64(counter, NFTNL_EXPR_CTR_BYTES), &q))
		return false;

	struct xt_NFQ_info_v3 *info = calloc(1, sizeof(*info));
	struct nftnl_expr *tg = nftnl_expr_alloc("target");
	if (!info || !tg) {
		free(info);
		nftnl_expr_free(tg);
		return false;
	}
	info->queuenum = q.num;
	info->queues_total = q.total;
	info->flags = q.flags;
	nftnl_expr_set_str(tg, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(tg, NFTNL_EXPR_TG_REV, 3);
	nftnl_expr_set(tg, NFTNL_EXPR_TG_INFO, info, sizeof(*info)); /* @tg owns @info */
	nftnl_rule_del_expr(counter);
	nftnl_expr_free(counter);
	nftnl_rule_del_expr(verdict);
	nftnl_expr_free(verdict);
	nftnl_rule_add_expr(r, tg); /* @r owns @tg */
	return true;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct patch_ctx *c = data;
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (rule_swap(r)) {
		/* Same family, table, chain and handle: NLM_F_REPLACE swaps the rule in place. */
		uint32_t seq = nl_next_seq(c->nl);
		if (!c->first)
			c->first = seq;
		c->last = seq;
		struct nlmsghdr *h = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(c->b), NFT_MSG_NEWRULE,
							    (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
							    NLM_F_REPLACE | NLM_F_ACK, seq);
		nftnl_rule_nlmsg_build_payload(h, r);
		if (!mnl_nlmsg_batch_next(c->b))
			c->err = -E2BIG; /* more placeholders than one megabyte of rules */
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int compat_patch_rules(struct nl *nl)
{
	char dump[NL_MSG_BUF];
	size_t cap = (1 << 20) + (64 << 10); /* limit plus slack for one oversized rule */
	char *buf = malloc(cap);
	struct patch_ctx c = { .nl = nl };
	struct nlmsghdr *req;
	int r;

	if (!buf)
		return -ENOMEM;
	c.b = mnl_nlmsg_batch_start(buf, 1 << 20);
	nftnl_batch_begin(mnl_nlmsg_batch_current(c.b), nl_next_seq(nl));
	mnl_nlmsg_batch_next(c.b);

	req = nftnl_nlmsg_build_hdr(dump, NFT_MSG_GETRULE, NFPROTO_UNSPEC, NLM_F_DUMP, nl_next_seq(nl));
	r = nl_dump(nl, req, rule_cb, &c);
	if (r == 0 && c.err)
		r = c.err;
	if (r == 0 && c.first) {
		size_t n = c.last - c.first + 1;
		int *errs = calloc(n, sizeof(*errs));
		nftnl_batch_end(mnl_nlmsg_batch_current(c.b), nl_next_seq(nl));
		mnl_nlmsg_batch_next(c.b);
		r = errs ? nl_batch_talk(nl, mnl_nlmsg_batch_head(c.b), mnl_nlmsg_batch_size(c.b), c.first, c.last, errs)
			 : -ENOMEM;
		for (size_t i = 0; r == 0 && i < n; i++)
			if (errs[i] < 0)
				r = errs[i];
		if (r == 0)
			r = (int)n;
		free(errs);
	}
	mnl_nlmsg_batch_stop(c.b);
	free(buf);
	return r;
}
