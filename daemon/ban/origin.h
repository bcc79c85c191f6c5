/* origin.h - who made a ban: this host's detectors, an administrator, or the fleet (CrowdSec's
 * Local API, through nfsentry-crowdsec: docs/crowdsec.md). A ban carries its origin so that
 * `nfsentryctl bans` shows it and the bridge publishes only this host's own bans: a ban from
 * the fleet published back would come back again, a loop (issue 13). */
#pragma once

enum ban_origin {
	BAN_ORIGIN_DETECTOR, /* a detector of this host (the ban's det says which) */
	BAN_ORIGIN_MANUAL,   /* an administrator: nfsentryctl ban, or nft by hand */
	BAN_ORIGIN_FLEET,    /* a decision of the fleet, applied from the LAPI's stream */
	BAN_ORIGIN_COUNT
};

/* The word the control socket, the ban table file and the bridge use: "nfsentry", "manual",
 * "crowdsec". */
static inline const char *ban_origin_name(enum ban_origin o)
{
	static const char *const names[BAN_ORIGIN_COUNT] = { "nfsentry", "manual", "crowdsec" };
	return (unsigned)o < BAN_ORIGIN_COUNT ? names[o] : "?";
}
