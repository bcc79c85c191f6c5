/* policy.h - what each detection does (ignore, alert, drop the flow, ban the remote side),
 * the standard ports where a protocol is normal, and the allowlist of legitimate backdoors.
 * Zhang & Paxson sec. 5.8: most "backdoors" a site finds are legitimate, so every detector's
 * action is configurable and the defaults (docs/detection.md) favour alerting. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/detector.h"

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
/* Parses "DETECTOR PORT SERVER CLIENT" ("*" for any; e.g. "ssh-sig 2222 * 198.51.100.0/24")
 * and adds it. Returns 0, -EINVAL with a reason in @err, or -E2BIG. */
int policy_allow_add(struct policy *p, const char *spec, char *err, size_t errlen);

/* True if @port is where the protocol behind @d is expected (a finding there is normal). */
bool policy_port_standard(enum det d, uint16_t port);
/* The action for detector @d on a connection client -> server:port: ACTION_IGNORE when an
 * allowlist entry matches, else the configured action. */
enum action policy_decide(const struct policy *p, enum det d, const struct nfs_addr *client,
			  const struct nfs_addr *server, uint16_t port);
