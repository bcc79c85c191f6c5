/* event.h - one line of the daemon's `watch` stream (docs/control.md) read into a struct:
 *   {"event":"ban","seq":S,"origin":"nfsentry","address":"192.0.2.7","detector":"scan",
 *    "seconds":3600,"until":UNIX_S,"events":N}
 *   {"event":"unban","seq":S,"origin":"...","address":"...","why":"manual|protected|fleet"}
 *   {"event":"evidence","seq":S,"address":"...","token":"HEX"}
 *   {"event":"lost","count":N} */
#pragma once

#include <stdint.h>

#include "alert.h"

enum cs_event_kind { CS_EV_BAN, CS_EV_UNBAN, CS_EV_EVIDENCE, CS_EV_LOST, CS_EV_OTHER };

struct cs_event {
	enum cs_event_kind kind;
	uint64_t seq;
	uint64_t count;      /* lost */
	struct cs_ban ban;   /* ban: all of it; unban and evidence: addr (and token, origin) */
	uint64_t seconds;    /* ban: its length */
};

/* Returns 0 and the event in @out, or -EINVAL (not an event line: malformed, or a field out
 * of range). An unknown "event" is CS_EV_OTHER (a newer daemon: skipped). @now: unix
 * seconds, for a ban without "until". */
int cs_event_parse(const char *line, int64_t now, struct cs_event *out);
