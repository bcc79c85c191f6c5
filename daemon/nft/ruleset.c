/* ruleset.c - load through libnftables (nft's own parser, so files mean what they mean to
 * nft), and inspection through libnftnl. */
#include "nft/ruleset.h"

#include <errno.h>
#include <libgen.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nft/compat.h"
#include "nft/setelem.h"

#define RULESET_MAX_BYTES (16 << 20)

static const char probe_text[] =
	"table inet nfsentry_queue_probe {\n"
	"  chain c { type filter hook input priority 0; policy accept; queue num 0 bypass; }\n"
	"}\n";

/* Does the kernel have the nft queue expression? Asks it in a dry run (nothing commits). */
static bool kernel_has_nft_queue(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	bool ok;

	if (!ctx)
		return true; /* cannot tell: let the real load speak */
	nft_ctx_set_dry_run(ctx, true);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	ok = nft_run_cmd_from_buffer(ctx, probe_text) == 0;
	nft_ctx_free(ctx);
	return ok;
}

static int read_text(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *buf;

	if (!f) {
		int r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fileno(f), &st) < 0 || st.st_size > RULESET_MAX_BYTES) {
		fclose(f);
		snprintf(err, errlen, "%s: unreadable or larger than %d bytes", path, RULESET_MAX_BYTES);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	size_t n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		free(buf);
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		return -EINVAL;
	}
	*out = buf;
	return 0;
}

static void copy_nft_error(struct nft_ctx *ctx, char *err, size_t errlen)
{
	const char *e = nft_ctx_get_error_buffer(ctx);
	snprintf(err, errlen, "%s", e && *e ? e : "nft refused the ruleset");
	size_t n = strlen(err);
	while (n && err[n - 1] == '\n')
		err[--n] = '\0';
}

int ruleset_load(const char *path, char *err, size_t errlen)
{
	struct nft_ctx *ctx;
	char *text = NULL, *rewritten = NULL, *dir = NULL;
	unsigned converted = 0;
	int r;

	err[0] = '\0';
	r = read_text(path, &text, err, errlen);
	if (r < 0)
		return r;
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		free(text);
		return -ENOMEM;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	dir = strdup(path);
	if (dir)
		nft_ctx_add_include_path(ctx, dirname(dir));

	if (kernel_has_nft_queue()) {
		if (nft_run_cmd_from_filename(ctx, path) != 0) {
			copy_nft_error(ctx, err, errlen);
			r = -EINVAL;
		}
		goto out;
	}
	r = compat_rewrite(text, &rewritten, &converted, err, errlen);
	if (r < 0)
		goto out;
	if (nft_run_cmd_from_buffer(ctx, rewritten) != 0) {
		copy_nft_error(ctx, err, errlen);
		r = -EINVAL;
		goto out;
	}
	if (converted) {
		struct nl nl;
		r = nl_open(&nl);
		if (r == 0) {
			r = compat_patch_rules(&nl);
			nl_close(&nl);
		}
		if (r < 0) {
			snprintf(err, errlen,
				 "loaded, but could not turn the queue placeholders into NFQUEUE targets: %s (%s); "
				 "fail-closed queues drop, bypass queues accept until this is fixed", strerror(-r),
				 r == -EBUSY ? "a rule with a queue statement also uses an anonymous set { ... }, "
					       "which cannot be rebound: move the queue statement into a chain of its "
					       "own and goto it"
					     : "is nft_compat/xt_NFQUEUE available?");
			goto out;
		}
		converted = (unsigned)r;
	}
	r = (int)converted;
out:
	free(dir);
	free(rewritten);
	free(text);
	nft_ctx_free(ctx);
	return r;
}

struct queues_ctx {
	struct ruleset_queues *q;
	int err;
};

static void mark(struct ruleset_queues *q, unsigned num, unsigned total)
{
	for (unsigned i = 0; i < total && num + i < 65536; i++)
		q->bound[(num + i) / 8] |= (uint8_t)(1u << ((num + i) % 8));
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct queues_ctx *c = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (!strcmp(name, "queue")) {
		if (nftnl_expr_is_set(e, NFTNL_EXPR_QUEUE_SREG_QNUM)) {
			c->err = -EOPNOTSUPP;
			return 0;
		}
		uint16_t total = nftnl_expr_is_set(e, NFTNL_EXPR_QUEUE_TOTAL) ? nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_TOTAL) : 1;
		mark(c->q, nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_NUM), total ? total : 1);
		c->q->rules++;
	} else if (!strcmp(name, "target") && !strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME), "NFQUEUE")) {
		uint32_t len = 0, rev = nftnl_expr_get_u32(e, NFTNL_EXPR_TG_REV);
		const uint16_t *info = nftnl_expr_get(e, NFTNL_EXPR_TG_INFO, &len);
		/* v0: {num}; v1..v3: {num, total, ...} */
		if (info && len >= 2) {
			unsigned total = rev >= 1 && len >= 4 ? info[1] : 1;
			mark(c->q, info[0], total ? total : 1);
			c->q->rules++;
		}
	}
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct queues_ctx *c = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	int ret = MNL_CB_OK;

	if (!r) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		errno = EBADMSG;
		ret = MNL_CB_ERROR;
	} else {
		nftnl_expr_foreach(r, expr_cb, c);
	}
	nftnl_rule_free(r);
	return ret;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	uint64_t *handle = data;
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 && nftnl_table_is_set(t, NFTNL_TABLE_HANDLE))
		*handle = nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE);
	nftnl_table_free(t);
	return MNL_CB_OK;
}

int ruleset_table_handle(struct nl *nl, uint64_t *handle)
{
	char buf[NL_MSG_BUF];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	uint64_t h = 0;
	int r;

	if (!t)
		return -ENOMEM;
	/* A GET of the table answers -ENOENT plainly, where a filtered dump would be empty. */
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFTSET_TABLE);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, nl_next_seq(nl));
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	r = nl_dump(nl, nlh, table_cb, &h);
	if (r == 0)
		*handle = h;
	return r;
}

int ruleset_queues_read(struct nl *nl, struct ruleset_queues *out)
{
	char buf[NL_MSG_BUF];
	struct ruleset_queues *q = calloc(1, sizeof(*q));
	struct queues_ctx c = { .q = q };
	struct nlmsghdr *nlh;
	uint64_t handle;
	int r;

	if (!q)
		return -ENOMEM;
	r = ruleset_table_handle(nl, &handle);
	if (r == 0) {
		struct nftnl_rule *rule = nftnl_rule_alloc();
		if (!rule) {
			free(q);
			return -ENOMEM;
		}
		nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, NFTSET_TABLE);
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, nl_next_seq(nl));
		nftnl_rule_nlmsg_build_payload(nlh, rule);
		nftnl_rule_free(rule);
		r = nl_dump(nl, nlh, rule_cb, &c);
	}
	if (r == 0 && c.err)
		r = c.err;
	if (r == 0)
		*out = *q;
	free(q);
	return r;
}
