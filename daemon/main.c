/* main.c - command line, start-up checks, and the main loop (signals, timers, reload).
 *
 * run() starts the daemon in named steps (steps[] below) and stops them in reverse, whether
 * the loop ended or a step failed. Five kinds of thread, each started and stopped one way
 * (core/thread.h):
 *
 *   main             this one: signals (signalfd), SIGHUP reloads, the protect watch's
 *                    descriptors (routes, addresses, resolv_conf) and the timers (watchdog,
 *                    metrics file, hourly counters, protected peers re-read). Owns the
 *                    configuration, every object below, and the protected peers it gives the
 *                    writer and the engine.
 *   worker (each)    one per queue (queue/worker.c): owns its nfnetlink_queue socket; runs the
 *                    engine (engine/engine.c) over each packet; shares the tracker, flow table
 *                    and packet rings (sharded, locked), pushes ban requests into the ban queue
 *                    (ban/banq.c) and alerts to the evidence thread; never waits on either.
 *   ban writer       ban/writer.c: owns the ban table, the offence history, its nftables
 *                    netlink socket and state_dir/bans; pops the ban queue (the workers' bans
 *                    and the control server's manual ones) and commits them to the sets.
 *   evidence saver   evidence/saver.c: owns the evidence store ([evidence] dir) and its job
 *                    queue; attributes processes, saves records, writes the events, and hands
 *                    each ban's token to the writer (banwriter_set_token()).
 *   control server   control/server.c: owns the control socket and its connections; reads
 *                    the daemon through struct daemon_view (metrics/view.h), as the metrics do, and
 *                    sends manual bans through the ban queue, waiting for the writer's answer.
 *
 * `nfsentry replay` starts none of these: this thread runs the engine, and on two CPUs a
 * reader thread (replay/replay.c) owns the capture file and fills the ring it reads from.
 *
 * Stop order (why the steps are in this order): the control server first (its requests wait
 * on the writer), then the workers (no new bans), the engine's verdicts on open connections,
 * the writer (it drains its queue; its last bans still make records), the evidence thread (it
 * saves them and sends their tokens to the writer's table), and only then the ban table is
 * saved and the counters logged. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <grp.h>
#include <poll.h>
#include <linux/netfilter/nf_tables.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "ban/banq.h"
#include "ban/writer.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/event.h"
#include "engine/engine.h"
#include "decide/protect.h"
#include "decide/protectwatch.h"
#include "detect/flow.h"
#include "detect/tracker.h"
#include "replay/pcapsrc.h"
#include "replay/replay.h"
#include "nft/nl.h"
#include "control/server.h"
#include "metrics/metrics.h"
#include "metrics/view.h"
#include "nft/ruleset.h"
#include "nft/setelem.h"
#include "nft/setlookup.h"
#include "queue/procstat.h"
#include "queue/worker.h"

#define BANQ_CAPACITY 4096
/* Ban events kept for watchers of the control socket (nfsentry-crowdsec): one that falls
 * further behind is told how many it lost and reads the ban list again (ban/feed.h). */
#define BAN_FEED_CAPACITY 4096
#define STALL_S 10 /* a worker silent this long stops the watchdog pings */
#define METRICS_EVERY_S 5
#define STATS_EVERY_MS (3600 * 1000) /* the counters in the log, hourly */
/* Route and resolver changes come in bursts (DHCP renews an address, replaces a route, rewrites
 * resolv.conf): read the lists once things are quiet for this long, but no later than
 * PROTECT_LATEST_MS after the first notice, so a steady stream cannot postpone it. */
#define PROTECT_QUIET_MS 500
#define PROTECT_LATEST_MS 3000
/* Prefixes tracked for distributed scans: a quarter of max_sources, at least 64. */
#define PREFIXES_OF(max_sources) ((uint32_t)((max_sources) / 4 > 64 ? (max_sources) / 4 : 64))

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nfsentry [-c FILE]                 run the daemon in the foreground\n"
		"       nfsentry [-c FILE] --check         validate the configuration\n"
		"       nfsentry [-c FILE] --dump-config   print the effective configuration\n"
		"       nfsentry load-ruleset FILE         load an nftables ruleset (see README)\n"
		"       nfsentry replay FILE [-c CONFIG] [--single-thread]\n"
		"                                          run the detectors over a pcap/pcapng file;\n"
		"                                          events as JSON lines on stdout\n"
		"       nfsentry --version | --help\n"
		"\n"
		"Default configuration: %s\n", CONFIG_DEFAULT_PATH);
}

static int cmd_load_ruleset(const char *path)
{
	char err[4096];
	int r = ruleset_load(path, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, err[0] ? err : strerror(-r));
		return 1;
	}
	if (r > 0)
		printf("%s: loaded; this kernel has no nft queue expression (CONFIG_NFT_QUEUE), so %d queue "
		       "statement(s) were loaded as xt NFQUEUE targets (nft_compat)\n", path, r);
	else
		printf("%s: loaded\n", path);
	return 0;
}

/* Offline: the same engine over a capture, in capture time, events to stdout. The file is read
 * by a thread of its own when there are two CPUs, unless @single_thread (replay/replay.h). */
