/* plan.c - see plan.h. Every rule here was in the writer thread's burst loop; they are
 * apart so that a unit test can check them without a kernel, a thread or a clock. */
#include "ban/plan.h"

#include <errno.h>
#include <string.h>

#include "core/detector.h"

/* An IPv6 prefix that also holds an allowed or protected address (the scanner shares this
 * host's own /64, or its router's) is narrowed to the offending host: banning the whole prefix
 * would cut off the innocent neighbours. The same for a prefix that holds an active peer (not
 * the scanner itself): forged scans from its neighbours' addresses must not cut it off. */
static enum ban_narrow narrow(const struct ban_request *rq, const struct ban_active *act, const struct ban_settings *s)
{
	const struct nfs_addr *addr = &rq->addr;

	if (addr->family != AF_INET6 || nfs_addr_equal(addr, &rq->host))
		return BAN_NARROW_NONE;
	if (rq->host.family == AF_INET6 && (netlist_overlap(&s->allow, addr) || netlist_overlap(&s->protect, addr)))
		return BAN_NARROW_LISTED;
	if (act->net && !act->host)
		return BAN_NARROW_ACTIVE;
	return BAN_NARROW_NONE;
}

static void plan_one(struct ban_plan *p, size_t i, const struct ban_request *rq, const struct ban_active *act,
		     const struct ban_settings *s, struct offences *o, int64_t now_s)
{
	struct ban_step *st = &p->step[i];
	const struct nfs_addr *net;

	st->narrowed = (uint8_t)narrow(rq, act, s);
	st->addr = st->narrowed ? rq->host : rq->addr;
	for (size_t k = 0; k < p->m; k++)
		if (nfs_addr_equal(&p->elems[k].addr, &st->addr)) {
			st->verdict = BAN_VERDICT_DUP;
			st->elem = k;
			return;
		}
	if ((net = netlist_overlap(&s->allow, &st->addr))) {
		st->verdict = BAN_VERDICT_ALLOWED;
		st->net = (size_t)(net - s->allow.net);
		return;
	}
	if ((net = netlist_overlap(&s->protect, &st->addr))) {
		st->verdict = BAN_VERDICT_PROTECTED;
		st->net = (size_t)(net - s->protect.net);
		return;
	}
	/* Closed-port evidence only: an alert. A backdoor signature needs the handshake, so it
	 * still bans (active_lookup() asks about scans only); no offence is recorded, so nothing
	 * escalates. Forged sources cost nothing; a real client of the prefix would pay for them. */
	if (act->host) {
		st->verdict = BAN_VERDICT_ACTIVE;
		return;
	}
	if (act->in_prefix) {
		st->verdict = BAN_VERDICT_ACTIVE_PREFIX;
		return;
	}
	uint32_t offence = offences_count(o, &st->addr, now_s, s->forget) + 1;
	st->verdict = BAN_VERDICT_BAN;
	st->elem = p->m;
	p->offence[p->m] = offence;
	p->elems[p->m] = (struct nftset_elem){
		.addr = st->addr, .net = rq->det == DET_DSCAN,
		.timeout_ms = 1000 * offences_ban_seconds(s->duration, s->factor, s->max_duration, offence),
	};
	p->from[p->m++] = i;
}

void ban_plan_burst(struct ban_plan *p, const struct ban_request *req, size_t n, const struct ban_active *act,
		    const struct ban_settings *s, struct offences *o, int64_t now_s)
{
	p->n = n;
	p->m = 0;
	for (size_t i = 0; i < n; i++) {
		struct ban_step *st = &p->step[i];

		memset(st, 0, sizeof(*st));
		if (req[i].op != BAN_OP_AUTO) {
			st->verdict = BAN_VERDICT_MANUAL;
			st->addr = req[i].addr;
			continue;
		}
		plan_one(p, i, &req[i], &act[i], s, o, now_s);
	}
}

