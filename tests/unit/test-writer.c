/* test-writer.c - the ban writer without a kernel: its planner (ban/plan.h) on its own, then
 * the real writer thread with a fake backend (fakeban.h) in place of the nft sets: elements
 * committed, allowlisted and protected addresses skipped, IPv6 prefixes narrowed, repeat
 * offences escalated, a failed batch retried, the kernel refusing part of a batch, bans and
 * unbans by hand, the ban of a peer protected since lifted, and the ban table saved once the
 * thread has stopped; then restore at start (bans adopted from the sets, saved ones put back),
 * a full set making room, and a reloaded table getting its bans back. Waits are bounded polls
 * of the writer's counters or the fake's sets, never timed assertions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ban/banq.h"
#include "ban/feed.h"
#include "ban/offences.h"
#include "ban/plan.h"
#include "ban/writer.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/detector.h"
#include "fakeban.h"
#include "tap.h"

static const uint8_t key[16] = "writerwriterwrit";

static struct nfs_addr A(const char *s)
{
	struct nfs_addr a = { 0 };

	if (nfs_addr_parse(s, true, &a) < 0) {
		fprintf(stderr, "bad address in the test: %s\n", s);
		exit(2);
	}
	return a;
}

/* A scan ban request: @addr to ban (a host, or an IPv6 prefix), @host the scanner. */
static struct ban_request scan(const char *addr, const char *host)
{
	struct ban_request r = { .op = BAN_OP_AUTO, .det = DET_SCAN, .addr = A(addr), .host = A(host) };

	clock_gettime(CLOCK_REALTIME, &r.t_packet);
	r.report.ports = 12;
	return r;
}

static struct ban_settings settings(void)
{
	struct ban_settings s = { .duration = 60, .max_duration = 3600, .forget = 86400, .ipv6_prefix = 64,
				  .factor = 2.0 };
	return s;
}