static int cmd_replay(const char *file, const char *cfg_path, bool single_thread)
{
	struct nfs_config *c = NULL;
	struct pcapsrc *src = NULL;
	struct event_sink *sink = NULL;
	struct tracker *t = NULL, *prefixes = NULL;
	struct flowtab *flows = NULL;
	struct engine e;
	struct engine_counters cnt = { 0 };
	uint8_t key[16];
	char err[1024];
	int r, rc = 1;
	bool engine_ok = false;

	if (cfg_path) {
		if (config_load(&c, cfg_path, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	} else if (config_new_default(&c) < 0) {
		return 1;
	}
	/* stdout carries the events; stderr only what goes wrong. */
	log_set_level(LOG_LVL_WARN);
	if (pcapsrc_open(&src, file, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", file, err);
		goto out;
	}
	if (sodium_init() < 0)
		goto out;
	randombytes_buf(key, sizeof(key));
	tracker_new(&t, (uint32_t)c->max_sources, key);
	tracker_new(&prefixes, PREFIXES_OF(c->max_sources), key);
	flowtab_new(&flows, (uint32_t)c->max_flows, key);
	if (!t || !prefixes || !flows || event_sink_open(&sink, NULL, stdout) < 0 ||
	    engine_init(&e, t, flows, NULL, sink, c) < 0) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	engine_ok = true;
	engine_set_prefixes(&e, prefixes);
	/* This thread alone runs the engine (a reader thread only reads the file): the tables need
	 * no locks. */
	tracker_set_single(t);
	tracker_set_single(prefixes);
	flowtab_set_single(flows);
	r = replay_run(&e, src, !single_thread && replay_cpus_many(), &cnt, err, sizeof(err));
	engine_finish(&e, &cnt);
	struct pcapsrc_stats ps;
	pcapsrc_get_stats(src, &ps);
	fprintf(stderr, "%s: %s, %llu frames, %llu IP packets (%llu malformed), %llu not IP; %llu events\n", file,
		pcapsrc_linktype(src), (unsigned long long)ps.frames, (unsigned long long)ps.ip,
		(unsigned long long)atomic_load(&cnt.malformed), (unsigned long long)ps.skipped,
		(unsigned long long)atomic_load(&cnt.events));
	if (r < 0)
		fprintf(stderr, "%s: %s (the packets before it were replayed)\n", file, err);
	rc = r < 0 ? 1 : 0;
out:
	if (engine_ok)
		engine_deinit(&e);
	event_sink_close(sink);
	flowtab_free(flows);
	tracker_free(t);
	tracker_free(prefixes);
	pcapsrc_close(src);
	config_free(c);
	return rc;
}

/* Compares the queues the ruleset feeds with those we bind. Logs the difference. */
static int check_ruleset(struct nl *nl, const struct nfs_config *c)
{
	struct ruleset_queues *q = calloc(1, sizeof(*q));
	char only_rules[256] = "", only_conf[256] = "";
	size_t o1 = 0, o2 = 0;
	int r;

	if (!q)
		return -ENOMEM;
	r = ruleset_queues_read(nl, q);
	if (r == -ENOENT) {
		log_err("table inet nfsentry is not loaded: run `nfsentry load-ruleset %s/nfsentry.nft` first",
			NFSENTRY_SYSCONFDIR);
		goto out;
	}
	if (r == -EOPNOTSUPP) {
		log_err("table inet nfsentry has a rule that picks its queue at run time (queue to <expression>); "
			"nfsentry needs fixed queue numbers to check them against [queue]");
		goto out;
	}
	if (r < 0) {
		log_err("cannot read table inet nfsentry: %s%s", strerror(-r),
			r == -EPERM ? " (nfsentry needs CAP_NET_ADMIN)" : "");
		goto out;
	}
	for (unsigned n = 0; n < 65536; n++) {
		bool in_rules = ruleset_queues_has(q, n);
		bool in_conf = (n >= c->base && n < c->base + c->queues) ||
			       (n >= c->inspect_base && n < c->inspect_base + c->queues);
		if (in_rules && !in_conf && o1 < sizeof(only_rules) - 8)
			o1 += (size_t)snprintf(only_rules + o1, sizeof(only_rules) - o1, " %u", n);
		if (!in_rules && in_conf && o2 < sizeof(only_conf) - 8)
			o2 += (size_t)snprintf(only_conf + o2, sizeof(only_conf) - o2, " %u", n);
	}
	if (q->rules == 0) {
		log_err("table inet nfsentry has no rule that queues packets: reload the shipped ruleset");
		r = -ENOENT;
	} else if (o1 || o2) {
		log_err("the ruleset and [queue] disagree (queues = %llu, base = %llu, inspect_base = %llu):%s%s%s%s; "
			"make both name the same queues", (unsigned long long)c->queues, (unsigned long long)c->base,
			(unsigned long long)c->inspect_base,
			o1 ? " the ruleset queues to" : "", o1 ? only_rules : "",
			o2 ? (o1 ? "; nfsentry binds, but nothing queues to," : " nfsentry binds, but nothing queues to,") : "",
			o2 ? only_conf : "");
		r = -EINVAL;
	}
out:
	free(q);
	return r;
}

/* The sets nfsentry writes must be declared so the kernel can hold what it writes. An edited
 * ruleset can break that silently: `policy memory` on a set without `flags interval` makes
 * nf_tables store it in an rbtree, which takes one address and answers EEXIST for every other
 * (measured on 6.18; nft/nfsentry.nft says so), and the writer takes EEXIST for "already
 * banned", so every ban after the first would be logged and never enforced. Without
 * `flags timeout` no ban could expire. Refused here, once, with the set's name. Sets missing
 * altogether are the ban writer's to report (saved_bans_start, the fleet's sync). */
static int check_ban_sets(struct nl *nl)
{
	static const char *const sets[] = { NFTSET_BAN4,   NFTSET_BAN6,   NFTSET_BANNET4,   NFTSET_BANNET6,
					    NFTSET_FLEET4, NFTSET_FLEET6, NFTSET_FLEETNET4, NFTSET_FLEETNET6 };

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct nftset_decl d;
		int r = nftset_decl_read(nl, sets[i], &d);

		if (r == -ENOENT)
			continue;
		if (r < 0) {
			log_err("cannot read set %s of table inet nfsentry: %s", sets[i], strerror(-r));
			return r;
		}
		if (!(d.flags & NFT_SET_TIMEOUT)) {
			log_err("set %s of table inet nfsentry lacks `flags timeout`: its bans could never expire; "
				"reload the shipped ruleset (nfsentry load-ruleset %s/nfsentry.nft)", sets[i],
				NFSENTRY_SYSCONFDIR);
			return -EINVAL;
		}
		if (d.policy == NFT_SET_POL_MEMORY && !(d.flags & NFT_SET_INTERVAL)) {
			log_err("set %s of table inet nfsentry declares `policy memory`: the kernel then keeps it in an "
				"rbtree that refuses every address after the first (EEXIST), so bans would be lost; remove "
				"the line (see the comment above the sets in %s/nfsentry.nft)", sets[i], NFSENTRY_SYSCONFDIR);
			return -EINVAL;
		}
	}
	return 0;
}

/* The sets of active peers come with the ruleset since issue 10; an older ruleset lacks them.
 * nfsentry runs without (active peers are then banned like anyone), and says so. */
static void check_active_sets(struct nl *nl, const struct nfs_config *c)
{
	struct nftset_query q[3] = {
		{ .set = NFTSET_ACTIVE4, .key = { .family = AF_INET, .plen = 32 } },
		{ .set = NFTSET_ACTIVE6, .key = { .family = AF_INET6, .plen = 128 } },
		{ .set = NFTSET_ACTIVE6NET, .key = { .family = AF_INET6, .plen = 128 } },
	};

	if (!c->active_peers)
		return;
	char bad[128] = "";
	size_t o = 0;
	int r = nftset_lookup(nl, q, 3), err = r;
	for (int i = 0; i < 3; i++) {
		if (r < 0 || q[i].err) {
			o += (size_t)snprintf(bad + o, sizeof(bad) - o, "%s%s", o ? ", " : "", q[i].set);
			err = r < 0 ? r : q[i].err;
		}
	}
	if (o)
		log_warn("cannot use set(s) %s of table inet nfsentry (%s): active peers ([allow] active_peers) are not "
			 "recognised; load the shipped ruleset (nfsentry load-ruleset %s/nfsentry.nft)", bad,
			 strerror(-err), NFSENTRY_SYSCONFDIR);
}

/* Creates the folder of @path if missing (one level: /run/nfsentry without systemd). */
static void mkdir_parent(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
	}
}

/* The loop's timers, on CLOCK_MONOTONIC (a step of the wall clock would stop them). Each one,
 * when due, does its job and arms itself again (or not: the protect re-read is one-shot). */
enum loop_timer {
	TIMER_PROTECT,  /* re-read the protected peers: quiet for PROTECT_QUIET_MS, or PROTECT_LATEST_MS */
	TIMER_WATCHDOG, /* WATCHDOG=1, while every worker turns; armed under systemd's WatchdogSec= */
	TIMER_METRICS,  /* [daemon] metrics_file, every METRICS_EVERY_S */
	TIMER_STATS,    /* the counters in the log, every STATS_EVERY_MS */
	TIMER_COUNT
};
#define TIMER_OFF INT64_MAX

/* Everything the daemon runs, made and started by the steps of run() and stopped by them in
 * reverse; main owns all of it, and the threads see it through @view. */
struct daemon {
	struct nfs_config *cfg;
	const char *cfg_path;
	uint8_t key[16]; /* the secret of every hash table; wiped once the last of them is made */
	struct event_sink *events;
	struct tracker *tracker;
	struct tracker *prefixes; /* distributed scans: sources added up per prefix */
	struct flowtab *flows;
	struct banq *banq;
	struct ban_feed *feed; /* bans and unbans as they happen, for the control socket's watch */
	struct banwriter *writer;
	struct pktring *ring;       /* recent packets, for evidence records; NULL: none */
	struct evidence *evidence;  /* NULL: [evidence] dir empty or unusable */
	struct netlist protect;
	struct protect_ends protect_ends;
	struct protect_watch *watch; /* NULL: nothing followed (neither resolvers nor gateways protected) */
	int64_t watch_first_ms, watch_last_ms; /* notices since the last read; 0: none pending */
	struct engine engine;
	bool engine_ready;
	struct worker **workers;
	size_t nworkers;
	struct daemon_view view; /* what the control server and the metrics read */
	struct control *control;
	int sfd; /* signalfd: SIGTERM, SIGINT, SIGHUP, SIGUSR1; -1 before the "signals" step */
	int64_t due_ms[TIMER_COUNT];
	int watchdog_every_ms;
	bool metrics_warned;
};

static void daemon_protect(struct daemon *d)
{
	int failed = protect_discover(&d->protect, d->cfg->protect_resolvers, d->cfg->resolv_conf,
				      d->cfg->protect_gateways, &d->protect_ends);
	if (failed)
		log_warn("could not read %d of the sources of protected peers (resolv_conf, routes)", failed);
	log_info("%zu protected addresses (this host's, resolvers, gateways), %zu allowlisted networks", d->protect.n,
		 d->cfg->allow.n);
}

/* Says which entries of @a are not in @b: "@verb ADDR (KIND)". */
static void protect_diff(const struct netlist *a, const struct protect_ends *ends, const struct netlist *b,
			 const char *verb)
{
	char buf[NFS_ADDR_STRLEN];
	for (size_t i = 0; i < a->n; i++) {
		const struct nfs_addr *m = netlist_match(b, &a->net[i]);
		if (!m || !nfs_addr_equal(m, &a->net[i]))
			log_notice("%s %s (%s)", verb, nfs_addr_format(&a->net[i], buf, sizeof(buf)), protect_kind(ends, i));
	}
}

/* Routes, addresses or resolv_conf changed: read the protected peers again and hand them on. */
static void daemon_protect_changed(struct daemon *d)
{
	struct netlist *old = malloc(sizeof(*old));
	struct protect_ends old_ends = d->protect_ends;

	if (!old)
		return;
	*old = d->protect;
	int failed = protect_discover(&d->protect, d->cfg->protect_resolvers, d->cfg->resolv_conf,
				      d->cfg->protect_gateways, &d->protect_ends);
	if (failed)
		log_warn("could not read %d of the sources of protected peers (resolv_conf, routes)", failed);
	protect_diff(&d->protect, &d->protect_ends, old, "now protected:");
	protect_diff(old, &old_ends, &d->protect, "no longer protected:");
	if (banwriter_set_protected(d->writer, &d->protect, &d->protect_ends) < 0)
		log_err("out of memory: the ban writer keeps the previous protected peers");
	if (engine_set_spared(&d->engine, &d->cfg->allow, &d->protect) < 0)
		log_err("out of memory: IPv6 prefixes keep the previous allowlist and protected peers");
	free(old);
}

/* Starts following what protected peers come from: addresses and routes (this host's own
 * addresses are always protected), and resolv_conf when resolvers are. */
static void daemon_watch(struct daemon *d)
{
	protect_watch_close(d->watch);
	d->watch = NULL;
	d->watch_first_ms = 0;
	d->due_ms[TIMER_PROTECT] = TIMER_OFF;
	if (protect_watch_open(&d->watch, d->cfg->protect_resolvers ? d->cfg->resolv_conf : NULL, true) < 0)
		log_err("out of memory: route and resolver changes are not followed");
}

/* The watch's descriptors were readable: reads the notices, and arms the re-read once quiet. */
static void daemon_watch_read(struct daemon *d)
{
	int64_t now = clock_mono_ms();
	if (!d->watch || !protect_watch_read(d->watch))
		return;
	if (!d->watch_first_ms)
		d->watch_first_ms = now;
	d->watch_last_ms = now;
	int64_t due = d->watch_last_ms + PROTECT_QUIET_MS, latest = d->watch_first_ms + PROTECT_LATEST_MS;
	d->due_ms[TIMER_PROTECT] = due < latest ? due : latest;
}

/* Says what config_load() found odd but valid, one line each, at start, on reload and for --check. */
static void config_warn(const struct nfs_config *c)
{
	for (const char *p = c->warnings; *p;) {
		size_t n = strcspn(p, "\n");
		log_warn("%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* SIGHUP is also logrotate's "reopen your log" (/etc/logrotate.d/nfsentry): the events file is
 * reopened on every SIGHUP, whether or not the new configuration is accepted. */
static void daemon_reopen_events(struct daemon *d)
{
	if (d->events && event_sink_reopen(d->events) < 0)
		log_warn("%s: cannot reopen the events file", d->cfg->events);
}

static void daemon_reload(struct daemon *d)
{
	struct nfs_config *nc;
	char err[1024];
	int r = config_load(&nc, d->cfg_path, err, sizeof(err));

	if (r < 0) {
		log_err("reload refused, keeping the running configuration: %s", err);
		daemon_reopen_events(d);
		return;
	}
	config_warn(nc);
	if (nc->queues != d->cfg->queues || nc->base != d->cfg->base || nc->max_len != d->cfg->max_len ||
	    nc->copy_range != d->cfg->copy_range || nc->fail_open != d->cfg->fail_open ||
	    nc->max_sources != d->cfg->max_sources || nc->max_history != d->cfg->max_history ||
	    strcmp(nc->state_dir, d->cfg->state_dir))
		log_warn("reload: [queue] settings, max_sources, max_history and state_dir take effect at the next "
			 "restart; the rest is applied now");
	if (nc->inspect_base != d->cfg->inspect_base || nc->max_flows != d->cfg->max_flows ||
	    strcmp(nc->events, d->cfg->events))
		log_warn("reload: inspect_base, max_flows and events take effect at the next restart");
	if (strcmp(nc->evidence_dir, d->cfg->evidence_dir) || nc->evidence_packets != d->cfg->evidence_packets ||
	    nc->evidence_snaplen != d->cfg->evidence_snaplen || nc->evidence_max_rings != d->cfg->evidence_max_rings)
		log_warn("reload: [evidence] dir, packets, snaplen and max_rings take effect at the next restart");
	/* The socket is opened, given its groups and its ACL once (control_start_step()). */
	if (strcmp(nc->control_socket, d->cfg->control_socket) || strcmp(nc->control_group, d->cfg->control_group) ||
	    strcmp(nc->fleet_group, d->cfg->fleet_group))
		log_warn("reload: [daemon] control_socket, control_group and [fleet] group take effect at the next restart");
	if (d->evidence)
		evidence_configure(d->evidence, nc);
	log_set_level(nc->log_level);
	engine_configure(&d->engine, nc);
	daemon_reopen_events(d);
	struct nfs_config *old = d->cfg;
	d->cfg = nc;
	daemon_protect(d);
	banwriter_reconfigure(d->writer, nc, &d->protect, &d->protect_ends);
	if (engine_set_spared(&d->engine, &nc->allow, &d->protect) < 0)
		log_err("reload: out of memory; IPv6 prefixes keep the previous allowlist and protected peers");
	daemon_watch(d); /* resolv_conf may have moved */
	config_free(old);
	log_notice("configuration reloaded from %s", d->cfg_path);
}

static void log_stats(struct daemon *d)
{
	struct tracker_stats ts;
	struct banwriter_stats bs;
	tracker_get_stats(d->tracker, &ts);
	banwriter_get_stats(d->writer, &bs);
	for (size_t i = 0; i < d->nworkers; i++) {
		struct worker_stats s;
		worker_get_stats(d->workers[i], &s);
		log_info("queue %u: %llu packets (%llu dropped, %llu accepted), %llu malformed, %llu ENOBUFS, "
			 "%llu lost (id gaps), %llu ban requests", worker_queue(d->workers[i]),
			 (unsigned long long)s.packets, (unsigned long long)s.dropped, (unsigned long long)s.accepted,
			 (unsigned long long)s.malformed, (unsigned long long)s.enobufs, (unsigned long long)s.id_gaps,
			 (unsigned long long)s.ban_requests);
	}
	struct flow_stats fs;
	flowtab_get_stats(d->flows, &fs);
	log_info("inspecting %llu connections (%llu evicted)", (unsigned long long)fs.flows, (unsigned long long)fs.evicted);
	log_info("tracking %llu sources (%llu evicted); %llu bans added, %llu refused by the kernel, "
		 "%llu allowlisted, %llu protected, %llu active peers", (unsigned long long)ts.sources,
		 (unsigned long long)ts.evicted, (unsigned long long)bs.added, (unsigned long long)bs.refused_by_kernel,
		 (unsigned long long)bs.not_banned_allowed, (unsigned long long)bs.not_banned_protected,
		 (unsigned long long)bs.not_banned_active);
}

static void ban_token(void *writer, const struct nfs_addr *addr, const char *token)
{
	banwriter_set_token(writer, addr, token);
}

/* Evidence records are worth having, not worth refusing to protect the host for: without a
 * usable folder nfsentry runs on and its events carry no token. */
static void open_evidence(struct daemon *d, const uint8_t key[16])
{
	const struct nfs_config *c = d->cfg;
	char err[512];
	int r;

	if (!c->evidence_dir[0]) {
		log_info("evidence records are off ([evidence] dir is empty)");
		return;
	}
	r = pktring_new(&d->ring, (uint32_t)c->evidence_max_rings, (unsigned)c->evidence_packets,
			(unsigned)c->evidence_snaplen, key);
	if (r < 0) {
		log_err("evidence: cannot allocate the packet rings: %s; records will hold no packets", strerror(-r));
		d->ring = NULL;
	}
	r = evidence_new(&d->evidence, c, d->ring, d->events, err, sizeof(err));
	if (r < 0) {
		log_err("evidence records are off: %s", err);
		d->evidence = NULL;
		return;
	}
	banwriter_set_evidence(d->writer, d->evidence);
	evidence_set_ban_hook(d->evidence, ban_token, d->writer);
	struct evstore_stats st;
	evstore_get_stats(evidence_store(d->evidence), &st);
	log_info("evidence records in %s: %llu records, %llu bytes (bound %llu MiB)%s", c->evidence_dir,
		 (unsigned long long)st.records, (unsigned long long)st.bytes, (unsigned long long)c->evidence_max_mb,
		 c->attribution ? ", with process attribution" : "");
}

/* The kernel refuses a bind to a queue another netlink socket holds with EPERM (nfnetlink_queue.c,
 * nfqnl_recv_config), which reads like a missing capability. We got this far, so we have
 * CAP_NET_ADMIN (every nfnetlink request needs it, and the ruleset check made some): if the
 * kernel's queue table lists the queue, name its holder instead. */
static void log_queue_bind_error(uint16_t qn, int r)
{
	struct nfq_procstat ps;

	if ((r == -EPERM || r == -EBUSY) && nfq_procstat_read(NULL, qn, &ps) == 0)
		log_err("cannot bind queue %u: another process holds it (is nfsentry already running? "
			"/proc/net/netfilter/nfnetlink_queue lists it with netlink port ID %u; "
			"`ss -f netlink -p` names the process)", qn, ps.peer_portid);
	else
		log_err("cannot bind queue %u: %s%s", qn, strerror(-r),
			r == -EPERM ? " (nfsentry needs CAP_NET_ADMIN)" : "");
}

/* ---- The start steps. Each start logs its own failure and returns -1 (nfsentry exits 1);
 * each stop undoes its start, also a start that failed half-way, and runs in reverse order. */

static int key_start(struct daemon *d)
{
	if (sodium_init() < 0) {
		log_err("libsodium failed to initialise");
		return -1;
	}
	/* The secret behind every hash table that holds attacker-chosen keys. */
	randombytes_buf(d->key, sizeof(d->key));
	return 0;
}

static void key_stop(struct daemon *d)
{
	sodium_memzero(d->key, sizeof(d->key));
}

static int folders_start(struct daemon *d)
{
	/* The metrics file's folder (/run/nfsentry under systemd's RuntimeDirectory=). */
	if (d->cfg->metrics_file[0])
		mkdir_parent(d->cfg->metrics_file);
	if (mkdir(d->cfg->state_dir, 0750) < 0 && errno != EEXIST)
		log_warn("%s: %s (offence history will not be saved)", d->cfg->state_dir, strerror(errno));
	return 0;
}

static int ruleset_start(struct daemon *d)
{
	struct nl nl;
	int r = nl_open(&nl);

	if (r < 0) {
		log_err("cannot open a netfilter netlink socket: %s (nfsentry needs CAP_NET_ADMIN)", strerror(-r));
		return -1;
	}
	r = check_ruleset(&nl, d->cfg);
	if (r == 0)
		r = check_ban_sets(&nl);
	if (r == 0)
		check_active_sets(&nl, d->cfg);
	nl_close(&nl);
	return r < 0 ? -1 : 0;
}

static int events_start(struct daemon *d)
{
	if (!d->cfg->events[0])
		return 0;
	mkdir_parent(d->cfg->events); /* /var/log/nfsentry without systemd's LogsDirectory= */
	int r = event_sink_open(&d->events, d->cfg->events, NULL);
	if (r < 0)
		log_warn("%s: cannot open the events file: %s; events are only logged", d->cfg->events, strerror(-r));
	return 0;
}

static void events_stop(struct daemon *d)
{
	event_sink_close(d->events);
	d->events = NULL;
}

static int tables_start(struct daemon *d)
{
	tracker_new(&d->tracker, (uint32_t)d->cfg->max_sources, d->key);
	tracker_new(&d->prefixes, PREFIXES_OF(d->cfg->max_sources), d->key);
	flowtab_new(&d->flows, (uint32_t)d->cfg->max_flows, d->key);
	banq_new(&d->banq, BANQ_CAPACITY);
	if (!d->tracker || !d->prefixes || !d->flows || !d->banq || ban_feed_new(&d->feed, BAN_FEED_CAPACITY) < 0) {
		log_err("out of memory");
		return -1;
	}
	return 0;
}

static void tables_stop(struct daemon *d)
{
	banq_free(d->banq);
	ban_feed_free(d->feed);
	d->feed = NULL;
	flowtab_free(d->flows);
	tracker_free(d->tracker);
	tracker_free(d->prefixes);
	d->banq = NULL;
	d->flows = NULL;
	d->tracker = d->prefixes = NULL;
}

static int writer_make(struct daemon *d)
{
	if (banwriter_new(&d->writer, d->cfg, d->banq, d->events, d->key) < 0)
		return -1; /* it logs why */
	banwriter_set_feed(d->writer, d->feed); /* made by tables_start(), freed after the writer */
	return 0;
}

static void writer_free(struct daemon *d)
{
	banwriter_free(d->writer);
	d->writer = NULL;
}

/* The last to use the key: it is wiped here, whether or not records are on. */
static int evidence_make(struct daemon *d)
{
	open_evidence(d, d->key);
	sodium_memzero(d->key, sizeof(d->key));
	return 0;
}

static void evidence_free_all(struct daemon *d)
{
	evidence_free(d->evidence);
	pktring_free(d->ring);
	d->evidence = NULL;
	d->ring = NULL;
}

static int saved_bans_start(struct daemon *d)
{
	struct banwriter_restored rs;
	int r = banwriter_restore(d->writer, &rs);

	if (r == -ENOENT) {
		log_err("set ban4, ban6, bannet4 or bannet6 is missing from table inet nfsentry: reload the shipped ruleset "
			"(nfsentry load-ruleset %s/nfsentry.nft)", NFSENTRY_SYSCONFDIR);
		return -1;
	} else if (r < 0) {
		log_err("cannot read the ban sets: %s", strerror(-r));
		return -1;
	}
	log_info("%u IPv4 and %u IPv6 bans already in the kernel, and %u of the fleet", rs.in_kernel4, rs.in_kernel6,
		 rs.fleet);
	if (rs.restored || rs.expired)
		log_notice("restored %u saved bans with their time left (%u had expired meanwhile)", rs.restored,
			   rs.expired);
	return 0;
}

/* The watch opens right after the lists are read, so no change falls between the two. */
static int protected_start(struct daemon *d)
{
	daemon_protect(d);
	banwriter_reconfigure(d->writer, d->cfg, &d->protect, &d->protect_ends);
	daemon_watch(d);
	return 0;
}

static void protected_stop(struct daemon *d)
{
	protect_watch_close(d->watch);
	d->watch = NULL;
}

static int engine_start(struct daemon *d)
{
	if (engine_init(&d->engine, d->tracker, d->flows, d->banq, d->events, d->cfg) < 0) {
		log_err("out of memory");
		return -1;
	}
	d->engine_ready = true;
	engine_set_prefixes(&d->engine, d->prefixes);
	if (engine_set_spared(&d->engine, &d->cfg->allow, &d->protect) < 0) {
		log_err("out of memory");
		return -1;
	}
	engine_set_evidence(&d->engine, d->evidence, d->ring);
	return 0;
}

static void engine_stop(struct daemon *d)
{
	if (d->engine_ready)
		engine_deinit(&d->engine);
	d->engine_ready = false;
}

/* Binds the queues (the threads start later): closed-port queues first, then as many
 * inspection queues. */
static int queues_start(struct daemon *d)
{
	d->workers = calloc(2 * d->cfg->queues, sizeof(*d->workers));
	if (!d->workers)
		return -1;
	for (uint64_t i = 0; i < 2 * d->cfg->queues; i++) {
		bool inspect = i >= d->cfg->queues;
		uint16_t qn = (uint16_t)(inspect ? d->cfg->inspect_base + i - d->cfg->queues : d->cfg->base + i);
		int r = worker_open(&d->workers[i], &d->engine, qn, inspect ? ORIGIN_INSPECT : ORIGIN_CLOSED_PORT, d->cfg);
		if (r < 0) {
			log_queue_bind_error(qn, r);
			return -1;
		}
		d->nworkers++;
	}
	return 0;
}

static void queues_stop(struct daemon *d)
{
	for (size_t i = 0; i < d->nworkers; i++)
		worker_free(d->workers[i]);
	free(d->workers);
	d->workers = NULL;
	d->nworkers = 0;
}

static int view_start(struct daemon *d)
{
	d->view = (struct daemon_view){
		.workers = d->workers, .nworkers = d->nworkers, .nclosed = d->cfg->queues, .writer = d->writer,
		.banq = d->banq, .feed = d->feed, .tracker = d->tracker, .flows = d->flows, .engine = &d->engine,
		.evidence = d->evidence, .ring = d->ring, .events = d->events, .started = time(NULL),
	};
	return 0;
}

/* Every thread has stopped; nothing is freed yet. */
static void exit_stats_stop(struct daemon *d)
{
	log_stats(d);
}

/* After the evidence thread, which sends the tokens of the last bans' records to the writer. */
static void ban_table_stop(struct daemon *d)
{
	banwriter_finish(d->writer);
}

static int evidence_thread_start(struct daemon *d)
{
	int r;
	if (d->evidence && (r = evidence_start(d->evidence)) < 0) {
		log_err("cannot start the evidence thread: %s", strerror(-r));
		return -1;
	}
	return 0;
}

static void evidence_thread_stop(struct daemon *d)
{
	evidence_stop(d->evidence);
}

static int writer_thread_start(struct daemon *d)
{
	int r = banwriter_start(d->writer);
	if (r < 0) {
		log_err("cannot start the ban writer: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* Drains and commits what is queued; before the evidence thread stops, as the writer's last
 * bans still hand it records to save. */
static void writer_thread_stop(struct daemon *d)
{
	banwriter_stop(d->writer);
}

/* Final verdicts on the connections still open: the workers are gone, the writer still runs. */
static void open_connections_stop(struct daemon *d)
{
	struct engine_counters fin = { 0 };
	if (d->engine_ready)
		engine_finish(&d->engine, &fin);
}

static int workers_start(struct daemon *d)
{
	for (size_t i = 0; i < d->nworkers; i++) {
		int r = worker_start(d->workers[i]);
		if (r < 0) {
			log_err("cannot start worker for queue %u: %s", worker_queue(d->workers[i]), strerror(-r));
			return -1;
		}
	}
	return 0;
}

/* No new ban requests after this. */
static void workers_stop(struct daemon *d)
{
	for (size_t i = 0; i < d->nworkers; i++)
		worker_stop(d->workers[i]);
}

static int control_start_step(struct daemon *d)
{
	gid_t gid = (gid_t)-1;
	char err[512];
	int r;

	if (!d->cfg->control_socket[0])
		return 0;
	if (d->cfg->control_group[0]) {
		struct group *g = getgrnam(d->cfg->control_group);
		if (!g) {
			log_err("[daemon] control_group: no group named \"%s\"", d->cfg->control_group);
			return -1;
		}
		gid = g->gr_gid;
	}
	mkdir_parent(d->cfg->control_socket);
	r = control_open(&d->control, d->cfg->control_socket, gid, &d->view, err, sizeof(err));
	/* Only a member of a group may give it a file. Under the packaged unit nfsentry is a
	 * dynamic user, member of no group it is not told of. */
	if (r == -EPERM && gid != (gid_t)-1) {
		log_err("cannot open the control socket: %s (nfsentry is not a member of group %s: under "
			"systemd, add SupplementaryGroups=%s to the unit with `systemctl edit nfsentry`)",
			err, d->cfg->control_group, d->cfg->control_group);
		return -1;
	} else if (r < 0) {
		log_err("cannot open the control socket: %s", err);
		return -1;
	}
	if (d->cfg->fleet_group[0]) {
		struct group *g = getgrnam(d->cfg->fleet_group);
		if (!g) {
			log_err("[fleet] group: no group named \"%s\"", d->cfg->fleet_group);
			return -1;
		}
		if ((r = control_allow_fleet(d->control, g->gr_gid, err, sizeof(err))) < 0) {
			log_err("cannot open the control socket to [fleet] group %s: %s", d->cfg->fleet_group, err);
			return -1;
		}
		log_info("control socket: group %s may ask for status, bans, watch and fleet", d->cfg->fleet_group);
	}
	if ((r = control_start(d->control)) < 0) {
		log_err("cannot start the control socket's thread: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* First of the threads to stop: its requests wait on the writer, which still runs. */
static void control_stop(struct daemon *d)
{
	control_free(d->control);
	d->control = NULL;
}

/* Signals arrive as reads on a descriptor: no work in handlers (main() blocked them before
 * any thread existed, so every thread inherits the mask). */
static int signals_start(struct daemon *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	d->sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (d->sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void signals_stop(struct daemon *d)
{
	if (d->sfd >= 0)
		close(d->sfd);
	d->sfd = -1;
}

static int ready_start(struct daemon *d)
{
	uint64_t wd_usec = 0;
	int64_t now = clock_mono_ms();

	for (int t = 0; t < TIMER_COUNT; t++)
		d->due_ms[t] = TIMER_OFF;
	/* Pinged at half systemd's WatchdogSec=, and at least every second. */
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec) {
		d->watchdog_every_ms = (int)(wd_usec / 2000);
		if (d->watchdog_every_ms <= 0 || d->watchdog_every_ms > 1000)
			d->watchdog_every_ms = 1000;
		d->due_ms[TIMER_WATCHDOG] = now;
	}
	d->due_ms[TIMER_METRICS] = now; /* due at once; it writes while metrics_file is set (a reload may set it) */
	d->due_ms[TIMER_STATS] = now + STATS_EVERY_MS;
	log_notice("nfsentry %s running: queues %llu-%llu (closed ports) and %llu-%llu (inspection), threshold %llu ports in %llus, ban %llus (x%g, max %llus)",
		   NFSENTRY_VERSION, (unsigned long long)d->cfg->base,
		   (unsigned long long)(d->cfg->base + d->cfg->queues - 1), (unsigned long long)d->cfg->inspect_base,
		   (unsigned long long)(d->cfg->inspect_base + d->cfg->queues - 1), (unsigned long long)d->cfg->threshold,
		   (unsigned long long)d->cfg->window, (unsigned long long)d->cfg->duration, d->cfg->factor,
		   (unsigned long long)d->cfg->max_duration);
	sd_notify(0, "READY=1\nSTATUS=running");
	return 0;
}

static void ready_stop(struct daemon *d)
{
	(void)d;
	sd_notify(0, "STOPPING=1");
}

struct step {
	const char *name;
	int (*start)(struct daemon *d); /* NULL: the step only stops something (its place sets when) */
	void (*stop)(struct daemon *d); /* NULL: nothing to undo */
};

/* In start order; stopped in reverse, from the last step started (the one that failed too).
 * The stop order is the point: control socket, workers, open connections' verdicts, ban writer
 * thread, evidence thread, ban table saved, counters logged, then every object freed. */
static const struct step steps[] = {
	{ "random key", key_start, key_stop },
	{ "state folders", folders_start, NULL },
	{ "ruleset check", ruleset_start, NULL },
	{ "events file", events_start, events_stop },
	{ "tables", tables_start, tables_stop },
	{ "ban writer", writer_make, writer_free },
	{ "evidence", evidence_make, evidence_free_all },
	{ "saved bans", saved_bans_start, NULL },
	{ "protected peers", protected_start, protected_stop },
	{ "engine", engine_start, engine_stop },
	{ "queues", queues_start, queues_stop },
	{ "view", view_start, NULL },
	{ "counters at exit", NULL, exit_stats_stop },
	{ "ban table saved", NULL, ban_table_stop },
	{ "evidence thread", evidence_thread_start, evidence_thread_stop },
	{ "ban writer thread", writer_thread_start, writer_thread_stop },
	{ "open connections", NULL, open_connections_stop },
	{ "worker threads", workers_start, workers_stop },
	{ "control socket", control_start_step, control_stop },
	{ "signals", signals_start, signals_stop },
	{ "ready", ready_start, ready_stop },
};

/* ---- The main loop: signals, the protect watch's descriptors, and the timers. ---- */

static void protect_fire(struct daemon *d)
{
	d->due_ms[TIMER_PROTECT] = TIMER_OFF;
	d->watch_first_ms = 0;
	daemon_protect_changed(d);
}

/* Pings only while every worker is turning: a stuck one stops the pings, and systemd restarts us. */
static void watchdog_fire(struct daemon *d)
{
	int64_t now_s = clock_mono_ms() / 1000;
	bool alive = true;

	for (size_t i = 0; i < d->nworkers; i++)
		alive &= now_s - worker_heartbeat(d->workers[i]) < STALL_S;
	if (alive)
		sd_notify(0, "WATCHDOG=1");
	d->due_ms[TIMER_WATCHDOG] = clock_mono_ms() + d->watchdog_every_ms;
}

static void metrics_fire(struct daemon *d)
{
	if (d->cfg->metrics_file[0]) {
		int r = metrics_write(d->cfg->metrics_file, &d->view);
		if (r < 0 && !d->metrics_warned)
			log_warn("%s: cannot write the metrics: %s (said once)", d->cfg->metrics_file, strerror(-r));
		d->metrics_warned |= r < 0;
	}
	d->due_ms[TIMER_METRICS] = clock_mono_ms() + METRICS_EVERY_S * 1000;
}

static void stats_fire(struct daemon *d)
{
	log_stats(d);
	d->due_ms[TIMER_STATS] = clock_mono_ms() + STATS_EVERY_MS;
}

static void (*const timer_fire[TIMER_COUNT])(struct daemon *d) = {
	[TIMER_PROTECT] = protect_fire,
	[TIMER_WATCHDOG] = watchdog_fire,
	[TIMER_METRICS] = metrics_fire,
	[TIMER_STATS] = stats_fire,
};

/* Until the next timer is due; -1: none armed. */
static int loop_wait_ms(const struct daemon *d)
{
	int64_t next = TIMER_OFF;
	for (int t = 0; t < TIMER_COUNT; t++)
		if (d->due_ms[t] < next)
			next = d->due_ms[t];
	if (next == TIMER_OFF)
		return -1;
	int64_t left = next - clock_mono_ms();
	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Returns false on SIGTERM or SIGINT. */
static bool loop_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return true;
	if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
		log_notice("signal %u: stopping", si.ssi_signo);
		return false;
	}
	if (si.ssi_signo == SIGHUP) {
		sd_notify(0, "RELOADING=1");
		daemon_reload(d);
		sd_notify(0, "READY=1");
	}
	if (si.ssi_signo == SIGUSR1)
		log_stats(d);
	return true;
}

static void loop_run(struct daemon *d)
{
	for (;;) {
		struct pollfd pfd[1 + PROTECT_WATCH_FDS] = { { .fd = d->sfd, .events = POLLIN } };
		size_t npfd = 1 + (d->watch ? protect_watch_fds(d->watch, pfd + 1) : 0);
		if (poll(pfd, npfd, loop_wait_ms(d)) > 0) {
			bool watched = false;
			for (size_t i = 1; i < npfd; i++)
				watched |= pfd[i].revents != 0;
			if (watched)
				daemon_watch_read(d);
			if (pfd[0].revents && !loop_signal(d))
				return;
		}
		int64_t now = clock_mono_ms();
		for (int t = 0; t < TIMER_COUNT; t++)
			if (d->due_ms[t] <= now)
				timer_fire[t](d);
	}
}

/* Starts the steps in order, runs the loop until SIGTERM or SIGINT, and stops what was started
 * in reverse. Returns the exit status: 0, or 1 when a step failed. */
static int run(struct daemon *d)
{
	size_t n = 0;
	int rc = 0;

	while (n < sizeof(steps) / sizeof(steps[0])) {
		const struct step *s = &steps[n++];
		if (!s->start)
			continue;
		log_debug("starting: %s", s->name);
		if (s->start(d) < 0) {
			rc = 1;
			break;
		}
	}
	if (rc == 0)
		loop_run(d);
	while (n-- > 0) {
		if (!steps[n].stop)
			continue;
		log_debug("stopping: %s", steps[n].name);
		steps[n].stop(d);
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'k' },
		{ "dump-config", no_argument, NULL, 'd' },  { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },        { 0 },
	};
	struct daemon d = { .cfg_path = CONFIG_DEFAULT_PATH, .sfd = -1 };
	bool check = false, dump = false, cfg_given = false;
	char err[1024];
	sigset_t mask;
	int c, r;

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.cfg_path = optarg;
			cfg_given = true;
			break;
		case 'k': check = true; break;
		case 'd': dump = true; break;
		case 'V': printf("nfsentry %s\n", NFSENTRY_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		if (!strcmp(argv[optind], "load-ruleset") && argc - optind == 2)
			return cmd_load_ruleset(argv[optind + 1]);
		if (!strcmp(argv[optind], "replay") && argc - optind >= 2) {
			/* Without -c a replay uses the defaults, not this host's /etc config. */
			const char *cfg = cfg_given ? d.cfg_path : NULL;
			bool single_thread = false;
			for (int i = optind + 2; i < argc; i++) {
				if (!strcmp(argv[i], "-c") && i + 1 < argc)
					cfg = argv[++i];
				else if (!strcmp(argv[i], "--single-thread"))
					single_thread = true;
				else
					goto bad;
			}
			return cmd_replay(argv[optind + 1], cfg, single_thread);
		}
bad:
		usage(stderr);
		return 2;
	}

	r = config_load(&d.cfg, d.cfg_path, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	config_warn(d.cfg);
	if (check) {
		printf("configuration OK\n");
		config_free(d.cfg);
		return 0;
	}
	if (dump) {
		config_dump(d.cfg, stdout);
		config_free(d.cfg);
		return 0;
	}
	log_set_level(d.cfg->log_level);

	/* Block before any thread exists so every thread inherits the mask and signals reach
	 * only the signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = run(&d);
	config_free(d.cfg);
	return r;
}