enum ban_verdict ban_plan_manual(const struct ban_request *rq, const struct ban_settings *s, struct nftset_elem *e,
				 size_t *net)
{
	const struct nfs_addr *n;

	*e = (struct nftset_elem){ .addr = rq->host };
	if (e->addr.family == AF_INET6 && e->addr.plen == 128)
		e->addr = nfs_addr_prefix(&e->addr, (unsigned)s->ipv6_prefix);
	if ((n = netlist_overlap(&s->allow, &e->addr))) {
		*net = (size_t)(n - s->allow.net);
		return BAN_VERDICT_ALLOWED;
	}
	if ((n = netlist_overlap(&s->protect, &e->addr))) {
		*net = (size_t)(n - s->protect.net);
		return BAN_VERDICT_PROTECTED;
	}
	e->timeout_ms = (rq->seconds ? rq->seconds : s->duration) * 1000;
	return BAN_VERDICT_BAN;
}

struct find_ctx {
	const struct nfs_addr *host;
	struct ban_entry found;
	bool ok;
};

/* The ban is the host itself, or a prefix that holds it. */
static int find_cb(const struct ban_entry *e, void *data)
{
	struct find_ctx *c = data;
	if (nfs_addr_equal(&e->addr, c->host) || nfs_addr_in(&e->addr, c->host)) {
		c->found = *e;
		c->ok = true;
		return 1;
	}
	return 0;
}

void ban_plan_unban(const struct ban_request *rq, struct bantable *bans, const struct ban_settings *s,
		    struct nftset_elem *e)
{
	struct find_ctx f = { .host = &rq->host };

	*e = (struct nftset_elem){ .addr = rq->host };
	bantable_foreach(bans, find_cb, &f);
	if (f.ok) {
		e->addr = f.found.addr;
		e->net = f.found.det == DET_DSCAN;
	}
	else if (e->addr.family == AF_INET6 && e->addr.plen == 128)
		e->addr = nfs_addr_prefix(&e->addr, (unsigned)s->ipv6_prefix);
}

struct lift_ctx {
	struct ban_lift *l;
	const struct ban_settings *s;
};

static int lift_cb(const struct ban_entry *e, void *data)
{
	struct lift_ctx *c = data;
	struct ban_lift *l = c->l;
	const struct nfs_addr *net = netlist_overlap(&c->s->protect, &e->addr);

	if (!net)
		return 0;
	l->e[l->n] = (struct nftset_elem){ .addr = e->addr, .net = e->det == DET_DSCAN }; /* bannet4/6 */
	l->net[l->n++] = (size_t)(net - c->s->protect.net);
	return l->n == NFTSET_BATCH_MAX;
}

void ban_plan_protected(struct ban_lift *l, struct bantable *bans, const struct ban_settings *s)
{
	struct lift_ctx c = { .l = l, .s = s };

	l->n = 0;
	bantable_foreach(bans, lift_cb, &c);
}

struct soonest_ctx {
	const struct nftset_elem *in;
	struct ban_entry found;
	bool ok;
};

static int soonest_cb(const struct ban_entry *e, void *data)
{
	struct soonest_ctx *c = data;

	/* Only a ban of the same set makes room: ban4/ban6 hold sources, bannet4/bannet6 prefixes. */
	if (e->addr.family != c->in->addr.family || (e->det == DET_DSCAN) != c->in->net || e->det == DET_MANUAL ||
	    nfs_addr_equal(&e->addr, &c->in->addr))
		return 0;
	if (!c->ok || e->until_ms < c->found.until_ms) {
		c->found = *e;
		c->ok = true;
	}
	return 0;
}

bool ban_plan_displaced(struct bantable *bans, const struct nftset_elem *in, struct ban_entry *out)
{
	struct soonest_ctx c = { .in = in };

	bantable_foreach(bans, soonest_cb, &c);
	if (c.ok)
		*out = c.found;
	return c.ok;
}

enum ban_answer ban_plan_answer(int res)
{
	switch (res) {
	case 0:
		return BAN_ANSWER_ADDED;
	case -EEXIST:
		return BAN_ANSWER_ALREADY;
	case -ENOENT:
		return BAN_ANSWER_NO_SET;
	case -ENFILE:
		return BAN_ANSWER_FULL;
	default:
		return res < 0 ? BAN_ANSWER_REFUSED : BAN_ANSWER_ADDED;
	}
}
