/* config.c - parse with libinih into a struct through one key table, then validate.
 *
 * libinih gives us sections, comments and continuation lines; it does not report the line
 * of a value it hands over, so we feed it lines through our own reader and count them. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "core/duration.h"

enum key_type { KEY_UINT, KEY_DURATION, KEY_BOOL, KEY_PATH, KEY_FACTOR, KEY_NETS, KEY_LOGLEVEL, KEY_VERDICT,
		KEY_OPTPATH, KEY_ACTION, KEY_BDALLOW, KEY_NAME };

struct key {
	const char *section, *name;
	enum key_type type;
	size_t off;
	uint64_t min, max; /* inclusive bounds for KEY_UINT and KEY_DURATION */
	const char *defval;
	const char *help;
};

#define OFF(f) offsetof(struct nfs_config, f)
static const struct key keys[] = {
	{ "daemon", "state_dir", KEY_PATH, OFF(state_dir), 0, 0, "/var/lib/nfsentry",
	  "offence history lives here (survives restarts)" },
	{ "daemon", "events", KEY_OPTPATH, OFF(events), 0, 0, "/var/log/nfsentry/events.json",
	  "detections and bans, one JSON object per line (empty: only logged)" },
	{ "daemon", "metrics_file", KEY_OPTPATH, OFF(metrics_file), 0, 0, "/run/nfsentry/nfsentry.prom",
	  "Prometheus text file, rewritten every 5 s (empty: none)" },
	{ "daemon", "control_socket", KEY_OPTPATH, OFF(control_socket), 0, 107, NFSENTRY_CONTROL_SOCKET,
	  "nfsentryctl's socket (empty: none)" },
	{ "daemon", "control_group", KEY_NAME, OFF(control_group), 0, 63, "",
	  "a group whose members may use the control socket besides root (empty: root only)" },
	{ "daemon", "log_level", KEY_LOGLEVEL, OFF(log_level), 0, 0, "info", "error, warning, notice, info or debug" },
	{ "queue", "queues", KEY_UINT, OFF(queues), 1, 64, "2", "queues and worker threads" },
	/* 65471 + 64 queues ends at queue 65534: the bounds alone keep base+queues-1 valid. */
	{ "queue", "base", KEY_UINT, OFF(base), 0, 65471, "0", "first queue number: queues base..base+queues-1" },
	{ "queue", "max_len", KEY_UINT, OFF(max_len), 16, 1048576, "4096", "kernel queue length in packets" },
	{ "queue", "copy_range", KEY_UINT, OFF(copy_range), 128, 65535, "256", "bytes of each packet copied to userspace" },
	{ "queue", "fail_open", KEY_BOOL, OFF(fail_open), 0, 0, "no", "accept instead of drop when the queue is full" },
	{ "queue", "inspect_base", KEY_UINT, OFF(inspect_base), 0, 65471, "8",
	  "first inspection queue: inspect_base..inspect_base+queues-1" },
	{ "scan", "threshold", KEY_UINT, OFF(threshold), 2, 1024, "10", "distinct closed ports that trigger a ban" },
	{ "scan", "window", KEY_DURATION, OFF(window), 1, 86400, "5m", "how long an attempt counts" },
	{ "scan", "verdict", KEY_VERDICT, OFF(verdict_accept), 0, 0, "drop",
	  "drop, or accept so the kernel answers like a closed port" },
	{ "scan", "max_sources", KEY_UINT, OFF(max_sources), 64, 16777216, "65536", "tracked sources (oldest evicted)" },
	{ "scan", "prefix4", KEY_UINT, OFF(prefix4), 8, 31, "24", "a distributed scan is counted per IPv4 prefix of this length" },
	{ "scan", "prefix6", KEY_UINT, OFF(prefix6), 16, 64, "48", "a distributed scan is counted per IPv6 prefix of this length" },
	{ "scan", "prefix_threshold", KEY_UINT, OFF(prefix_threshold), 0, 256, "40",
	  "distinct closed ports across one prefix that make a distributed scan (0: off)" },
	{ "scan", "prefix_sources", KEY_UINT, OFF(prefix_sources), 2, 64, "4",
	  "distinct sources of the prefix those ports must come from" },
	{ "ban", "duration", KEY_DURATION, OFF(duration), 1, 31536000, "10m", "first ban" },
	{ "ban", "factor", KEY_FACTOR, OFF(factor), 0, 0, "4", "each repeat offence multiplies the ban by this" },
	{ "ban", "max_duration", KEY_DURATION, OFF(max_duration), 1, 31536000, "7d", "longest ban" },
	{ "ban", "forget", KEY_DURATION, OFF(forget), 60, 315360000, "30d",
	  "an offender not seen for this long starts again at duration" },
	{ "ban", "ipv6_prefix", KEY_UINT, OFF(ipv6_prefix), 16, 128, "64", "IPv6 bans cover this prefix length" },
	{ "ban", "max_history", KEY_UINT, OFF(max_history), 16, 16777216, "100000", "offenders remembered" },
	{ "allow", "networks", KEY_NETS, OFF(allow), 0, 0, "127.0.0.0/8, ::1/128", "never banned (CIDRs, comma-separated)" },
	{ "allow", "protect_resolvers", KEY_BOOL, OFF(protect_resolvers), 0, 0, "yes",
	  "never ban the nameservers in resolv_conf" },
	{ "allow", "protect_gateways", KEY_BOOL, OFF(protect_gateways), 0, 0, "yes", "never ban the default gateways" },
	{ "allow", "resolv_conf", KEY_PATH, OFF(resolv_conf), 0, 0, "/etc/resolv.conf", "where nameservers are read" },
	/* At most the timeout of active4/active6 in nfsentry.nft: the kernel forgets a peer then. */
	{ "allow", "active_peers", KEY_DURATION, OFF(active_peers), 0, 3600, "10m",
	  "closed-port evidence against a peer that exchanged data with this host this recently only alerts "
	  "(0: off)" },
#define ACT(det, def) { "detect", NULL, KEY_ACTION, OFF(policy.action[det]), det, 0, def, "ignore, alert, drop or ban" }
	ACT(DET_SCAN, "ban"), ACT(DET_BACKSCATTER, "alert"), ACT(DET_FLOOD, "alert"), ACT(DET_PROBE, "alert"),
	ACT(DET_SSH_SIG, "alert"), ACT(DET_SSH_LEN, "alert"), ACT(DET_RLOGIN_SIG, "alert"),
	ACT(DET_TELNET_SIG, "alert"), ACT(DET_FTP_SIG, "alert"), ACT(DET_ROOT_SIG, "ban"),
	ACT(DET_ROOT_SIG_WEAK, "alert"), ACT(DET_NAPSTER_SIG, "alert"), ACT(DET_GNUTELLA_SIG, "alert"),
	ACT(DET_INTERACTIVE, "alert"), ACT(DET_DSCAN, "ban"),
#undef ACT
	{ "detect", "allow", KEY_BDALLOW, OFF(policy), 0, 0, "",
	  "legitimate backdoors: DETECTOR PORT SERVER CLIENT, * for any; repeat the key for more" },
	{ "detect", "max_flows", KEY_UINT, OFF(max_flows), 64, 16777216, "65536", "connections inspected at once" },
	{ "detect", "report_standard_ports", KEY_BOOL, OFF(report_standard_ports), 0, 0, "no",
	  "audit: also report protocols on their standard ports (action ignore)" },
	{ "detect", "flood_syn_rate", KEY_UINT, OFF(flood_syn_rate), 10, 100000000, "1000",
	  "SYNs per second to this host that make a flood" },
	{ "evidence", "dir", KEY_OPTPATH, OFF(evidence_dir), 0, 0, "/var/lib/nfsentry/evidence",
	  "evidence records, root only (default STATE_DIR/evidence; empty: none; events then carry no token)" },
	{ "evidence", "max_mb", KEY_UINT, OFF(evidence_max_mb), 1, 1048576, "256",
	  "the records' total size in MiB; the oldest are removed first" },
	{ "evidence", "packets", KEY_UINT, OFF(evidence_packets), 1, 64, "8",
	  "recent packets kept per source and per connection" },
	{ "evidence", "snaplen", KEY_UINT, OFF(evidence_snaplen), 64, 1500, "160", "bytes kept of each packet" },
	{ "evidence", "max_rings", KEY_UINT, OFF(evidence_max_rings), 64, 16777216, "16384",
	  "sources and connections whose recent packets are kept (least recent forgotten)" },
	{ "evidence", "attribution", KEY_BOOL, OFF(attribution), 0, 0, "yes",
	  "name the local processes behind a detected connection (needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH)" },
	{ "evidence", "attribution_budget_ms", KEY_UINT, OFF(attribution_budget_ms), 1, 10000, "200",
	  "time one process lookup may take" },
	{ "evidence", "attribution_max_processes", KEY_UINT, OFF(attribution_max_processes), 1, 4096, "64",
	  "processes described per lookup" },
	/* The fleet's bans (nfsentry-crowdsec, docs/crowdsec.md). max_bans bounds the writer's table of
	 * them (memory) and may not pass the sizes of fleet4/fleet6 in nfsentry.nft (262144 each). */
	{ "fleet", "group", KEY_NAME, OFF(fleet_group), 0, 63, "",
	  "a group whose members may use only status, bans, watch and fleet on the control socket (nfsentry-crowdsec's)" },
	{ "fleet", "max_bans", KEY_UINT, OFF(fleet_max_bans), 1, 262144, "200000",
	  "fleet bans held at once; more are refused as full (at most the sizes of fleet4 and fleet6)" },
	{ "fleet", "min_prefix4", KEY_UINT, OFF(fleet_min_prefix4), 0, 32, "16",
	  "IPv4 ranges of the fleet wider than this prefix length are refused" },
	{ "fleet", "min_prefix6", KEY_UINT, OFF(fleet_min_prefix6), 0, 128, "32",
	  "IPv6 ranges of the fleet wider than this prefix length are refused" },
	{ "fleet", "max_duration", KEY_DURATION, OFF(fleet_max_duration), 1, 31536000, "7d",
	  "longer decisions of the fleet are cut to this" },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* "a,,b", ", a" and ",,," hold an entry that is empty: a typo, which would otherwise drop
 * out silently, and an all-comma value would replace the default list with nothing. A comma
 * that ends the value is not one (the list goes on on a continuation line). */
static bool nets_empty_entry(const char *v)
{
	const char *p = v + strspn(v, " \t");

	if (*p == ',')
		return true;
	for (; *p; p++)
		if (*p == ',' && p[1 + strspn(p + 1, " \t")] == ',')
			return true;
	return false;
}

struct parse_state {
	struct nfs_config *c;
	const char *path;
	FILE *f;
	unsigned line;
	unsigned key_line[NKEYS];
	bool too_long;
	char *err;
	size_t errlen;
	int failed;
};

/* Action keys are named after their detector. */
static const char *key_name(const struct key *k)
{
	return k->type == KEY_ACTION ? detector_key((enum det)k->min) : k->name;
}

static int set_value(struct nfs_config *c, const struct key *k, const char *v, char *err, size_t errlen)
{
	void *p = (char *)c + k->off;
	uint64_t u;

	switch (k->type) {
	case KEY_UINT: {
		char *end;
		if (*v < '0' || *v > '9') {
			snprintf(err, errlen, "%s: expected a number, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (errno || *end) {
			snprintf(err, errlen, "%s: expected a number, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		u = n;
		goto bounds;
	}
	case KEY_DURATION: {
		int r = duration_parse(v, &u);
		if (r < 0) {
			snprintf(err, errlen, "%s: \"%s\" is not a duration (use e.g. 90s, 10m, 1h, 7d)", k->name, v);
			return r;
		}
		goto bounds;
	}
	case KEY_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
			*(bool *)p = true;
		else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
			*(bool *)p = false;
		else {
			snprintf(err, errlen, "%s: expected yes or no, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		return 0;
	case KEY_PATH:
		if (v[0] != '/' || strlen(v) >= PATH_MAX) {
			snprintf(err, errlen, "%s: expected an absolute path, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		snprintf(p, PATH_MAX, "%s", v);
		return 0;
	case KEY_FACTOR: {
		char *end;
		errno = 0;
		double d = strtod(v, &end);
		if (errno || *end || !isfinite(d) || d < 1.0 || d > 100.0) {
			snprintf(err, errlen, "%s: expected a number from 1 to 100, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		*(double *)p = d;
		return 0;
	}
	case KEY_NETS: {
		char bad[80];
		if (nets_empty_entry(v)) {
			snprintf(err, errlen, "%s: empty entry in \"%.80s\" (a comma with no network before it)", k->name, v);
			return -EINVAL;
		}
		int r = netlist_add_csv(p, v, bad, sizeof(bad));
		if (r == -E2BIG)
			snprintf(err, errlen, "%s: more than %d networks", k->name, NETLIST_MAX);
		else if (r < 0)
			snprintf(err, errlen, "%s: \"%s\" is not an address or network (host bits must be zero)",
				 k->name, bad);
		return r;
	}
	case KEY_LOGLEVEL:
		if (log_level_parse(v, p) < 0) {
			snprintf(err, errlen, "%s: expected error, warning, notice, info or debug, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		return 0;
	case KEY_NAME:
		if (strlen(v) > k->max || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(v)) {
			snprintf(err, errlen, "%s: expected a name (letters, digits, _ . -), got \"%s\"", k->name, v);
			return -EINVAL;
		}
		snprintf(p, k->max + 1, "%s", v);
		return 0;
	case KEY_OPTPATH:
		if (k->max && strlen(v) > k->max) {
			snprintf(err, errlen, "%s: longer than %llu bytes", k->name, (unsigned long long)k->max);
			return -EINVAL;
		}
		if (*v && (v[0] != '/' || strlen(v) >= PATH_MAX)) {
			snprintf(err, errlen, "%s: expected an absolute path or nothing, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		snprintf(p, PATH_MAX, "%s", v);
		return 0;
	case KEY_ACTION:
		if (action_parse(v, p) < 0) {
			snprintf(err, errlen, "%s: expected ignore, alert, drop or ban, got \"%s\"", key_name(k), v);
			return -EINVAL;
		}
		return 0;
	case KEY_BDALLOW: {
		char reason[256];
		if (!*v)
			return 0;
		int r = policy_allow_add(p, v, reason, sizeof(reason));
		if (r < 0)
			snprintf(err, errlen, "%s: %s", k->name, reason);
		return r;
	}
	case KEY_VERDICT:
		if (!strcmp(v, "drop"))
			*(bool *)p = false;
		else if (!strcmp(v, "accept"))
			*(bool *)p = true;
		else {
			snprintf(err, errlen, "%s: expected drop or accept, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
bounds:
	if (u < k->min || u > k->max) {
		char lo[32], hi[32];
		if (k->type == KEY_DURATION) {
			duration_format(k->min, lo, sizeof(lo));
			duration_format(k->max, hi, sizeof(hi));
		} else {
			snprintf(lo, sizeof(lo), "%llu", (unsigned long long)k->min);
			snprintf(hi, sizeof(hi), "%llu", (unsigned long long)k->max);
		}
		snprintf(err, errlen, "%s: \"%s\" is out of range (%s to %s)", k->name, v, lo, hi);
		return -ERANGE;
	}
	*(uint64_t *)p = u;
	return 0;
}

static void fail(struct parse_state *st, unsigned line, const char *why)
{
	if (st->failed)
		return; /* report the first problem; fixing it may fix the rest */
	st->failed = -EINVAL;
	snprintf(st->err, st->errlen, "%s:%u: %s", st->path, line, why);
}

/* A network of length 0 in the allowlist (0.0.0.0/0, ::/0) matches every address of its
 * family: banning is off for it. Valid, and maybe meant (a lab), so a warning, not an error. */
static void nets_warn(struct parse_state *st, const struct netlist *l, size_t from)
{
	for (size_t i = from; i < l->n; i++) {
		if (l->net[i].plen != 0)
			continue;
		size_t o = strlen(st->c->warnings);
		snprintf(st->c->warnings + o, sizeof(st->c->warnings) - o,
			 "%s%s:%u: networks: %s allowlists every %s address: no %s source is ever banned",
			 o ? "\n" : "", st->path, st->line, l->net[i].family == AF_INET ? "0.0.0.0/0" : "::/0",
			 l->net[i].family == AF_INET ? "IPv4" : "IPv6", l->net[i].family == AF_INET ? "IPv4" : "IPv6");
	}
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	char why[512];

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if (strcmp(k->section, section) || strcmp(key_name(k), name))
			continue;
		/* Lists append (continuation lines arrive as repeated keys); scalars must be unique. */
		if (st->key_line[i] && k->type != KEY_NETS && k->type != KEY_BDALLOW) {
			snprintf(why, sizeof(why), "%s: already set on line %u", name, st->key_line[i]);
			fail(st, st->line, why);
			return 1;
		}
		if (!st->key_line[i] && k->type == KEY_NETS)
			((struct netlist *)((char *)st->c + k->off))->n = 0; /* replace the default list */
		st->key_line[i] = st->line;
		size_t had = k->type == KEY_NETS ? ((struct netlist *)((char *)st->c + k->off))->n : 0;
		if (set_value(st->c, k, value, why, sizeof(why)) < 0)
			fail(st, st->line, why);
		else if (k->type == KEY_NETS)
			nets_warn(st, (struct netlist *)((char *)st->c + k->off), had);
		return 1;
	}
	bool known_section = false;
	for (size_t i = 0; i < NKEYS; i++)
		known_section |= !strcmp(keys[i].section, section);
	if (known_section)
		snprintf(why, sizeof(why), "unknown key \"%s\" in section [%s]", name, section);
	else if (!*section)
		snprintf(why, sizeof(why), "key \"%s\" outside any section", name);
	else
		snprintf(why, sizeof(why), "unknown section [%s]", section);
	fail(st, st->line, why);
	return 1;
}

static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	int ch, n = 0;
	bool nul = false;

	/* Not fgets(): a NUL byte would hide the line's length from strlen(), and the rest of a
	 * line too long for @str would then be parsed as a line of its own. */
	while (n < num - 1 && (ch = getc(st->f)) != EOF) {
		str[n++] = (char)ch;
		nul |= ch == '\0';
		if (ch == '\n')
			break;
	}
	if (n == 0)
		return NULL;
	str[n] = '\0';
	st->line++;
	if (n == num - 1 && str[n - 1] != '\n' && !feof(st->f)) {
		st->too_long = true;
		fail(st, st->line, "line too long (split lists over continuation lines starting with a space)");
		while ((ch = fgetc(st->f)) != EOF && ch != '\n')
			;
		str[0] = '\0';
	} else if (nul) {
		fail(st, st->line, "NUL byte in the line");
		str[0] = '\0';
	}
	return str;
}

int config_new_default(struct nfs_config **out)
{
	struct nfs_config *c = calloc(1, sizeof(*c));
	char why[256];

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < NKEYS; i++) {
		if (set_value(c, &keys[i], keys[i].defval, why, sizeof(why)) < 0) {
			/* A bug, caught by the unit tests: logged here, the only place that knows which key. */
			log_err("built-in default broken: %s", why);
			free(c);
			return -EINVAL;
		}
	}
	*out = c;
	return 0;
}

static unsigned line_of(const struct parse_state *st, size_t off)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].off == off)
			return st->key_line[i];
	return 0;
}

int config_load(struct nfs_config **out, const char *path, char *err, size_t errlen)
{
	struct parse_state st = { .path = path, .err = err, .errlen = errlen };
	int r;

	st.f = fopen(path, "re");
	if (!st.f) {
		r = -errno;
		snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
		return r;
	}
	r = config_new_default(&st.c);
	if (r < 0) {
		fclose(st.f);
		snprintf(err, errlen, "%s:0: out of memory", path);
		return r;
	}
	r = ini_parse_stream(read_line, &st, on_value, &st);
	fclose(st.f);
	if (r > 0)
		fail(&st, (unsigned)r, "syntax error (expected [section] or key = value)");
	else if (r < 0)
		fail(&st, 0, "cannot parse");
	if (!st.failed && st.c->max_duration < st.c->duration)
		fail(&st, line_of(&st, OFF(max_duration)) ? line_of(&st, OFF(max_duration)) : line_of(&st, OFF(duration)),
		     "max_duration is shorter than duration");
	/* A prefix keeps at most prefix_threshold ports, each remembering one source. */
	if (!st.failed && st.c->prefix_threshold && st.c->prefix_threshold < st.c->prefix_sources)
		fail(&st, line_of(&st, OFF(prefix_threshold)) ? line_of(&st, OFF(prefix_threshold))
							      : line_of(&st, OFF(prefix_sources)),
		     "prefix_threshold is below prefix_sources (distinct ports must come from that many sources)");
	/* The records follow the state: a config that moves state_dir (the demo, a test, a second
	 * instance) does not leave them in a folder only the packaged unit creates. (A line is
	 * shorter than PATH_MAX, so the error below guards a limit no file reaches today.) */
	if (!st.failed && !line_of(&st, OFF(evidence_dir)) &&
	    snprintf(st.c->evidence_dir, sizeof(st.c->evidence_dir), "%s/evidence", st.c->state_dir) >=
		    (int)sizeof(st.c->evidence_dir))
		fail(&st, line_of(&st, OFF(state_dir)), "state_dir is too long to hold the evidence folder");
	if (!st.failed && st.c->inspect_base < st.c->base + st.c->queues && st.c->base < st.c->inspect_base + st.c->queues)
		fail(&st, line_of(&st, OFF(inspect_base)) ? line_of(&st, OFF(inspect_base)) : line_of(&st, OFF(base)),
		     "the inspection queues (inspect_base) overlap the closed-port queues (base)");
	if (st.failed) {
		config_free(st.c);
		return st.failed;
	}
	*out = st.c;
	return 0;
}

void config_free(struct nfs_config *c)
{
	free(c);
}

void config_dump(const struct nfs_config *c, FILE *f)
{
	const char *section = "";

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const void *p = (const char *)c + k->off;
		char buf[64];

		if (strcmp(section, k->section)) {
			fprintf(f, "%s[%s]\n", *section ? "\n" : "", k->section);
			section = k->section;
		}
		if (k->type == KEY_BDALLOW) { /* one line per entry; none: an empty key */
			const struct policy *pol = p;
			if (pol->nallow == 0)
				fprintf(f, "%s = \n", k->name);
			for (size_t j = 0; j < pol->nallow; j++) {
				const struct policy_allow *a = &pol->allow[j];
				char port[8] = "*", sv[NFS_ADDR_STRLEN] = "*", cl[NFS_ADDR_STRLEN] = "*";
				if (a->port)
					snprintf(port, sizeof(port), "%u", a->port);
				if (a->server.family)
					nfs_addr_format(&a->server, sv, sizeof(sv));
				if (a->client.family)
					nfs_addr_format(&a->client, cl, sizeof(cl));
				fprintf(f, "%s = %s %s %s %s\n", k->name, a->det < 0 ? "*" : detector_key(a->det), port, sv, cl);
			}
			continue;
		}
		fprintf(f, "%s = ", key_name(k));
		switch (k->type) {
		case KEY_UINT: fprintf(f, "%llu\n", (unsigned long long)*(const uint64_t *)p); break;
		case KEY_DURATION:
			duration_format(*(const uint64_t *)p, buf, sizeof(buf));
			fprintf(f, "%s\n", buf);
			break;
		case KEY_BOOL: fprintf(f, "%s\n", *(const bool *)p ? "yes" : "no"); break;
		case KEY_PATH: case KEY_OPTPATH: case KEY_NAME: fprintf(f, "%s\n", (const char *)p); break;
		case KEY_ACTION: fprintf(f, "%s\n", action_name(*(const enum action *)p)); break;
		case KEY_BDALLOW: break;
		case KEY_FACTOR: fprintf(f, "%g\n", *(const double *)p); break;
		case KEY_LOGLEVEL: {
			static const char *n[] = { [LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning",
						   [LOG_LVL_NOTICE] = "notice", [LOG_LVL_INFO] = "info",
						   [LOG_LVL_DEBUG] = "debug" };
			fprintf(f, "%s\n", n[*(const enum log_level *)p]);
			break;
		}
		case KEY_VERDICT: fprintf(f, "%s\n", *(const bool *)p ? "accept" : "drop"); break;
		case KEY_NETS: {
			const struct netlist *l = p;
			char a[NFS_ADDR_STRLEN];
			/* A long list goes on continuation lines, as in a written file: the parser
			 * refuses a line of 200 bytes (libinih's INI_MAX_LINE). */
			size_t col = strlen(k->name) + 3;
			for (size_t j = 0; j < l->n; j++) {
				size_t w = strlen(nfs_addr_format(&l->net[j], a, sizeof(a)));
				bool wrap = j && col + 2 + w > 100;
				fprintf(f, "%s%s", !j ? "" : wrap ? "\n " : ", ", a);
				col = (wrap ? 1 : col + (j ? 2 : 0)) + w;
			}
			fprintf(f, "\n");
			break;
		}
		}
	}
}
