/* alert.h - one local ban as the alert CrowdSec's LAPI takes in POST /v1/alerts, with its one
 * `ban` decision (fields verified against crowdsec 1.4.6: docs/crowdsec.md). What leaves the
 * host: the address (or prefix), the detector's name, the length of the ban, the number of
 * attempts counted, the evidence token. Never the ports tried, the payloads, the process
 * attribution or this host's addresses. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "core/addr.h"

#define CS_DETECTOR_MAX 32
#define CS_TOKEN_MAX 65

/* A local ban waiting to be published (the pending queue holds these). */
struct cs_ban {
	struct nfs_addr addr;             /* host, or prefix (an IPv6 ban, a distributed scan) */
	char detector[CS_DETECTOR_MAX];   /* "scan", "manual", ...: the scenario is nfsentry/DETECTOR */
	char origin[16];                  /* "nfsentry" or "manual" (the daemon's word) */
	int64_t at;                       /* unix seconds: when it was banned */
	int64_t until;                    /* unix seconds: when it ends */
	uint32_t events;                  /* attempts counted, 0 if unknown */
	char token[CS_TOKEN_MAX];         /* evidence token, "" until it came */
	int64_t ready_ms;                 /* CLOCK_MONOTONIC ms when it may go (the batch window); not saved */
};

/* A scenario name from a detector name the daemon sent: [a-z0-9_-] only, else "unknown".
 * Writes "nfsentry/NAME" into @buf. */
void alert_scenario(const char *detector, char *buf, size_t len);
/* The alert for @b as seen at unix second @now: its decision lasts what is left of the ban.
 * Returns 0 and a new object in *@out (caller frees), -ESTALE when the ban has ended (nothing
 * to publish), or -ENOMEM. */
int alert_build(const struct cs_ban *b, int64_t now, json_t **out);
/* RFC 3339 in UTC ("2026-12-07T05:33:19Z") of unix second @t. */
void alert_time_format(int64_t t, char *buf, size_t len);
