/* active.c - see active.h. */
#include "ban/active.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "core/log.h"
#include "core/detector.h"

/* The scans' sources, and for IPv6 their /64 too, asked about in one round trip. */
static void active_lookup(struct ban_active_asker *ask, const struct ban_request *req, size_t n, struct ban_active *out)
{
	const struct ban_settings *s = ask->s;
	struct nftset_query *q = ask->q;
	ssize_t hq[NFTSET_BATCH_MAX], nq[NFTSET_BATCH_MAX];
	size_t m = 0;

	memset(out, 0, n * sizeof(*out));
	if (!s->active_peers)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct nfs_addr *h = &req[i].host;
		hq[i] = nq[i] = -1;
		if (req[i].op != BAN_OP_AUTO || req[i].det != DET_SCAN || !h->family)
			continue;
		hq[i] = (ssize_t)m;
		q[m++] = (struct nftset_query){ .set = h->family == AF_INET ? NFTSET_ACTIVE4 : NFTSET_ACTIVE6, .key = *h };
		if (h->family == AF_INET6) {
			nq[i] = (ssize_t)m;
			q[m++] = (struct nftset_query){ .set = NFTSET_ACTIVE6NET, .key = nfs_addr_prefix(h, 64) };
		}
	}
	if (m == 0)
		return;
	int r = ask->be->ops->lookup(ask->be, q, m);
	if (r < 0) {
		/* Fail towards the ban: a forged scan may then cut off an active peer, as before. */
		log_warn("cannot look up active peers (%s): %zu scan ban(s) decided without", strerror(-r), m);
		return;
	}
	bool missing = false;
	for (size_t i = 0; i < n; i++) {
		const struct nftset_query *a = hq[i] >= 0 ? &q[hq[i]] : NULL, *b = nq[i] >= 0 ? &q[nq[i]] : NULL;
		missing |= (a && a->err) || (b && b->err);
		/* Strictly younger: an element the kernel has not collected yet reads as its full timeout. */
		out[i].host = a && a->found && a->age_ms < s->active_peers * 1000;
		out[i].net = b && b->found && b->age_ms < s->active_peers * 1000;
		out[i].age_s = a ? a->age_ms / 1000 : 0;
	}
	if (missing && !ask->warned)
		log_warn("sets %s, %s or %s are missing from table inet nfsentry: active peers are not recognised "
			 "([allow] active_peers); load the shipped ruleset (nfsentry load-ruleset)", NFTSET_ACTIVE4,
			 NFTSET_ACTIVE6, NFTSET_ACTIVE6NET);
	ask->warned = missing;
}

struct prefix_ctx {
	const struct ban_request *req;
	struct ban_active *out;
	size_t idx[NFTSET_BATCH_MAX], n; /* the distributed scans' requests of one family */
	uint64_t max_age_ms;
};

static void prefix_cb(const struct nfs_addr *peer, uint64_t age_ms, void *data)
{
	struct prefix_ctx *c = data;

	if (age_ms >= c->max_age_ms) /* strictly younger, as in active_lookup() */
		return;
	for (size_t k = 0; k < c->n; k++) {
		struct ban_active *o = &c->out[c->idx[k]];
		if (!o->in_prefix && nfs_addr_in(&c->req[c->idx[k]].addr, peer)) {
			o->in_prefix = true;
			o->peer = *peer;
			o->age_s = age_ms / 1000;
		}
	}
}

/* Which distributed scans' prefixes (DET_DSCAN requests) hold an active peer: their sources
 * are as easy to forge as a single scanner's, and a prefix ban would cut the peer off with
 * everyone else there (docs/security.md, "Item 4"). A prefix has no element of its own in
 * active4/active6 to look up, so each set is dumped once for the burst, and only when the
 * burst holds such a request of its family (rare: the engine holds a prefix after each
 * request). The dump is as long as the set (at most its size, 65536 as shipped), and each of
 * its addresses is compared with at most a burst's prefixes. */
static void active_prefixes(struct ban_active_asker *ask, const struct ban_request *req, size_t n, struct ban_active *out)
{
	static const struct {
		int family;
		const char *set;
	} sets[] = { { AF_INET, NFTSET_ACTIVE4 }, { AF_INET6, NFTSET_ACTIVE6 } };
	struct prefix_ctx c = { .req = req, .out = out, .max_age_ms = ask->s->active_peers * 1000 };

	if (!ask->s->active_peers)
		return;
	for (size_t f = 0; f < sizeof(sets) / sizeof(sets[0]); f++) {
		c.n = 0;
		for (size_t i = 0; i < n; i++)
			if (req[i].op == BAN_OP_AUTO && req[i].det == DET_DSCAN && req[i].addr.family == sets[f].family)
				c.idx[c.n++] = i;
		if (c.n == 0)
			continue;
		int r = ask->be->ops->ages(ask->be, sets[f].set, prefix_cb, &c);
		/* Fail towards the ban, as active_lookup() does. An active peer found before a dump
		 * broke off was in the kernel's set all the same: it stands. */
		if (r == -ENOENT && !ask->prefix_warned[f])
			log_warn("set %s is missing from table inet nfsentry: prefix bans of distributed scans are "
				 "made without looking for active peers ([allow] active_peers); load the shipped "
				 "ruleset (nfsentry load-ruleset)", sets[f].set);
		else if (r < 0 && r != -ENOENT)
			log_warn("cannot read set %s (%s): %zu prefix ban(s) decided without looking for active peers",
				 sets[f].set, strerror(-r), c.n);
		ask->prefix_warned[f] = r == -ENOENT;
	}
}

void ban_active_ask(struct ban_active_asker *ask, const struct ban_request *req, size_t n, struct ban_active *out)
{
	active_lookup(ask, req, n, out);
	active_prefixes(ask, req, n, out);
}