static void test_plan(void)
{
	struct ban_settings s = settings();
	struct offences *o = NULL;
	struct ban_plan *p = calloc(1, sizeof(*p));
	struct ban_active act[8] = { 0 };
	struct ban_request rq[8];
	const int64_t now = 1700000000;

	offences_new(&o, 64, key);
	if (!o || !p) {
		CHECK(0, "planner: allocations");
		return;
	}
	s.allow.net[s.allow.n++] = A("192.0.2.0/24");
	s.allow.net[s.allow.n++] = A("2001:db8:1::1");
	s.protect.net[s.protect.n++] = A("198.51.100.53");
	s.ends = (struct protect_ends){ 0, 1 }; /* the one entry is a resolver */

	/* The skips, in order; a plain ban; a duplicate of it. */
	rq[0] = scan("192.0.2.7", "192.0.2.7");
	rq[1] = scan("198.51.100.53", "198.51.100.53");
	rq[2] = scan("203.0.113.9", "203.0.113.9");
	rq[3] = scan("203.0.113.9", "203.0.113.9");
	/* An IPv6 /64 that holds an allowlisted host: narrowed to the scanner. */
	rq[4] = scan("2001:db8:1::/64", "2001:db8:1::99");
	/* An IPv6 /64 that holds an active peer (not the scanner): narrowed too. */
	rq[5] = scan("2001:db8:2::/64", "2001:db8:2::5");
	act[5].net = true;
	/* An active peer itself, and a distributed scan's prefix holding one. */
	rq[6] = scan("203.0.113.10", "203.0.113.10");
	act[6].host = true;
	rq[7] = scan("203.0.114.0/24", "203.0.114.1");
	rq[7].det = DET_DSCAN;
	act[7].in_prefix = true;
	ban_plan_burst(p, rq, 8, act, &s, o, now);
	CHECK_EQ(p->n, 8, "a step per request");
	CHECK(p->step[0].verdict == BAN_VERDICT_ALLOWED && p->step[0].net == 0, "allowlisted: skipped, with its entry");
	CHECK(p->step[1].verdict == BAN_VERDICT_PROTECTED && p->step[1].net == 0, "protected: skipped, with its entry");
	CHECK(p->step[2].verdict == BAN_VERDICT_BAN && p->step[2].elem == 0, "a scanner: banned");
	CHECK_EQ(p->step[3].verdict, BAN_VERDICT_DUP, "the same address twice in a burst: one element");
	CHECK(p->step[4].verdict == BAN_VERDICT_BAN && p->step[4].narrowed == BAN_NARROW_LISTED &&
	      nfs_addr_equal(&p->elems[p->step[4].elem].addr, &rq[4].host),
	      "a /64 holding an allowlisted address: the scanner alone is banned");
	CHECK(p->step[5].verdict == BAN_VERDICT_BAN && p->step[5].narrowed == BAN_NARROW_ACTIVE &&
	      nfs_addr_equal(&p->elems[p->step[5].elem].addr, &rq[5].host),
	      "a /64 holding an active peer: the scanner alone is banned");
	CHECK_EQ(p->step[6].verdict, BAN_VERDICT_ACTIVE, "an active peer: not banned for a scan");
	CHECK_EQ(p->step[7].verdict, BAN_VERDICT_ACTIVE_PREFIX, "a prefix holding an active peer: not banned");
	CHECK_EQ(p->m, 3, "three elements");
	CHECK(p->from[0] == 2 && p->from[1] == 4 && p->from[2] == 5, "each element knows its request");
	CHECK(p->elems[0].timeout_ms == 60000 && p->offence[0] == 1, "a first offence: [ban] duration");

	/* Escalation: the third offence is duration * factor^2; forgotten after [ban] forget. */
	offences_record(o, &rq[2].addr, 2, now - 10);
	offences_record(o, &rq[6].addr, 5, now - (int64_t)s.forget - 1);
	rq[6].det = DET_ROOT_SIG; /* a signature bans an active peer all the same: not asked */
	act[6].host = false;
	ban_plan_burst(p, &rq[2], 1, &act[2], &s, o, now);
	CHECK(p->m == 1 && p->offence[0] == 3 && p->elems[0].timeout_ms == 240000,
	      "a third offence: 60 s * 2^2 (%u, %llu ms)", p->offence[0], (unsigned long long)p->elems[0].timeout_ms);
	ban_plan_burst(p, &rq[6], 1, &act[6], &s, o, now);
	CHECK(p->m == 1 && p->offence[0] == 1, "offences older than [ban] forget are forgotten");
	offences_record(o, &rq[2].addr, 9, now);
	ban_plan_burst(p, &rq[2], 1, &act[2], &s, o, now);
	CHECK_EQ(p->elems[0].timeout_ms, 3600000, "escalation stops at [ban] max_duration");
	rq[7].det = DET_DSCAN;
	act[7].in_prefix = false;
	ban_plan_burst(p, &rq[7], 1, &act[7], &s, o, now);
	CHECK(p->m == 1 && p->elems[0].net, "a distributed scan's prefix goes to the bannet sets");

	/* Manual requests are left to the thread, in their turn. */
	struct ban_request man = { .op = BAN_OP_MANUAL_BAN, .host = A("2001:db8:3::7") };
	ban_plan_burst(p, &man, 1, act, &s, o, now);
	CHECK(p->m == 0 && p->step[0].verdict == BAN_VERDICT_MANUAL, "a manual request: not planned with the burst");
	struct nftset_elem e;
	size_t net = 99;
	CHECK(ban_plan_manual(&man, &s, &e, &net) == BAN_VERDICT_BAN && e.addr.family == AF_INET6 &&
	      e.addr.plen == 64 && e.timeout_ms == 60000,
	      "a manual IPv6 ban: widened to [ban] ipv6_prefix, [ban] duration");
	man.seconds = 5;
	man.host = A("203.0.113.1");
	CHECK(ban_plan_manual(&man, &s, &e, &net) == BAN_VERDICT_BAN && e.timeout_ms == 5000 && e.addr.plen == 32,
	      "a manual ban with its own length");
	man.host = A("192.0.2.1");
	CHECK(ban_plan_manual(&man, &s, &e, &net) == BAN_VERDICT_ALLOWED && net == 0, "a manual ban: allowlisted");
	man.host = A("198.51.100.53");
	CHECK(ban_plan_manual(&man, &s, &e, &net) == BAN_VERDICT_PROTECTED && net == 0, "a manual ban: protected");

	/* Bans that hold a peer protected since: picked to be lifted, in the table's order, each
	 * with its protected entry; the rest stay. */
	struct bantable *bans = NULL;
	struct ban_lift *l = calloc(1, sizeof(*l));
	bantable_new(&bans, 2 * NFTSET_BATCH_MAX, key);
	if (!bans || !l) {
		CHECK(0, "planner: allocations");
		return;
	}
	s.protect.net[s.protect.n++] = A("2001:db8:5::1");
	s.ends = (struct protect_ends){ 0, 2 };
	bantable_put(bans, &(struct ban_entry){ .addr = A("203.0.113.9"), .det = DET_SCAN });
	bantable_put(bans, &(struct ban_entry){ .addr = A("2001:db8:5::/64"), .det = DET_SCAN });
	bantable_put(bans, &(struct ban_entry){ .addr = A("198.51.100.53"), .det = DET_MANUAL });
	bantable_put(bans, &(struct ban_entry){ .addr = A("2001:db8:6::/64"), .det = DET_SCAN });
	ban_plan_protected(l, bans, &s);
	CHECK_EQ(l->n, 2, "two bans hold protected peers");
	struct nfs_addr p64 = A("2001:db8:5::/64"), p53 = A("198.51.100.53");
	CHECK(l->n == 2 && nfs_addr_equal(&l->e[0].addr, &p64) && l->net[0] == 1 && nfs_addr_equal(&l->e[1].addr, &p53) &&
	      l->net[1] == 0,
	      "the /64 holding a protected host and the protected host itself, with their entries");
	/* An unban by hand: the ban that is or holds the host, in its set; else the host, widened
	 * (to /56 here, so that a /64 found is told from a /64 made up). */
	struct ban_request unban = { .op = BAN_OP_MANUAL_UNBAN, .host = A("2001:db8:5::1") };
	struct nfs_addr d24 = A("203.0.115.0/24"), h128 = A("2001:db8:8::9");
	bantable_put(bans, &(struct ban_entry){ .addr = d24, .det = DET_DSCAN });
	bantable_put(bans, &(struct ban_entry){ .addr = h128, .det = DET_SCAN });
	s.ipv6_prefix = 56;
	ban_plan_unban(&unban, bans, &s, &e);
	CHECK(nfs_addr_equal(&e.addr, &p64) && !e.net, "an unban of a host: its /64's ban");
	unban.host = A("203.0.115.7");
	ban_plan_unban(&unban, bans, &s, &e);
	CHECK(nfs_addr_equal(&e.addr, &d24) && e.net, "an unban of a host in a distributed scan's prefix: in bannet4");
	unban.host = A("2001:db8:7::1");
	ban_plan_unban(&unban, bans, &s, &e);
	CHECK(e.addr.family == AF_INET6 && e.addr.plen == 56 && !e.net,
	      "an unban of an IPv6 host not known: widened to [ban] ipv6_prefix");
	unban.host = h128;
	ban_plan_unban(&unban, bans, &s, &e);
	CHECK(nfs_addr_equal(&e.addr, &h128), "an unban of an IPv6 host banned alone (narrowed): the host");
	s.ipv6_prefix = 64;
	unban.host = A("203.0.113.77");
	ban_plan_unban(&unban, bans, &s, &e);
	CHECK(nfs_addr_equal(&e.addr, &unban.host) && !e.net, "an unban of an IPv4 host not known: the host");

	s.protect.n = 0;
	ban_plan_protected(l, bans, &s);
	CHECK_EQ(l->n, 0, "no protected peers: nothing lifted");
	s.protect.net[s.protect.n++] = A("10.0.0.0/8");
	for (unsigned i = 0; i < NFTSET_BATCH_MAX + 10; i++) {
		struct ban_entry b = { .addr = A("10.0.0.1"), .det = DET_SCAN };
		b.addr.a[2] = (uint8_t)(i >> 8);
		b.addr.a[3] = (uint8_t)i;
		bantable_put(bans, &b);
	}
	ban_plan_protected(l, bans, &s);
	CHECK_EQ(l->n, NFTSET_BATCH_MAX, "one batch at most: the rest at the next change");
	/* A distributed scan's prefix lives in bannet4/bannet6: its delete must go there, or the
	 * kernel answers ENOENT, read as "expired meanwhile", and the ban stays. */
	bantable_clear(bans);
	s.protect.n = 0;
	s.protect.net[s.protect.n++] = A("192.0.2.53");
	bantable_put(bans, &(struct ban_entry){ .addr = A("192.0.2.0/24"), .det = DET_DSCAN });
	bantable_put(bans, &(struct ban_entry){ .addr = A("192.0.2.53"), .det = DET_SCAN });
	ban_plan_protected(l, bans, &s);
	CHECK(l->n == 2 && l->e[0].net != l->e[1].net && (l->e[0].addr.plen == 24) == l->e[0].net,
	      "a distributed scan's prefix holding a protected peer is lifted from bannet4, the host from ban4");
	bantable_free(bans);
	free(l);

	/* A full set: the automatic ban of the same set that expires soonest gives way. */
	struct bantable *full = NULL;
	struct ban_entry out = { 0 };
	struct nfs_addr s1 = A("203.0.113.1"), s2 = A("203.0.113.2"), s3 = A("203.0.113.3"), n24 = A("203.0.113.0/24"),
			v6 = A("2001:db8:9::/64"), me = A("203.0.113.100");
	bantable_new(&full, 16, key);
	if (!full) {
		CHECK(0, "planner: allocations");
		return;
	}
	bantable_put(full, &(struct ban_entry){ .addr = s1, .det = DET_SCAN, .until_ms = 5000 });
	bantable_put(full, &(struct ban_entry){ .addr = s2, .det = DET_SCAN, .until_ms = 3000 });
	bantable_put(full, &(struct ban_entry){ .addr = s3, .det = DET_MANUAL, .until_ms = 1000 });
	bantable_put(full, &(struct ban_entry){ .addr = n24, .det = DET_DSCAN, .until_ms = 500 });
	bantable_put(full, &(struct ban_entry){ .addr = v6, .det = DET_SCAN, .until_ms = 100 });
	bantable_put(full, &(struct ban_entry){ .addr = me, .det = DET_SCAN, .until_ms = 50 });
	struct nftset_elem in = { .addr = me };
	CHECK(ban_plan_displaced(full, &in, &out) && nfs_addr_equal(&out.addr, &s2),
	      "a full ban4: its automatic ban that ends soonest gives way (not one made by hand, nor another set's)");
	in = (struct nftset_elem){ .addr = A("203.0.116.0/24"), .net = true };
	CHECK(ban_plan_displaced(full, &in, &out) && nfs_addr_equal(&out.addr, &n24),
	      "a full bannet4: a distributed scan's ban gives way");
	bantable_clear(full);
	bantable_put(full, &(struct ban_entry){ .addr = s3, .det = DET_MANUAL, .until_ms = 1000 });
	in = (struct nftset_elem){ .addr = me };
	CHECK(!ban_plan_displaced(full, &in, &out), "only bans made by hand: none gives way");
	bantable_free(full);

	CHECK(ban_plan_answer(0) == BAN_ANSWER_ADDED && ban_plan_answer(-EEXIST) == BAN_ANSWER_ALREADY &&
	      ban_plan_answer(-ENOENT) == BAN_ANSWER_NO_SET && ban_plan_answer(-ENFILE) == BAN_ANSWER_FULL &&
	      ban_plan_answer(-EINVAL) == BAN_ANSWER_REFUSED,
	      "the kernel's answers sorted");
	free(p);
	offences_free(o);
}

