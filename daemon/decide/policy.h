/* policy.h - what each detection does (ignore, alert, drop the flow, ban the remote side),
 * the standard ports where a protocol is normal, and the allowlist of legitimate backdoors.
 * Zhang & Paxson sec. 5.8: most "backdoors" a site finds are legitimate, so every detector's
 * action is configurable and the defaults (docs/detection.md) favour alerting. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

enum action { ACTION_IGNORE, ACTION_ALERT, ACTION_DROP, ACTION_BAN };

/* Detectors, named as in events ("detector") and in [detect] keys. */
enum det {
	DET_SCAN,        /* closed-port scan (foundation tracker) */
	DET_BACKSCATTER, /* SYN-ACK/RST backscatter of a spoofed SYN flood */
	DET_FLOOD,       /* SYN flood against this host */
	DET_PROBE,       /* SYN carrying data */
	DET_SSH_SIG, DET_SSH_LEN, DET_RLOGIN_SIG, DET_TELNET_SIG, DET_FTP_SIG,
	DET_ROOT_SIG,    /* "# " as the server's first packet */
	DET_ROOT_SIG_WEAK, /* "# " elsewhere in a connection (config key root-sig-weak) */
	DET_NAPSTER_SIG, DET_GNUTELLA_SIG,
	DET_INTERACTIVE, /* the timing algorithm */
	DET_DSCAN,       /* closed-port scan spread over the sources of one prefix (distributed-scan) */
	DET_MANUAL,      /* a ban made by an administrator (nfsentryctl, or nft by hand) */
	DET_COUNT
};

#define POLICY_ALLOW_MAX 256

/* One legitimate backdoor: any field may be a wildcard. */
struct policy_allow {
	int det;                 /* enum det, or -1 for any */
	uint16_t port;           /* the server's port, 0 for any */
	struct nfs_addr server;  /* family 0 for any; a network */
	struct nfs_addr client;  /* family 0 for any; a network */
};

struct policy {
	enum action action[DET_COUNT];
	size_t nallow;
	struct policy_allow allow[POLICY_ALLOW_MAX];
};

void policy_init_defaults(struct policy *p);
const char *policy_det_name(enum det d);     /* event "detector" ("root-sig" for both root forms) */
const char *policy_det_key(enum det d);      /* config key ("root-sig-weak" for the weak form) */
int policy_det_parse(const char *key);        /* enum det by key, or -EINVAL */
const char *policy_action_name(enum action a);
int policy_action_parse(const char *s, enum action *out); /* 0 or -EINVAL */
/* The protocol a detector recognises ("ssh", "ftp/smtp", ...), or NULL. */
const char *policy_det_protocol(enum det d);
/* Parses "DETECTOR PORT SERVER CLIENT" ("*" for any; e.g. "ssh-sig 2222 * 198.51.100.0/24")
 * and adds it. Returns 0, -EINVAL with a reason in @err, or -E2BIG. */
int policy_allow_add(struct policy *p, const char *spec, char *err, size_t errlen);

/* True if @port is where the protocol behind @d is expected (a finding there is normal). */
bool policy_port_standard(enum det d, uint16_t port);
/* The action for detector @d on a connection client -> server:port: ACTION_IGNORE when an
 * allowlist entry matches, else the configured action. */
enum action policy_decide(const struct policy *p, enum det d, const struct nfs_addr *client,
			  const struct nfs_addr *server, uint16_t port);
