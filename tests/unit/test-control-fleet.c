/* test-control-fleet.c - the control socket's `fleet` command (docs/control.md, "fleet") over
 * the real ban writer thread with a fake backend (fakeban.h) in place of the nft sets:
 * decisions applied with their outcomes counted (banned, already, unbanned, absent,
 * protected, allowed, too_wide, invalid), invalid items counted and named while the rest are
 * still applied, at most 16 errors named, more than 1000 items refused whole with nothing
 * applied, a request of garbage refused or counted without harm, the fleet's bans listed by
 * `bans` with origin crowdsec and put in the feed for `watch`, and the [fleet] group limited
 * to status, bans, watch and fleet. control_handle() is called directly (the server's thread
 * is not started); banwriter_fleet() waits for the writer, so the answers are final. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ban/banq.h"
#include "ban/feed.h"
#include "ban/writer.h"
#include "control/protocol.h"
#include "control/server.h"
#include "core/config.h"
#include "core/event.h"
#include "core/log.h"
#include "fakeban.h"
#include "tap.h"

static const uint8_t key[16] = "fleetfleetfleetf";
static struct control *c;

static json_t *ask(const char *req, gid_t gid)
{
	return control_handle(c, req, strlen(req), gid ? 1000 : 0, gid);
}

static int64_t num(json_t *j, const char *k)
{
	return json_integer_value(json_object_get(j, k));
}

/* The "bans" entry of @addr, or NULL (borrowed from @list). */
static json_t *ban_of(json_t *list, const char *addr)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "address")) ?: "", addr))
			return e;
	return NULL;
}

static struct nfs_addr A(const char *s)
{
	struct nfs_addr a = { 0 };
	nfs_addr_parse(s, false, &a);
	return a;
}