/* CHECK_EQ() evaluates its arguments twice: calls go to a variable first. Bounded wait for the writer's counters to reach a state: the thread answers within a
 * second or two (a retry waits RETRY_FIRST_MS); 20 s means it never will. */
#define WAIT_FOR(w, st, cond)                                                    \
	do {                                                                     \
		for (int _i = 0; _i < 20000; _i++) {                             \
			banwriter_get_stats((w), &(st));                         \
			if (cond)                                                \
				break;                                           \
			usleep(1000);                                            \
		}                                                                \
	} while (0)

/* Asks the writer for a ban or unban by hand, as the control server does, and waits for the
 * answer (bounded). Returns the answer's rc; @msg gets its text. */
static int by_hand(struct banq *q, uint8_t op, const char *host, uint64_t seconds, char *msg, size_t len)
{
	struct ban_reply r = { .done = false };
	struct ban_request rq = { .op = op, .host = A(host), .addr = A(host), .seconds = seconds, .reply = &r };
	struct timespec until;
	int rc = -ETIMEDOUT, w = 0;

	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	if (banq_push(q, &rq) < 0)
		return -ENOSPC;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&r.lock);
	while (!r.done && w != ETIMEDOUT)
		w = pthread_cond_timedwait(&r.cond, &r.lock, &until);
	if (r.done) {
		rc = r.rc;
		snprintf(msg, len, "%s", r.msg);
	}
	pthread_mutex_unlock(&r.lock);
	if (!r.done) /* the writer may still answer: do not leave it a dangling reply */
		exit(1);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	return rc;
}

