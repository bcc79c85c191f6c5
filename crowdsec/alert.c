/* alert.c - the alert body of POST /v1/alerts. */
#include "alert.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

void alert_scenario(const char *detector, char *buf, size_t len)
{
	bool ok = *detector && strlen(detector) < CS_DETECTOR_MAX;

	for (const char *p = detector; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
	snprintf(buf, len, "nfsentry/%s", ok ? detector : "unknown");
}

void alert_time_format(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

int alert_build(const struct cs_ban *b, int64_t now, json_t **out)
{
	char addr[NFS_ADDR_STRLEN], scenario[64], message[256], start[32], stop[32], duration[32];
	bool host = b->addr.plen == (b->addr.family == AF_INET ? 32 : 128);
	const char *scope = host ? "Ip" : "Range";
	int64_t left = b->until - now;

	if (left <= 0)
		return -ESTALE;
	nfs_addr_format(&b->addr, addr, sizeof(addr));
	alert_scenario(b->detector, scenario, sizeof(scenario));
	snprintf(duration, sizeof(duration), "%llds", (long long)left);
	alert_time_format(b->at ? b->at : now, start, sizeof(start));
	alert_time_format(b->at ? b->at : now, stop, sizeof(stop));
	/* The token lets an administrator of this host show the evidence behind the ban
	 * (nfsentryctl evidence TOKEN); it reveals nothing by itself. */
	snprintf(message, sizeof(message), "nfsentry: %s banned %s for %llds (%u events)%s%s", scenario + 9, addr,
		 (long long)(b->until - (b->at ? b->at : now)), b->events, *b->token ? ", evidence " : "", b->token);
	json_t *src = host ? json_pack("{s:s, s:s, s:s}", "scope", scope, "value", addr, "ip", addr)
			   : json_pack("{s:s, s:s, s:s}", "scope", scope, "value", addr, "range", addr);
	json_t *dec = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s}]", "duration", duration, "origin", "nfsentry", "scenario",
				scenario, "scope", scope, "type", "ban", "value", addr);
	/* capacity, leakspeed, scenario_hash and scenario_version describe a CrowdSec bucket; a
	 * ban of nfsentry's has none, but the LAPI requires them all. */
	if (!src || !dec) {
		json_decref(src);
		json_decref(dec);
		return -ENOMEM;
	}
	/* capacity, leakspeed, scenario_hash and scenario_version describe a CrowdSec bucket; a
	 * ban of nfsentry's has none, but the LAPI requires them all. "o" takes src and dec,
	 * even when the pack fails. */
	json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:[], s:b, s:b, s:s, s:s, s:o, s:o}", "scenario",
			      scenario, "scenario_hash", "", "scenario_version", "", "message", message, "leakspeed", "0s",
			      "capacity", 0, "events_count",
			      b->events > INT32_MAX ? INT32_MAX : b->events ? (int)b->events : 1, "events", "remediation", 1,
			      "simulated", 0, "start_at", start, "stop_at", stop, "source", src, "decisions", dec);
	if (!a)
		return -ENOMEM;
	*out = a;
	return 0;
}
