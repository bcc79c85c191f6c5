/* main.c - command line, start-up checks, and the main loop (signals, watchdog, reload).
 *
 * Threads: one worker per queue (queue/worker.c), one ban writer (ban/writer.c), and this
 * one, which only handles signals and timers. Workers hand bans to the writer through banq. */
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
#include "nft/nl.h"
#include "control/server.h"
#include "metrics.h"
#include "nft/ruleset.h"
#include "nft/setlookup.h"
#include "queue/procstat.h"
#include "queue/worker.h"

#define BANQ_CAPACITY 4096
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
		"       nfsentry replay FILE [-c CONFIG]   run the detectors over a pcap/pcapng file;\n"
		"                                          events as JSON lines on stdout\n"
		"       nfsentry --version | --help\n"
		"\n"
		"Default configuration: %s\n", CONFIG_DEFAULT_PATH);
}

static int cmd_load_ruleset(const char *path)
{
	char msg[4096];
	int r = ruleset_load(path, msg, sizeof(msg));

	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, msg[0] ? msg : strerror(-r));
		return 1;
	}
	if (r > 0)
		printf("%s: loaded; this kernel has no nft queue expression (CONFIG_NFT_QUEUE), so %d queue "
		       "statement(s) were loaded as xt NFQUEUE targets (nft_compat)\n", path, r);
	else
		printf("%s: loaded\n", path);
	return 0;
}