static void test_thread(void)
{
	struct nfs_config *c = NULL;
	struct banq *q = NULL;
	struct fakeban *f = fakeban_new();
	struct event_sink *events = NULL;
	struct banwriter *w = NULL;
	struct banwriter_stats st;
	char dir[] = "/tmp/test-writer-XXXXXX", path[PATH_MAX + 16], msg[256], cmd[PATH_MAX + 16];
	struct ban_request rq[4];

	config_new_default(&c);
	banq_new(&q, 1024);
	if (!c || !q || !f || !mkdtemp(dir) || event_sink_open(&events, "/dev/null", NULL) < 0) {
		CHECK(0, "writer: set up");
		return;
	}
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", dir);
	c->duration = 60;
	c->factor = 2.0;
	c->max_duration = 3600;
	c->ipv6_prefix = 64;
	c->allow.n = 0;
	c->allow.net[c->allow.n++] = A("192.0.2.0/24");
	c->allow.net[c->allow.n++] = A("2001:db8:1::1");
	int rc = banwriter_new_backend(&w, c, q, events, key, &f->b);
	CHECK(rc == 0 && w, "a writer with a fake backend");
	if (!w)
		return;
	struct netlist protect = { .n = 1, .net = { A("198.51.100.53") } };
	banwriter_reconfigure(w, c, &protect, &(struct protect_ends){ 0, 1 });
	struct banwriter_restored restored;
	rc = banwriter_restore(w, &restored);
	CHECK_EQ(rc, 0, "restore from empty sets");
	rc = banwriter_start(w);
	CHECK_EQ(rc, 0, "the thread starts");

	/* Elements committed; allowlisted and protected addresses skipped; a /64 narrowed. */
	rq[0] = scan("203.0.113.1", "203.0.113.1");
	rq[1] = scan("192.0.2.7", "192.0.2.7");
	rq[2] = scan("198.51.100.53", "198.51.100.53");
	rq[3] = scan("2001:db8:1::/64", "2001:db8:1::99");
	for (int i = 0; i < 4; i++)
		banq_push(q, &rq[i]);
	WAIT_FOR(w, st, st.added + st.not_banned_allowed + st.not_banned_protected >= 4);
	CHECK_EQ(st.added, 2, "two bans added");
	CHECK_EQ(st.not_banned_allowed, 1, "one allowlisted");
	CHECK_EQ(st.not_banned_protected, 1, "one protected");
	CHECK_EQ(fakeban_timeout(f, &rq[0].addr), 60000, "the scanner is in the set for [ban] duration");
	CHECK(!fakeban_timeout(f, &rq[1].addr) && !fakeban_timeout(f, &rq[2].addr),
	      "allowlisted and protected addresses are not in the sets");
	CHECK(fakeban_timeout(f, &rq[3].host) && !fakeban_timeout(f, &rq[3].addr),
	      "the /64 holding an allowlisted address: only the scanner is in the set");
	CHECK_EQ(st.active, 2, "the ban table holds the two bans");

	/* The kernel refuses one element of a batch: the rest go in. */
	pthread_mutex_lock(&f->lock);
	f->refuse = A("203.0.113.2");
	f->refuse_err = -EINVAL;
	pthread_mutex_unlock(&f->lock);
	rq[0] = scan("203.0.113.2", "203.0.113.2");
	rq[1] = scan("203.0.113.3", "203.0.113.3");
	banq_push(q, &rq[0]);
	banq_push(q, &rq[1]);
	WAIT_FOR(w, st, st.added + st.refused_by_kernel >= 4);
	CHECK_EQ(st.refused_by_kernel, 1, "one element refused by the kernel");
	CHECK_EQ(st.added, 3, "the other element of the batch added");
	CHECK(fakeban_timeout(f, &rq[1].addr) && !fakeban_timeout(f, &rq[0].addr), "the sets hold the one accepted");

	/* A batch that fails as a whole is tried again (after RETRY_FIRST_MS) and lands. */
	pthread_mutex_lock(&f->lock);
	f->fail_commits = 1;
	f->fail_err = -EIO;
	pthread_mutex_unlock(&f->lock);
	rq[0] = scan("203.0.113.4", "203.0.113.4");
	banq_push(q, &rq[0]);
	WAIT_FOR(w, st, st.added >= 4);
	CHECK_EQ(st.batch_errors, 1, "the failed batch counted");
	CHECK_EQ(st.retried, 1, "its request retried");
	CHECK_EQ(st.given_up, 0, "and not given up");
	CHECK_EQ(st.added, 4, "the retried ban added");
	CHECK(fakeban_timeout(f, &rq[0].addr), "the retried ban is in the set");

	/* Bans and unbans by hand. */
	struct nfs_addr by_hand_addr = A("203.0.113.50");
	rc = by_hand(q, BAN_OP_MANUAL_BAN, "203.0.113.50", 30, msg, sizeof(msg));
	CHECK_EQ(rc, 0, "a ban by hand");
	CHECK_STR(msg, "banned", "its answer");
	CHECK_EQ(fakeban_timeout(f, &by_hand_addr), 30000, "in the set for the length asked");
	rc = by_hand(q, BAN_OP_MANUAL_BAN, "203.0.113.50", 30, msg, sizeof(msg));
	CHECK_EQ(rc, -EEXIST, "banned twice");
	CHECK_STR(msg, "already banned", "its answer");
	rc = by_hand(q, BAN_OP_MANUAL_BAN, "192.0.2.9", 0, msg, sizeof(msg));
	CHECK_EQ(rc, -EPERM, "an allowlisted ban by hand");
	CHECK_STR(msg, "allowlisted (192.0.2.0/24)", "its answer");
	rc = by_hand(q, BAN_OP_MANUAL_BAN, "198.51.100.53", 0, msg, sizeof(msg));
	CHECK_EQ(rc, -EPERM, "a protected ban by hand");
	CHECK_STR(msg, "protected (198.51.100.53: resolver)", "its answer");
	rc = by_hand(q, BAN_OP_MANUAL_UNBAN, "203.0.113.50", 0, msg, sizeof(msg));
	CHECK_EQ(rc, 0, "an unban by hand");
	CHECK_STR(msg, "unbanned", "its answer");
	CHECK(!fakeban_timeout(f, &by_hand_addr), "out of the set");
	rc = by_hand(q, BAN_OP_MANUAL_UNBAN, "203.0.113.50", 0, msg, sizeof(msg));
	CHECK_EQ(rc, -ENOENT, "unbanned twice");
	CHECK_STR(msg, "not banned", "its answer");

	/* A banned address that becomes protected (a new resolver a forged scan had got banned):
	 * the thread lifts its ban, and a scan from it is refused from then on. */
	struct netlist protect2 = { .n = 2, .net = { A("198.51.100.53"), A("203.0.113.4") } };
	struct nfs_addr newly = A("203.0.113.4");
	rc = banwriter_set_protected(w, &protect2, &(struct protect_ends){ 0, 2 });
	CHECK_EQ(rc, 0, "new protected peers handed over");
	for (int i = 0; i < 20000 && fakeban_timeout(f, &newly); i++)
		usleep(1000);
	CHECK(!fakeban_timeout(f, &newly), "the ban of a newly protected peer lifted");
	rq[0] = scan("203.0.113.4", "203.0.113.4");
	banq_push(q, &rq[0]);
	WAIT_FOR(w, st, st.not_banned_protected >= 2);
	CHECK_EQ(st.not_banned_protected, 2, "a scan from it refused: protected");
	CHECK(!fakeban_timeout(f, &newly), "and not banned again");

	/* Escalation through the thread: the first ban lifted by hand, the scanner comes back. */
	rc = by_hand(q, BAN_OP_MANUAL_UNBAN, "203.0.113.1", 0, msg, sizeof(msg));
	CHECK_EQ(rc, 0, "a scanner unbanned by hand");
	rq[0] = scan("203.0.113.1", "203.0.113.1");
	banq_push(q, &rq[0]);
	WAIT_FOR(w, st, st.added >= 6);
	CHECK_EQ(fakeban_timeout(f, &rq[0].addr), 120000, "its second offence: [ban] duration * factor");

	/* Saved once the thread has stopped, with a token set between the stop and the save (the
	 * evidence thread stops after the writer). */
	banwriter_stop(w);
	banwriter_set_token(w, &rq[1].addr, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	banwriter_finish(w);
	snprintf(path, sizeof(path), "%s/bans", dir);
	struct bantable *saved = NULL;
	bantable_new(&saved, 64, key);
	unsigned bad = 0;
	rc = bantable_load(saved, path, &bad);
	CHECK_EQ(rc, (int)fakeban_size(f), "state_dir/bans holds every ban in the sets");
	const struct ban_entry *e = bantable_get(saved, &rq[0].addr);
	CHECK(e && e->offence == 2 && e->timeout_s == 120, "with its offence and length");
	e = bantable_get(saved, &rq[1].addr);
	CHECK(e && e->token[0] == '0', "and the token set after the stop");
	bantable_free(saved);
	snprintf(path, sizeof(path), "%s/offences", dir);
	CHECK(access(path, F_OK) == 0, "the offence history saved");

	banwriter_free(w);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	fakeban_free(&f->b);
	event_sink_close(events);
	banq_free(q);
	config_free(c);
}

static int list_cb(const struct ban_entry *e, void *data)
{
	bantable_put(data, e);
	return 0;
}

static const char tok1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char tok2[] = "2222222222222222222222222222222222222222222222222222222222222222";

/* Restore at start through the fake backend: the bans in the sets are adopted (the saved table
 * tells what the kernel does not keep: detector, offence, token), the saved bans the kernel
 * lost go back with their time left, one about to end does not. Then, with the thread
 * running: in a full set the automatic ban that ends soonest gives way, and table inet
 * nfsentry loaded again (a new handle, empty sets) gets its bans back. */
static void test_restore(void)
{
	struct nfs_config *c = NULL;
	struct banq *q = NULL;
	struct fakeban *f = fakeban_new();
	struct event_sink *events = NULL;
	struct banwriter *w = NULL;
	struct bantable *saved = NULL, *listed = NULL;
	struct banwriter_stats st;
	struct banwriter_restored r;
	struct nftset_elem el;
	char dir[] = "/tmp/test-writer-XXXXXX", path[PATH_MAX + 16], cmd[PATH_MAX + 16];
	const int64_t now = clock_wall_ms();
	struct nfs_addr lost = A("203.0.113.20"), ending = A("203.0.113.21"), kept = A("203.0.113.22"),
			by_nft = A("203.0.113.23"), newcomer = A("203.0.113.24");
	const struct ban_entry *e;
	int rc;

	config_new_default(&c);
	banq_new(&q, 64);
	bantable_new(&saved, 64, key);
	bantable_new(&listed, 64, key);
	if (!c || !q || !f || !saved || !listed || !mkdtemp(dir) || event_sink_open(&events, "/dev/null", NULL) < 0) {
		CHECK(0, "restore: set up");
		return;
	}
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", dir);
	c->duration = 60;
	c->allow.n = 0;

	/* state_dir/bans as the last run left it, 10 s ago (so the ban about to end is in it). */
	struct ban_entry b = { .addr = lost, .offence = 2, .timeout_s = 120, .until_ms = now + 100000, .det = DET_SCAN };
	memcpy(b.token, tok1, sizeof(tok1));
	bantable_put(saved, &b);
	b = (struct ban_entry){ .addr = ending, .offence = 1, .timeout_s = 60, .until_ms = now + 500, .det = DET_SCAN };
	bantable_put(saved, &b);
	b = (struct ban_entry){ .addr = kept, .offence = 3, .timeout_s = 240, .until_ms = now + 30000, .det = DET_SCAN };
	memcpy(b.token, tok2, sizeof(tok2));
	bantable_put(saved, &b);
	snprintf(path, sizeof(path), "%s/bans", dir);
	rc = bantable_save(saved, path, now - 10000);
	CHECK_EQ(rc, 3, "state_dir/bans written");
	/* The sets after the restart: one ban outlived it, one was added with nft, without a timeout. */
	f->set[f->n++] = (struct nftset_elem){ .addr = kept, .timeout_ms = 240000, .expires_ms = 30000 };
	f->set[f->n++] = (struct nftset_elem){ .addr = by_nft };

	rc = banwriter_new_backend(&w, c, q, events, key, &f->b);
	CHECK(rc == 0 && w, "a writer with a fake backend");
	if (!w)
		return;
	rc = banwriter_restore(w, &r);
	CHECK_EQ(rc, 0, "restored");
	CHECK(r.in_kernel4 == 2 && r.in_kernel6 == 0, "the two bans in the sets adopted (%u, %u)", r.in_kernel4,
	      r.in_kernel6);
	CHECK_EQ(r.restored, 1, "the saved ban the kernel lost put back");
	CHECK_EQ(r.expired, 1, "the one about to end not put back");
	CHECK_EQ(r.failed, 0, "none failed");
	CHECK(fakeban_get(f, &lost, &el) && el.timeout_ms == 120000 && el.expires_ms > 0 && el.expires_ms <= 100000,
	      "put back with its length and the time it had left");
	CHECK(!fakeban_timeout(f, &ending), "the ban about to end is not in the sets");
	banwriter_list(w, list_cb, listed);
	e = bantable_get(listed, &kept);
	CHECK(e && e->det == DET_SCAN && e->offence == 3 && !strcmp(e->token, tok2),
	      "a ban that outlived the restart keeps its detector, offence and token (saved table)");
	e = bantable_get(listed, &by_nft);
	CHECK(e && e->det == DET_MANUAL && e->offence == 1, "a ban added with nft is adopted as made by hand");
	e = bantable_get(listed, &lost);
	CHECK(e && e->offence == 2 && !strcmp(e->token, tok1), "the ban put back keeps its offence and token");
	banwriter_get_stats(w, &st);
	CHECK(st.restored == 1 && st.active == 3, "counted: %llu restored, %llu active", (unsigned long long)st.restored,
	      (unsigned long long)st.active);

	/* A full set: the automatic ban that ends soonest gives way; the one made by hand never. */
	rc = banwriter_start(w);
	CHECK_EQ(rc, 0, "the thread starts");
	pthread_mutex_lock(&f->lock);
	f->cap = f->n;
	pthread_mutex_unlock(&f->lock);
	struct ban_request rq = scan("203.0.113.24", "203.0.113.24");
	banq_push(q, &rq);
	WAIT_FOR(w, st, st.added + st.refused_by_kernel >= 1);
	CHECK(st.added == 1 && st.displaced == 1, "the new ban made room (%llu added, %llu displaced)",
	      (unsigned long long)st.added, (unsigned long long)st.displaced);
	CHECK(fakeban_timeout(f, &newcomer) && !fakeban_timeout(f, &kept),
	      "the new ban in the set, in place of the one that ended soonest");
	CHECK(fakeban_timeout(f, &lost) && fakeban_timeout(f, &by_nft), "the others stay");

	/* Table inet nfsentry loaded again: empty sets under a new handle; the bans go back in. */
	pthread_mutex_lock(&f->lock);
	f->cap = 0;
	pthread_mutex_unlock(&f->lock);
	fakeban_reload(f, 2);
	WAIT_FOR(w, st, st.restored >= 4);
	CHECK_EQ(st.restored, 4, "the three bans of the reloaded table put back");
	CHECK(fakeban_timeout(f, &newcomer) && fakeban_timeout(f, &lost) && fakeban_timeout(f, &by_nft) &&
	      fakeban_size(f) == 3,
	      "the sets hold them again");

	banwriter_free(w);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	fakeban_free(&f->b);
	bantable_free(saved);
	bantable_free(listed);
	event_sink_close(events);
	banq_free(q);
	config_free(c);
}

/* The fleet's decisions (banwriter_fleet()): what a forged or over-broad decision gets, the
 * bounds, the sets they go to, the feed, and an asker that stops waiting. */
static struct ban_fleet_item fban(const char *addr, uint64_t seconds)
{
	return (struct ban_fleet_item){ .addr = A(addr), .seconds = seconds };
}

static struct ban_fleet_item funban(const char *addr)
{
	return (struct ban_fleet_item){ .addr = A(addr), .unban = true };
}

/* Reads the feed from *@next: counts of bans and unbans of @origin (unbans: for @why). */
static void feed_count(struct ban_feed *feed, uint64_t *next, uint8_t origin, uint8_t why, unsigned *bans,
		       unsigned *unbans, unsigned *evidence)
{
	struct ban_feed_event ev[64];
	uint64_t lost;
	size_t n;

	*bans = *unbans = *evidence = 0;
	while ((n = ban_feed_read(feed, next, ev, 64, &lost)) > 0)
		for (size_t i = 0; i < n; i++) {
			*bans += ev[i].kind == BAN_FEED_BAN && ev[i].origin == origin;
			*unbans += ev[i].kind == BAN_FEED_UNBAN && ev[i].origin == origin && ev[i].why == why;
			*evidence += ev[i].kind == BAN_FEED_EVIDENCE;
		}
}

static int count_fleet_cb(const struct ban_entry *e, void *data)
{
	*(unsigned *)data += e->origin == BAN_ORIGIN_FLEET;
	return 0;
}

static void test_fleet(void)
{
	struct nfs_config *c = NULL;
	struct banq *q = NULL;
	struct ban_feed *feed = NULL;
	struct fakeban *f = fakeban_new();
	struct event_sink *events = NULL;
	struct banwriter *w = NULL;
	struct banwriter_stats st;
	struct nftset_elem el;
	char dir[] = "/tmp/test-fleet-XXXXXX", cmd[64];
	unsigned bans, unbans, evidence, listed = 0;

	config_new_default(&c);
	banq_new(&q, 64);
	ban_feed_new(&feed, 256);
	if (!c || !q || !f || !feed || !mkdtemp(dir) || event_sink_open(&events, "/dev/null", NULL) < 0) {
		CHECK(0, "fleet: set up");
		return;
	}
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", dir);
	c->allow.n = 0;
	c->allow.net[c->allow.n++] = A("192.0.2.0/24");
	c->fleet_max_bans = 4;
	c->fleet_min_prefix4 = 16;
	c->fleet_min_prefix6 = 32;
	c->fleet_max_duration = 3600;
	int rc = banwriter_new_backend(&w, c, q, events, key, &f->b);
	CHECK(rc == 0 && w, "a writer with a fake backend");
	if (!w)
		return;
	banwriter_set_feed(w, feed);
	struct netlist protect = { .n = 1, .net = { A("198.51.100.53") } };
	banwriter_reconfigure(w, c, &protect, &(struct protect_ends){ 0, 1 });
	struct ban_fleet_item one = fban("203.0.113.5", 60);
	CHECK_EQ(banwriter_fleet(w, &one, 1, 1000), -ESHUTDOWN, "no thread: the fleet is told so, not left waiting");
	/* A ban of this host's own in ban4: the fleet's unban must not lift it. */
	f->set[f->n++] = (struct nftset_elem){ .addr = A("203.0.113.99"), .timeout_ms = 600000 };
	struct banwriter_restored restored;
	CHECK_EQ(banwriter_restore(w, &restored), 0, "restore");
	CHECK_EQ(banwriter_start(w), 0, "the thread starts");
	uint64_t next = ban_feed_next_seq(feed);

	struct ban_fleet_item it[] = {
		fban("203.0.113.5", 60),              /* 0 banned: fleet4 */
		fban("203.0.113.0/24", 1000000000),   /* 1 banned, cut to max_duration: fleetnet4 */
		fban("198.51.100.0/24", 60),          /* 2 protected: holds the resolver */
		fban("192.0.2.9", 60),                /* 3 allowed */
		fban("10.0.0.0/8", 60),               /* 4 too wide */
		fban("203.0.113.5", 60),              /* 5 already */
		{ .seconds = 60 },                    /* 6 invalid: no family */
		fban("2001:db8::1", 0),               /* 7 invalid: 0 s */
		fban("2001:db8:7::/48", 60),          /* 8 banned: fleetnet6 */
		fban("2001:db8:8::1", 60),            /* 9 banned: fleet6, the 4th of max_bans */
		fban("203.0.113.77", 60),             /* 10 full */
		fban("0.0.0.0/0", 60),                /* 11 too wide: the whole Internet */
		fban("198.51.100.53", 60),            /* 12 protected itself */
		funban("203.0.113.99"),               /* 13 absent: this host's ban is not the fleet's */
		funban("192.0.2.200"),                /* 14 absent */
		fban("169.254.169.254", 60),          /* 15 protected: the cloud metadata service */
		fban("fe80::/64", 60),                /* 16 protected: neighbour discovery's sources */
		fban("0.0.0.0/32", 60),               /* 17 protected: DHCP clients' source */
		fban("ff02::1", 60),                  /* 18 protected: multicast, never a source */
	};
	size_t n = sizeof(it) / sizeof(it[0]);
	static const uint8_t want[] = { BAN_FLEET_BANNED, BAN_FLEET_BANNED, BAN_FLEET_PROTECTED, BAN_FLEET_ALLOWED,
					BAN_FLEET_TOO_WIDE, BAN_FLEET_ALREADY, BAN_FLEET_INVALID, BAN_FLEET_INVALID,
					BAN_FLEET_BANNED, BAN_FLEET_BANNED, BAN_FLEET_FULL, BAN_FLEET_TOO_WIDE,
					BAN_FLEET_PROTECTED, BAN_FLEET_ABSENT, BAN_FLEET_ABSENT, BAN_FLEET_PROTECTED,
					BAN_FLEET_PROTECTED, BAN_FLEET_PROTECTED, BAN_FLEET_PROTECTED };
	rc = banwriter_fleet(w, it, n, 10000);
	CHECK_EQ(rc, 0, "the decisions applied");
	for (size_t i = 0; i < n; i++)
		CHECK(it[i].outcome == want[i], "decision %zu: %s (got %s)", i, ban_fleet_outcome_name(want[i]),
		      ban_fleet_outcome_name(it[i].outcome));
	CHECK(fakeban_get_in(f, "fleet4", &it[0].addr, &el) && el.timeout_ms == 60000, "an address in fleet4");
	CHECK(fakeban_get_in(f, "fleetnet4", &it[1].addr, &el) && el.timeout_ms == 3600000,
	      "a range in fleetnet4, its length cut to [fleet] max_duration");
	CHECK(fakeban_get_in(f, "fleetnet6", &it[8].addr, &el) && fakeban_get_in(f, "fleet6", &it[9].addr, &el),
	      "IPv6: a range in fleetnet6, an address in fleet6");
	CHECK(!fakeban_timeout(f, &it[2].addr) && !fakeban_timeout(f, &it[4].addr) && !fakeban_timeout(f, &it[10].addr),
	      "nothing refused reached the sets");
	CHECK(fakeban_get_in(f, "ban4", &it[13].addr, &el), "the fleet's unban left this host's own ban alone");
	banwriter_list(w, count_fleet_cb, &listed);
	CHECK_EQ(listed, 4, "the list shows the four fleet bans with origin crowdsec");
	feed_count(feed, &next, BAN_ORIGIN_FLEET, BAN_FEED_WHY_FLEET, &bans, &unbans, &evidence);
	CHECK(bans == 4 && unbans == 0, "the feed has the four bans of the fleet (%u, %u)", bans, unbans);
	banwriter_get_stats(w, &st);
	CHECK(st.fleet[BAN_FLEET_BANNED] == 4 && st.fleet[BAN_FLEET_TOO_WIDE] == 2 && st.fleet[BAN_FLEET_PROTECTED] == 6 &&
	      st.fleet_active == 4,
	      "counted by outcome");

	/* An unban: the fleet's set loses it, the feed says why; room for one more. */
	struct ban_fleet_item u[] = { funban("203.0.113.5"), fban("203.0.113.77", 60) };
	rc = banwriter_fleet(w, u, 2, 10000);
	CHECK(rc == 0 && u[0].outcome == BAN_FLEET_UNBANNED && u[1].outcome == BAN_FLEET_BANNED,
	      "unbanned, and the room it left taken (%s, %s)", ban_fleet_outcome_name(u[0].outcome),
	      ban_fleet_outcome_name(u[1].outcome));
	CHECK(!fakeban_timeout(f, &u[0].addr), "gone from fleet4");
	feed_count(feed, &next, BAN_ORIGIN_FLEET, BAN_FEED_WHY_FLEET, &bans, &unbans, &evidence);
	CHECK(bans == 1 && unbans == 1, "the feed: one unban for the fleet, one ban (%u, %u)", bans, unbans);

	/* A longer decision for a banned address extends its ban (in one transaction); a repeat of
	 * the same one, or a shorter one, changes nothing. */
	struct ban_fleet_item ext[] = { fban("203.0.113.77", 3000), fban("203.0.113.77", 3000) };
	rc = banwriter_fleet(w, &ext[0], 1, 10000);
	CHECK(rc == 0 && ext[0].outcome == BAN_FLEET_BANNED && fakeban_get_in(f, "fleet4", &ext[0].addr, &el) &&
	      el.timeout_ms == 3000000, "a longer decision extends the fleet's ban (%s, %llu ms)",
	      ban_fleet_outcome_name(ext[0].outcome), (unsigned long long)el.timeout_ms);
	rc = banwriter_fleet(w, &ext[1], 1, 10000);
	CHECK(rc == 0 && ext[1].outcome == BAN_FLEET_ALREADY && el.timeout_ms == 3000000,
	      "the same decision again: already");
	feed_count(feed, &next, BAN_ORIGIN_FLEET, BAN_FEED_WHY_FLEET, &bans, &unbans, &evidence);
	CHECK_EQ(bans, 1, "the extension is a ban in the feed, the repeat is not");

	/* An operator's unban lifts the fleet's ban of the address (a range that holds it too). */
	char msg[256];
	rc = by_hand(q, BAN_OP_MANUAL_UNBAN, "2001:db8:7::5", 0, msg, sizeof(msg));
	CHECK(rc == 0 && !strcmp(msg, "unbanned (a ban of the fleet)") && !fakeban_get_in(f, "fleetnet6", &it[8].addr, &el),
	      "an unban by hand of an address in a fleet range lifts the range (%d, %s)", rc, msg);
	rc = by_hand(q, BAN_OP_MANUAL_UNBAN, "2001:db8:7::5", 0, msg, sizeof(msg));
	CHECK_EQ(rc, -ENOENT, "and then it is not banned");
	feed_count(feed, &next, BAN_ORIGIN_FLEET, BAN_FEED_WHY_MANUAL, &bans, &unbans, &evidence);
	CHECK_EQ(unbans, 1, "the feed: an unban by hand of a ban of the fleet");
	struct ban_fleet_item again = fban("2001:db8:7::/48", 60);
	rc = banwriter_fleet(w, &again, 1, 10000);
	CHECK(rc == 0 && again.outcome == BAN_FLEET_BANNED, "the fleet can send it again (%s)",
	      ban_fleet_outcome_name(again.outcome));

	/* A range that holds a peer protected since: lifted whole, and said so. */
	struct netlist p2 = { .n = 2, .net = { A("198.51.100.53"), A("203.0.113.1") } };
	banwriter_set_protected(w, &p2, &(struct protect_ends){ 0, 2 });
	for (int i = 0; i < 5000 && fakeban_get_in(f, "fleetnet4", &it[1].addr, &el); i++)
		usleep(1000);
	CHECK(!fakeban_get_in(f, "fleetnet4", &it[1].addr, &el), "a fleet range holding a new gateway is lifted");
	/* The writer deletes the element first and tells the feed after (ban/apply.c): the set can
	 * be seen changed a moment before the event is in the feed, so wait for it too (bounded),
	 * then read once more so that a second event would still be counted. */
	unsigned lifted = 0;
	for (int i = 0; i < 5000 && !lifted; i++) {
		feed_count(feed, &next, BAN_ORIGIN_FLEET, BAN_FEED_WHY_PROTECTED, &bans, &unbans, &evidence);
		lifted += unbans;
		if (!lifted)
			usleep(1000);
	}
	feed_count(feed, &next, BAN_ORIGIN_FLEET, BAN_FEED_WHY_PROTECTED, &bans, &unbans, &evidence);
	CHECK_EQ(lifted + unbans, 1, "the feed says it was lifted for protection");

	/* Local bans and tokens reach the feed too, with their origin. */
	struct ban_request rq = scan("203.0.113.50", "203.0.113.50");
	banq_push(q, &rq);
	WAIT_FOR(w, st, st.added >= 1);
	banwriter_set_token(w, &rq.addr, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	feed_count(feed, &next, BAN_ORIGIN_DETECTOR, BAN_FEED_WHY_NONE, &bans, &unbans, &evidence);
	CHECK(bans == 1 && evidence == 1, "a scan's ban (origin nfsentry) and its evidence token in the feed");
	rc = by_hand(q, BAN_OP_MANUAL_BAN, "203.0.113.51", 120, msg, sizeof(msg));
	CHECK_EQ(rc, 0, "a ban by hand");
	rc = by_hand(q, BAN_OP_MANUAL_UNBAN, "203.0.113.51", 0, msg, sizeof(msg));
	CHECK_EQ(rc, 0, "and its unban");
	feed_count(feed, &next, BAN_ORIGIN_MANUAL, BAN_FEED_WHY_MANUAL, &bans, &unbans, &evidence);
	CHECK(bans == 1 && unbans == 1, "the feed: a ban and an unban by hand, origin manual (%u, %u)", bans, unbans);

	/* A stalled writer: the asker gives up in time; the job, still queued, is applied later and
	 * freed by the thread (ASan would see a use after free otherwise). */
	pthread_mutex_lock(&f->lock);
	f->delay_ms = 300;
	pthread_mutex_unlock(&f->lock);
	struct ban_fleet_item late = fban("203.0.113.200", 60);
	/* room: one of the four was lifted above */
	int64_t t0 = clock_mono_ms();
	rc = banwriter_fleet(w, &late, 1, 20);
	CHECK(rc == -ETIMEDOUT && clock_mono_ms() - t0 < 250, "a stalled writer: -ETIMEDOUT, not a hang");
	pthread_mutex_lock(&f->lock);
	f->delay_ms = 0;
	pthread_mutex_unlock(&f->lock);
	for (int i = 0; i < 5000 && !fakeban_timeout(f, &late.addr); i++)
		usleep(1000);
	CHECK(fakeban_timeout(f, &late.addr), "the job the asker left is applied all the same");

	/* A range the kernel refuses as overlapping, not covered by a fleet range: the narrower
	 * fleet ranges inside it give way; when the wider one still does not go in, they go back. */
	struct ban_fleet_item room[] = { funban("203.0.113.77"), funban("2001:db8:8::1"), fban("198.18.5.0/24", 600) };
	rc = banwriter_fleet(w, room, 3, 10000);
	CHECK(rc == 0 && room[2].outcome == BAN_FLEET_BANNED, "a narrow fleet range (%s)",
	      ban_fleet_outcome_name(room[2].outcome));
	pthread_mutex_lock(&f->lock);
	f->refuse = A("198.18.0.0/16");
	f->refuse_err = -EEXIST; /* as an interval set answers an overlap */
	pthread_mutex_unlock(&f->lock);
	struct ban_fleet_item wide = fban("198.18.0.0/16", 600);
	rc = banwriter_fleet(w, &wide, 1, 10000);
	CHECK(rc == 0 && wide.outcome == BAN_FLEET_ALREADY && fakeban_get_in(f, "fleetnet4", &room[2].addr, &el) &&
	      el.timeout_ms == 600000, "a wider range that still does not go in: the narrower one is put back (%s)",
	      ban_fleet_outcome_name(wide.outcome));
	pthread_mutex_lock(&f->lock);
	f->refuse.family = 0;
	pthread_mutex_unlock(&f->lock);

	/* Table inet nfsentry loaded again (empty sets): the fleet's bans go back in with this
	 * host's, in the fleet's sets. */
	fakeban_reload(f, 7);
	for (int i = 0; i < 5000 && !fakeban_get_in(f, "fleetnet6", &it[8].addr, &el); i++)
		usleep(1000);
	CHECK(fakeban_get_in(f, "fleetnet6", &it[8].addr, &el) && fakeban_get_in(f, "fleet4", &late.addr, &el) &&
	      fakeban_get_in(f, "ban4", &it[13].addr, &el), "a reloaded table gets the fleet's bans back, in their sets");

	banwriter_free(w);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	fakeban_free(&f->b);
	ban_feed_free(feed);
	event_sink_close(events);
	banq_free(q);
	config_free(c);
}

int main(void)
{
	log_set_level(LOG_LVL_ERR);
	test_plan();
	test_thread();
	test_restore();
	test_fleet();
	return tap_done();
}