int main(void)
{
	char dir[] = "/tmp/test-control-fleet-XXXXXX", sock[80], err[256];
	struct nfs_config *cfg = NULL;
	struct banq *q = NULL;
	struct ban_feed *feed = NULL;
	struct event_sink *events = NULL;
	struct fakeban *f = fakeban_new();
	struct banwriter *w = NULL;
	json_t *a;

	log_set_level(LOG_LVL_ERR);
	config_new_default(&cfg);
	banq_new(&q, 1024);
	ban_feed_new(&feed, 4096);
	if (!cfg || !q || !f || !feed || !mkdtemp(dir) || event_sink_open(&events, "/dev/null", NULL) < 0) {
		CHECK(0, "set up");
		return tap_done();
	}
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", dir);
	cfg->allow.n = 0;
	cfg->allow.net[cfg->allow.n++] = A("192.0.2.0/24");
	cfg->fleet_max_duration = 86400;
	CHECK(banwriter_new_backend(&w, cfg, q, events, key, &f->b) == 0 && w, "a writer with a fake backend");
	if (!w)
		return tap_done();
	struct netlist protect = { .n = 1, .net = { A("198.51.100.53") } };
	banwriter_reconfigure(w, cfg, &protect, NULL);
	struct banwriter_restored restored;
	banwriter_set_feed(w, feed);
	CHECK(banwriter_restore(w, &restored) == 0 && banwriter_start(w) == 0, "the writer starts");
	snprintf(sock, sizeof(sock), "%s/control.sock", dir);
	struct daemon_view view = { .writer = w, .banq = q, .feed = feed, .started = time(NULL) };
	CHECK(control_open(&c, sock, (gid_t)-1, &view, err, sizeof(err)) == 0, "control_open: %s", c ? "ok" : err);
	if (!c)
		return tap_done();

	/* One of each: the invalid ones counted and named, the rest applied. */
	uint64_t seq = ban_feed_next_seq(feed);
	a = ask("{\"command\":\"fleet\",\"ban\":["
		"{\"address\":\"203.0.113.1\",\"seconds\":600},"
		"{\"address\":\"203.0.113.128/25\",\"seconds\":600},"
		"{\"address\":\"2001:db8:9::/48\",\"seconds\":999999999},"
		"{\"address\":\"198.51.100.53\",\"seconds\":600},"
		"{\"address\":\"198.51.100.0/24\",\"seconds\":600},"
		"{\"address\":\"192.0.2.7\",\"seconds\":600},"
		"{\"address\":\"10.0.0.0/8\",\"seconds\":600},"
		"{\"address\":\"::/1\",\"seconds\":600},"
		"{\"address\":\"garbage\",\"seconds\":600},"
		"{\"address\":\"203.0.113.2\"},"
		"{\"address\":\"203.0.113.3\",\"seconds\":0},"
		"{\"address\":\"203.0.113.4\",\"seconds\":-5},"
		"{\"address\":\"203.0.113.5\",\"seconds\":1e30},"
		"{\"address\":7,\"seconds\":60},"
		"\"203.0.113.6\",[],null],"
		"\"unban\":[\"203.0.113.9\",\"not/an/address\",{}]}",
		0);
	CHECK(json_is_true(json_object_get(a, "ok")), "a mixed request: ok");
	CHECK(num(a, "banned") == 3 && num(a, "protected") == 2 && num(a, "allowed") == 1 && num(a, "too_wide") == 2 &&
	      num(a, "invalid") == 11 && num(a, "absent") == 1 && num(a, "already") == 0 && num(a, "full") == 0 &&
	      num(a, "refused") == 0 && num(a, "unbanned") == 0,
	      "banned 3 (%lld), protected 2 (a host and a range holding one: %lld), allowed 1 (%lld), too_wide 2 (%lld), "
	      "invalid 11 (%lld), absent 1 (%lld)",
	      (long long)num(a, "banned"), (long long)num(a, "protected"), (long long)num(a, "allowed"),
	      (long long)num(a, "too_wide"), (long long)num(a, "invalid"), (long long)num(a, "absent"));
	json_t *errs = json_object_get(a, "errors");
	CHECK(json_array_size(errs) == 16, "16 errors named (of %d not applied)", 16);
	json_t *e0 = json_array_get(errs, 0);
	CHECK(json_is_string(json_object_get(e0, "address")) && json_is_string(json_object_get(e0, "error")),
	      "each error: address and error");
	json_decref(a);
	CHECK(fakeban_timeout(f, &(struct nfs_addr){ 0 }) == 0, "nothing at the zero address");
	struct nfs_addr h = A("203.0.113.1");
	CHECK(fakeban_timeout(f, &h) == 600 * 1000, "203.0.113.1 in the fleet's set for 600 s");
	struct nfs_addr n6 = A("2001:db8:9::/48");
	CHECK(fakeban_timeout(f, &n6) == 86400 * 1000, "a decision longer than [fleet] max_duration: cut to it (%llu)",
	      (unsigned long long)fakeban_timeout(f, &n6) / 1000);

	/* The fleet's bans in `bans`, origin crowdsec; and in the feed. */
	a = ask("{\"command\":\"bans\"}", 0);
	json_t *b = ban_of(json_object_get(a, "bans"), "203.0.113.1");
	CHECK(b && !strcmp(json_string_value(json_object_get(b, "origin")) ?: "", "crowdsec"),
	      "bans: 203.0.113.1, origin crowdsec");
	CHECK(b && !strcmp(json_string_value(json_object_get(b, "detector")) ?: "", "manual") && num(b, "timeout") == 600 &&
	      num(b, "seconds_left") > 590 && num(b, "seconds_left") <= 600 && json_is_integer(json_object_get(b, "offence")) &&
	      !json_object_get(b, "token") && json_object_size(b) == 6,
	      "its fields: detector manual, offence, 600 s, no token (the answer is written as text: it must parse)");
	b = ban_of(json_object_get(a, "bans"), "203.0.113.128/25");
	CHECK(b && !strcmp(json_string_value(json_object_get(b, "origin")) ?: "", "crowdsec"), "bans: the /25 too");
	json_decref(a);
	a = ask("{\"command\":\"bans\",\"origin\":[\"nfsentry\",\"manual\"]}", 0);
	CHECK(json_is_true(json_object_get(a, "ok")) && !ban_of(json_object_get(a, "bans"), "203.0.113.1"),
	      "bans of origins nfsentry and manual: not the fleet's");
	json_decref(a);
	a = ask("{\"command\":\"bans\",\"origin\":\"crowdsec\"}", 0);
	CHECK(json_array_size(json_object_get(a, "bans")) == 3, "bans of origin crowdsec: the fleet's 3");
	json_decref(a);
	struct ban_feed_event ev[16];
	uint64_t lost;
	size_t nev = ban_feed_read(feed, &seq, ev, 16, &lost);
	size_t fleet_bans = 0;
	for (size_t i = 0; i < nev; i++)
		fleet_bans += ev[i].kind == BAN_FEED_BAN && ev[i].origin == BAN_ORIGIN_FLEET;
	CHECK(fleet_bans == 3, "three ban events of origin crowdsec for watch (%zu events)", nev);

	/* Again: already. Then unbanned. */
	a = ask("{\"command\":\"fleet\",\"ban\":[{\"address\":\"203.0.113.1\",\"seconds\":600}]}", 0);
	CHECK(num(a, "already") == 1 && num(a, "banned") == 0 && json_array_size(json_object_get(a, "errors")) == 0,
	      "the same ban again: already, no error");
	json_decref(a);
	a = ask("{\"command\":\"fleet\",\"unban\":[\"203.0.113.1\",\"203.0.113.1\"]}", 0);
	CHECK(num(a, "unbanned") == 1 && num(a, "absent") == 1, "unbanned once, then absent (idempotent)");
	json_decref(a);
	CHECK(fakeban_timeout(f, &h) == 0, "gone from the set");

	/* Over 1000 items: refused whole, nothing applied. */
	size_t cap = 64 * 1024;
	char *big = malloc(cap);
	size_t off = (size_t)snprintf(big, cap, "{\"command\":\"fleet\",\"ban\":[");
	for (int i = 0; i < CTL_FLEET_ITEMS_MAX; i++)
		off += (size_t)snprintf(big + off, cap - off, "{\"address\":\"100.64.%d.%d\",\"seconds\":60},", i / 256,
					i % 256);
	snprintf(big + off, cap - off, "{\"address\":\"100.65.0.1\",\"seconds\":60}]}");
	struct banwriter_stats before, after;
	banwriter_get_stats(w, &before);
	a = ask(big, 0);
	const char *e = json_string_value(json_object_get(a, "error"));
	CHECK(json_is_false(json_object_get(a, "ok")) && e && strstr(e, "at most 1000"), "1001 decisions: refused (%s)",
	      e ? e : "no error");
	json_decref(a);
	/* 1000: all applied in one request. */
	big[off - 1] = ']';
	big[off] = '}';
	big[off + 1] = '\0';
	a = ask(big, 0);
	CHECK(num(a, "banned") == CTL_FLEET_ITEMS_MAX, "1000 decisions: all banned (%lld)", (long long)num(a, "banned"));
	json_decref(a);
	banwriter_get_stats(w, &after);
	CHECK(after.fleet[BAN_FLEET_BANNED] - before.fleet[BAN_FLEET_BANNED] == CTL_FLEET_ITEMS_MAX,
	      "the refused request applied nothing: the writer banned exactly the 1000 of the second");
	free(big);

	/* Garbage: refused with a reason, or counted invalid; never a crash, never applied. */
	static const char *const junk[] = {
		"{\"command\":\"fleet\",\"ban\":\"203.0.113.1\"}",
		"{\"command\":\"fleet\",\"ban\":{\"address\":\"203.0.113.1\",\"seconds\":60}}",
		"{\"command\":\"fleet\",\"unban\":7}",
		"{\"command\":\"fleet\",\"ban\":[[[[[[[[[[]]]]]]]]]]}",
		"{\"command\":\"fleet\",\"ban\":[{\"address\":\"203.0.113.1\\u0000x\",\"seconds\":60}]}",
		"{\"command\":\"fleet\",\"ban\":[{\"address\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\",\"seconds\":60}]}",
		"{\"command\":\"fleet\",\"ban\":[{\"address\":\"203.0.113.1\",\"seconds\":9223372036854775807}]}",
		"{\"command\":\"fleet\"}",
	};
	bool sane = true;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		a = ask(junk[i], 0);
		bool okv = json_is_true(json_object_get(a, "ok"));
		char *text = json_dumps(a, JSON_COMPACT);
		/* ok only with every item accounted for; else a reason */
		sane = sane && a && (okv ? json_is_integer(json_object_get(a, "invalid")) :
					   json_is_string(json_object_get(a, "error")));
		if (!sane)
			CHECK(0, "garbage %zu: %s", i, text ? text : "(null)");
		free(text);
		json_decref(a);
	}
	CHECK(sane, "%zu requests of garbage: refused with a reason or counted", sizeof(junk) / sizeof(junk[0]));
	CHECK(fakeban_timeout(f, &h) == 86400 * 1000, "the longest decision (2^63-1 s) is cut to [fleet] max_duration");
	a = ask("{\"command\":\"fleet\",\"unban\":[\"203.0.113.1\"]}", 0);
	json_decref(a);

	/* The [fleet] group: fleet and bans, not ban. */
	gid_t fleet_gid = getgid() + 1;
	CHECK(control_allow_fleet(c, fleet_gid, err, sizeof(err)) == 0, "control_allow_fleet: %s", err);
	a = ask("{\"command\":\"fleet\",\"ban\":[{\"address\":\"203.0.113.77\",\"seconds\":60}]}", fleet_gid);
	CHECK(num(a, "banned") == 1, "the [fleet] group: fleet");
	json_decref(a);
	a = ask("{\"command\":\"bans\"}", fleet_gid);
	CHECK(json_is_true(json_object_get(a, "ok")), "the [fleet] group: bans");
	json_decref(a);
	a = ask("{\"command\":\"ban\",\"address\":\"203.0.113.78\"}", fleet_gid);
	e = json_string_value(json_object_get(a, "error"));
	CHECK(e && strstr(e, "[fleet] group may ask"), "the [fleet] group: ban refused");
	json_decref(a);
	a = ask("{\"command\":\"unban\",\"address\":\"203.0.113.77\"}", fleet_gid);
	CHECK(json_is_false(json_object_get(a, "ok")), "the [fleet] group: a local unban refused");
	json_decref(a);
	a = ask("{\"command\":\"fleet\"}", fleet_gid + 1);
	e = json_string_value(json_object_get(a, "error"));
	CHECK(e && !strcmp(e, "permission denied"), "another group: fleet refused");
	json_decref(a);

	control_free(c);
	banwriter_stop(w);
	banwriter_free(w);
	/* With the writer stopped: said, not waited for. */
	struct banwriter *idle = NULL;
	banwriter_new_backend(&idle, cfg, q, events, key, &f->b);
	view.writer = idle;
	control_open(&c, sock, (gid_t)-1, &view, err, sizeof(err));
	a = c ? ask("{\"command\":\"fleet\",\"ban\":[{\"address\":\"203.0.113.1\",\"seconds\":60}]}", 0) : NULL;
	e = json_string_value(json_object_get(a, "error"));
	CHECK(e && !strcmp(e, "nfsentry is stopping"), "a writer not running: %s", e ? e : "no error");
	json_decref(a);
	control_free(c);
	banwriter_free(idle);
	f->b.ops->free(&f->b);
	ban_feed_free(feed);
	banq_free(q);
	event_sink_close(events);
	config_free(cfg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	return tap_done();
}
