/* config.h - the INI configuration, parsed into a struct and validated. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "core/netlist.h"
#include "core/policy.h"

#define CONFIG_DEFAULT_PATH NFSENTRY_SYSCONFDIR "/nfsentry.conf"

struct nfs_config {
	/* [daemon] */
	char state_dir[PATH_MAX];
	char events[PATH_MAX];   /* JSON events file; empty: events are only logged */
	char metrics_file[PATH_MAX]; /* Prometheus text file; empty: none */
	char control_socket[108];    /* UNIX socket of nfsentryctl; empty: none */
	char control_group[64];      /* group allowed besides root; empty: root only */
	enum log_level log_level;
	/* [queue] */
	uint64_t queues;      /* worker threads, one per queue */
	uint64_t base;        /* first queue number */
	uint64_t max_len;     /* kernel queue length (packets) */
	uint64_t copy_range;  /* bytes of each packet copied to us */
	bool fail_open;       /* NFQA_CFG_F_FAIL_OPEN: accept when the queue is full */
	uint64_t inspect_base; /* first inspection queue: inspect_base..inspect_base+queues-1 */
	/* [scan] */
	uint64_t threshold;   /* distinct closed ports that trigger a ban */
	uint64_t window;      /* seconds an attempt counts */
	bool verdict_accept;  /* false: drop closed-port attempts; true: let the kernel answer */
	uint64_t max_sources; /* tracked sources, oldest evicted past it */
	uint64_t prefix4, prefix6; /* a distributed scan is counted per prefix of these lengths */
	uint64_t prefix_threshold; /* distinct closed ports across a prefix (0: off) */
	uint64_t prefix_sources;   /* from at least this many of its sources */
	/* [ban] */
	uint64_t duration;    /* first ban, seconds */
	double factor;        /* escalation per repeat offence */
	uint64_t max_duration;
	uint64_t forget;      /* offence history older than this is dropped */
	uint64_t ipv6_prefix; /* IPv6 bans cover this prefix */
	uint64_t max_history; /* offenders remembered */
	/* [allow] */
	struct netlist allow;
	/* What config_load() found odd but valid, one "FILE:LINE: ..." per line (e.g. an
	 * allowlist of 0.0.0.0/0, which disables banning for IPv4), or "". Not a key. */
	char warnings[512];
	bool protect_resolvers;
	bool protect_gateways;
	char resolv_conf[PATH_MAX];
	uint64_t active_peers; /* seconds: a peer that sent and got data lately is not banned for closed ports */
	/* [detect] */
	struct policy policy; /* actions per detector and the backdoor allowlist */
	uint64_t max_flows;
	uint64_t flood_syn_rate; /* SYNs per second to this host that make a flood */
	bool report_standard_ports; /* audit: report findings on standard ports too (action ignore) */
	/* [evidence] */
	char evidence_dir[PATH_MAX]; /* records (root only); empty: none, events carry no token */
	uint64_t evidence_max_mb;    /* the records' total size */
	uint64_t evidence_packets;   /* packets kept per source and per connection */
	uint64_t evidence_snaplen;   /* bytes kept of each */
	uint64_t evidence_max_rings; /* sources and connections whose packets are kept */
	bool attribution;            /* find the local processes behind a connection */
	uint64_t attribution_budget_ms;
	uint64_t attribution_max_processes;
	/* [fleet]: the bans of the fleet (CrowdSec's decisions through nfsentry-crowdsec) */
	char fleet_group[64];        /* group allowed status, bans, watch and fleet only; empty: none */
	uint64_t fleet_max_bans;     /* fleet bans held at once (the writer's table; <= the sets' sizes) */
	uint64_t fleet_min_prefix4, fleet_min_prefix6; /* wider ranges are refused ("too_wide") */
	uint64_t fleet_max_duration; /* seconds: longer decisions are capped */
};

/* Loads and validates @path. On success returns 0 and a new config in *@out (caller frees with
 * config_free). On failure returns -errno and writes "FILE:LINE: what is wrong" to @err. */
int config_load(struct nfs_config **out, const char *path, char *err, size_t errlen);
/* A config holding every default: returns 0 and it in *@out (caller frees with config_free),
 * or -ENOMEM (-EINVAL and a log line: a built-in default does not parse, a bug). */
int config_new_default(struct nfs_config **out);
/* Accepts NULL. */
void config_free(struct nfs_config *c);
/* Prints the effective configuration in INI form (every key, including defaults). */
void config_dump(const struct nfs_config *c, FILE *f);
