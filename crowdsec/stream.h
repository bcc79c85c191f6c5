/* stream.h - the body of GET /v1/decisions/stream, read into the decisions the bridge may
 * apply and the counts of those it may not. Outside bytes: everything is checked, nothing in
 * it is trusted beyond "a decision of the fleet" (the daemon still refuses protected,
 * allowed and too wide addresses).
 *
 *   {"new":[{"id":1,"type":"ban","scope":"Ip","value":"192.0.2.7","duration":"3h59m58.1s",
 *            "origin":"cscli","scenario":"..."}, ...], "deleted":[...] }   (either may be null) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

struct cs_decision {
	int64_t id;
	int64_t ms;           /* remaining, from "duration" (new ones: > 0) */
	struct nfs_addr addr; /* scope Ip: a host (/32, /128); Range: a prefix */
	bool nfsentry;        /* origin "nfsentry": published by a bridge, perhaps this one */
};

struct cs_stream {
	struct cs_decision *added, *deleted; /* applicable ones, in the body's order */
	size_t n_added, n_deleted;
	/* Counted and ignored: */
	size_t other_type;   /* captcha, throttle, ... */
	size_t other_scope;  /* Country, AS, Username, ... */
	size_t invalid;      /* no id, a value that is no address of its scope, a bad duration */
	size_t expired;      /* new, but with a duration of 0 or less */
	size_t over;         /* past @max: not read (the map could not hold them anyway) */
};

/* Parses @len bytes of @body. At most @max decisions are kept in each list; the rest are
 * counted in over. Returns 0 and fills @out (free with cs_stream_free()), or -EINVAL (not a
 * stream body: the reason in @err) or -ENOMEM. */
int cs_stream_parse(const char *body, size_t len, size_t max, struct cs_stream *out, char *err, size_t errlen);
void cs_stream_free(struct cs_stream *s);