/* Offline: the same engine over a capture, in capture time, events to stdout. */
static int cmd_replay(const char *file, const char *cfg_path)
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
		if (config_load(cfg_path, &c, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	} else if (!(c = config_new_default())) {
		return 1;
	}
	/* stdout carries the events; stderr only what goes wrong. */
	log_set_level(LOG_LVL_WARN);
	if (pcapsrc_open(file, &src, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", file, err);
		goto out;
	}
	if (sodium_init() < 0)
		goto out;
	randombytes_buf(key, sizeof(key));
	t = tracker_new((uint32_t)c->max_sources, key);
	prefixes = tracker_new(PREFIXES_OF(c->max_sources), key);
	flows = flowtab_new((uint32_t)c->max_flows, key);
	if (!t || !prefixes || !flows || event_sink_open(&sink, NULL, stdout) < 0 ||
	    engine_init(&e, t, flows, NULL, sink, c) < 0) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	engine_ok = true;
	engine_set_prefixes(&e, prefixes);
	struct pcapsrc_packet pk;
	while ((r = pcapsrc_next(src, &pk, err, sizeof(err))) > 0) {
		struct engine_meta m = { .when = pk.ts, .origin = ORIGIN_REPLAY, .local = LOCAL_UNKNOWN };
		engine_packet(&e, pk.data, pk.caplen, pk.wirelen, &m, &cnt);
	}
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

struct daemon {
	struct nfs_config *cfg;
	struct control *control;
	const char *cfg_path;
	struct event_sink *events;
	struct flowtab *flows;
	bool engine_ready;
	struct tracker *tracker;
	struct tracker *prefixes; /* distributed scans: sources added up per prefix */
	struct banq *banq;
	struct banwriter *writer;
	struct engine engine;
	struct pktring *ring;       /* recent packets, for evidence records; NULL: none */
	struct evidence *evidence;  /* NULL: [evidence] dir empty or unusable */
	struct worker **workers;
	size_t nworkers;
	struct netlist protect;
	struct protect_ends protect_ends;
	struct protect_watch *watch; /* NULL: nothing followed (neither resolvers nor gateways protected) */
	int64_t watch_first_ms, watch_last_ms; /* notices since the last read; 0: none pending */
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
	if (protect_watch_open(&d->watch, d->cfg->protect_resolvers ? d->cfg->resolv_conf : NULL, true) < 0)
		log_err("out of memory: route and resolver changes are not followed");
}

/* One turn of the main loop: notices read, and the lists read again once quiet. */
static void daemon_watch_turn(struct daemon *d, bool readable)
{
	int64_t now = clock_mono_ms();
	if (readable && d->watch && protect_watch_read(d->watch)) {
		if (!d->watch_first_ms)
			d->watch_first_ms = now;
		d->watch_last_ms = now;
	}
	if (d->watch_first_ms &&
	    (now - d->watch_last_ms >= PROTECT_QUIET_MS || now - d->watch_first_ms >= PROTECT_LATEST_MS)) {
		d->watch_first_ms = 0;
		daemon_protect_changed(d);
	}
}

/* How long the main loop may sleep with a re-read pending. */
static int daemon_watch_timeout(const struct daemon *d, int timeout_ms)
{
	if (!d->watch_first_ms)
		return timeout_ms;
	int64_t due = d->watch_last_ms + PROTECT_QUIET_MS, latest = d->watch_first_ms + PROTECT_LATEST_MS;
	int64_t left = (due < latest ? due : latest) - clock_mono_ms();
	return left < 0 ? 0 : left < timeout_ms ? (int)left : timeout_ms;
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
	int r = config_load(d->cfg_path, &nc, err, sizeof(err));

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

static int run(struct daemon *d)
{
	uint8_t key[16];
	struct nl nl;
	sigset_t mask;
	int sfd, r;
	uint64_t wd_usec = 0;
	struct banwriter_restored rs;

	if (sodium_init() < 0) {
		log_err("libsodium failed to initialise");
		return 1;
	}
	/* The secret behind every hash table that holds attacker-chosen keys. */
	randombytes_buf(key, sizeof(key));

	/* The metrics file's folder (/run/nfsentry under systemd's RuntimeDirectory=). */
	if (d->cfg->metrics_file[0])
		mkdir_parent(d->cfg->metrics_file);
	if (mkdir(d->cfg->state_dir, 0750) < 0 && errno != EEXIST)
		log_warn("%s: %s (offence history will not be saved)", d->cfg->state_dir, strerror(errno));

	r = nl_open(&nl);
	if (r < 0) {
		log_err("cannot open a netfilter netlink socket: %s (nfsentry needs CAP_NET_ADMIN)", strerror(-r));
		return 1;
	}
	r = check_ruleset(&nl, d->cfg);
	if (r == 0)
		check_active_sets(&nl, d->cfg);
	nl_close(&nl);
	if (r < 0)
		return 1;

	if (d->cfg->events[0]) {
		mkdir_parent(d->cfg->events); /* /var/log/nfsentry without systemd's LogsDirectory= */
		r = event_sink_open(&d->events, d->cfg->events, NULL);
		if (r < 0)
			log_warn("%s: cannot open the events file: %s; events are only logged", d->cfg->events, strerror(-r));
	}
	d->tracker = tracker_new((uint32_t)d->cfg->max_sources, key);
	d->prefixes = tracker_new(PREFIXES_OF(d->cfg->max_sources), key);
	d->flows = flowtab_new((uint32_t)d->cfg->max_flows, key);
	d->banq = banq_new(BANQ_CAPACITY);
	if (!d->tracker || !d->prefixes || !d->flows || !d->banq) {
		log_err("out of memory");
		return 1;
	}
	d->writer = banwriter_new(d->cfg, d->banq, d->events, key);
	if (d->writer)
		open_evidence(d, key);
	sodium_memzero(key, sizeof(key));
	if (!d->writer)
		return 1;
	r = banwriter_restore(d->writer, &rs);
	if (r == -ENOENT) {
		log_err("set ban4, ban6, bannet4 or bannet6 is missing from table inet nfsentry: reload the shipped ruleset "
			"(nfsentry load-ruleset %s/nfsentry.nft)", NFSENTRY_SYSCONFDIR);
		return 1;
	} else if (r < 0) {
		log_err("cannot read the ban sets: %s", strerror(-r));
		return 1;
	}
	log_info("%u IPv4 and %u IPv6 bans already in the kernel", rs.in_kernel4, rs.in_kernel6);
	if (rs.restored || rs.expired)
		log_notice("restored %u saved bans with their time left (%u had expired meanwhile)", rs.restored,
			   rs.expired);
	daemon_protect(d);
	banwriter_reconfigure(d->writer, d->cfg, &d->protect, &d->protect_ends);
	daemon_watch(d);

	if (engine_init(&d->engine, d->tracker, d->flows, d->banq, d->events, d->cfg) < 0) {
		log_err("out of memory");
		return 1;
	}
	d->engine_ready = true;
	engine_set_prefixes(&d->engine, d->prefixes);
	if (engine_set_spared(&d->engine, &d->cfg->allow, &d->protect) < 0) {
		log_err("out of memory");
		return 1;
	}
	engine_set_evidence(&d->engine, d->evidence, d->ring);
	if (d->evidence && (r = evidence_start(d->evidence)) < 0) {
		log_err("cannot start the evidence thread: %s", strerror(-r));
		return 1;
	}
	/* Closed-port queues first, then as many inspection queues. */
	d->workers = calloc(2 * d->cfg->queues, sizeof(*d->workers));
	if (!d->workers)
		return 1;
	for (uint64_t i = 0; i < 2 * d->cfg->queues; i++) {
		bool inspect = i >= d->cfg->queues;
		uint16_t qn = (uint16_t)(inspect ? d->cfg->inspect_base + i - d->cfg->queues : d->cfg->base + i);
		r = worker_open(&d->workers[i], &d->engine, qn, inspect ? ORIGIN_INSPECT : ORIGIN_CLOSED_PORT, d->cfg);
		if (r < 0) {
			log_queue_bind_error(qn, r);
			return 1;
		}
		d->nworkers++;
	}
	if ((r = banwriter_start(d->writer)) < 0) {
		log_err("cannot start the ban writer: %s", strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < d->nworkers; i++) {
		if ((r = worker_start(d->workers[i])) < 0) {
			log_err("cannot start worker for queue %u: %s", worker_queue(d->workers[i]), strerror(-r));
			return 1;
		}
	}
	if (d->cfg->control_socket[0]) {
		struct control_ctx cc = {
			.workers = d->workers, .nworkers = d->nworkers, .nclosed = d->cfg->queues, .writer = d->writer,
			.banq = d->banq, .tracker = d->tracker, .flows = d->flows, .engine = &d->engine,
			.evidence = d->evidence, .ring = d->ring, .started = time(NULL), .events = d->events,
		};
		gid_t gid = (gid_t)-1;
		char err[512];
		if (d->cfg->control_group[0]) {
			struct group *g = getgrnam(d->cfg->control_group);
			if (!g) {
				log_err("[daemon] control_group: no group named \"%s\"", d->cfg->control_group);
				return 1;
			}
			gid = g->gr_gid;
		}
		mkdir_parent(d->cfg->control_socket);
		r = control_open(&d->control, d->cfg->control_socket, gid, &cc, err, sizeof(err));
		/* Only a member of a group may give it a file. Under the packaged unit nfsentry is a
		 * dynamic user, member of no group it is not told of. */
		if (r == -EPERM && gid != (gid_t)-1) {
			log_err("cannot open the control socket: %s (nfsentry is not a member of group %s: under "
				"systemd, add SupplementaryGroups=%s to the unit with `systemctl edit nfsentry`)",
				err, d->cfg->control_group, d->cfg->control_group);
			return 1;
		} else if (r < 0) {
			log_err("cannot open the control socket: %s", err);
			return 1;
		}
		if ((r = control_start(d->control)) < 0) {
			log_err("cannot start the control socket's thread: %s", strerror(-r));
			return 1;
		}
	}

	/* Signals arrive as reads on a descriptor: no work in handlers. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return 1;
	}
	if (sd_watchdog_enabled(0, &wd_usec) <= 0)
		wd_usec = 0;
	log_notice("nfsentry %s running: queues %llu-%llu (closed ports) and %llu-%llu (inspection), threshold %llu ports in %llus, ban %llus (x%g, max %llus)",
		   NFSENTRY_VERSION, (unsigned long long)d->cfg->base,
		   (unsigned long long)(d->cfg->base + d->cfg->queues - 1), (unsigned long long)d->cfg->inspect_base,
		   (unsigned long long)(d->cfg->inspect_base + d->cfg->queues - 1), (unsigned long long)d->cfg->threshold,
		   (unsigned long long)d->cfg->window, (unsigned long long)d->cfg->duration, d->cfg->factor,
		   (unsigned long long)d->cfg->max_duration);
	sd_notify(0, "READY=1\nSTATUS=running");

	int timeout_ms = wd_usec ? (int)(wd_usec / 2000) : 1000;
	if (timeout_ms <= 0 || timeout_ms > 1000)
		timeout_ms = 1000;
	/* Intervals on the monotonic clock (a step of the wall clock would stop them); the metrics
	 * are due at once. Uptime stays on the wall clock, as the control socket's. */
	int64_t last_stats = clock_mono_ms(), last_metrics = last_stats - METRICS_EVERY_S * 1000;
	time_t started = time(NULL);
	bool metrics_warned = false;
	for (;;) {
		struct pollfd pfd[1 + PROTECT_WATCH_FDS] = { { .fd = sfd, .events = POLLIN } };
		size_t npfd = 1 + (d->watch ? protect_watch_fds(d->watch, pfd + 1) : 0);
		int pr = poll(pfd, npfd, daemon_watch_timeout(d, timeout_ms));
		bool watched = false;
		for (size_t i = 1; pr > 0 && i < npfd; i++)
			watched |= pfd[i].revents != 0;
		daemon_watch_turn(d, watched);
		if (pr > 0 && pfd[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					log_notice("signal %u: stopping", si.ssi_signo);
					break;
				}
				if (si.ssi_signo == SIGHUP) {
					sd_notify(0, "RELOADING=1");
					daemon_reload(d);
					sd_notify(0, "READY=1");
				}
				if (si.ssi_signo == SIGUSR1)
					log_stats(d);
			}
		}
		/* Ping the watchdog only while every worker is turning. */
		bool alive = true;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (size_t i = 0; i < d->nworkers; i++)
			alive &= now.tv_sec - worker_heartbeat(d->workers[i]) < STALL_S;
		if (wd_usec && alive)
			sd_notify(0, "WATCHDOG=1");
		if (d->cfg->metrics_file[0] && clock_mono_ms() - last_metrics >= METRICS_EVERY_S * 1000) {
			struct metrics_sources ms = {
				.workers = d->workers, .nworkers = d->nworkers, .writer = d->writer, .tracker = d->tracker,
				.flows = d->flows, .engine = &d->engine, .evidence = d->evidence, .ring = d->ring,
				.events = d->events,
				.uptime_s = difftime(time(NULL), started),
			};
			r = metrics_write(d->cfg->metrics_file, &ms);
			if (r < 0 && !metrics_warned)
				log_warn("%s: cannot write the metrics: %s (said once)", d->cfg->metrics_file, strerror(-r));
			metrics_warned |= r < 0;
			last_metrics = clock_mono_ms();
		}
		if (clock_mono_ms() - last_stats >= STATS_EVERY_MS) {
			log_stats(d);
			last_stats = clock_mono_ms();
		}
	}
	sd_notify(0, "STOPPING=1");
	close(sfd);
	return 0;
}

static void daemon_teardown(struct daemon *d)
{
	/* Workers first (no new requests), then the writer drains and commits what is queued. */
	struct engine_counters fin = { 0 };
	/* The control socket first: its requests wait on the writer, which still runs. */
	control_free(d->control);
	protect_watch_close(d->watch);
	for (size_t i = 0; i < d->nworkers; i++)
		worker_stop(d->workers[i]);
	if (d->engine_ready)
		engine_finish(&d->engine, &fin); /* final verdicts on open connections, before the writer stops */
	/* The writer before the evidence thread, which saves the records of the last bans and sends
	 * their tokens back to the writer's table; the table is saved after both. */
	banwriter_stop(d->writer);
	evidence_stop(d->evidence);
	banwriter_finish(d->writer);
	if (d->tracker && d->flows && d->writer)
		log_stats(d);
	for (size_t i = 0; i < d->nworkers; i++)
		worker_free(d->workers[i]);
	free(d->workers);
	banwriter_free(d->writer);
	evidence_free(d->evidence);
	pktring_free(d->ring);
	if (d->engine_ready)
		engine_deinit(&d->engine);
	banq_free(d->banq);
	flowtab_free(d->flows);
	tracker_free(d->tracker);
	tracker_free(d->prefixes);
	event_sink_close(d->events);
	config_free(d->cfg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'k' },
		{ "dump-config", no_argument, NULL, 'd' },  { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },        { 0 },
	};
	struct daemon d = { .cfg_path = CONFIG_DEFAULT_PATH };
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
			if (argc - optind == 4 && !strcmp(argv[optind + 2], "-c"))
				cfg = argv[optind + 3];
			else if (argc - optind != 2)
				goto bad;
			return cmd_replay(argv[optind + 1], cfg);
		}
bad:
		usage(stderr);
		return 2;
	}

	r = config_load(d.cfg_path, &d.cfg, err, sizeof(err));
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
	daemon_teardown(&d);
	return r;
}
