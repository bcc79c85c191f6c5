/* event.c - a watch line into a struct cs_event, every field checked. */
#include "event.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int copy_str(char *dst, size_t size, json_t *v, bool required)
{
	const char *s = json_string_value(v);

	if (!s)
		return required ? -EINVAL : 0;
	if (strlen(s) >= size)
		return -EINVAL;
	snprintf(dst, size, "%s", s);
	return 0;
}

static int event_read(json_t *o, int64_t now, struct cs_event *e)
{
	const char *kind = json_string_value(json_object_get(o, "event"));
	json_t *seq = json_object_get(o, "seq");

	if (!kind)
		return -EINVAL;
	if (json_is_integer(seq) && json_integer_value(seq) >= 0)
		e->seq = (uint64_t)json_integer_value(seq);
	if (!strcmp(kind, "lost")) {
		json_t *c = json_object_get(o, "count");
		if (!json_is_integer(c) || json_integer_value(c) < 0)
			return -EINVAL;
		e->kind = CS_EV_LOST;
		e->count = (uint64_t)json_integer_value(c);
		return 0;
	}
	if (!strcmp(kind, "ban"))
		e->kind = CS_EV_BAN;
	else if (!strcmp(kind, "unban"))
		e->kind = CS_EV_UNBAN;
	else if (!strcmp(kind, "evidence"))
		e->kind = CS_EV_EVIDENCE;
	else {
		e->kind = CS_EV_OTHER;
		return 0;
	}
	const char *addr = json_string_value(json_object_get(o, "address"));
	if (!addr || nfs_addr_parse(addr, false, &e->ban.addr) < 0)
		return -EINVAL;
	if (copy_str(e->ban.origin, sizeof(e->ban.origin), json_object_get(o, "origin"), e->kind == CS_EV_BAN) < 0)
		return -EINVAL;
	if (e->kind == CS_EV_EVIDENCE)
		return copy_str(e->ban.token, sizeof(e->ban.token), json_object_get(o, "token"), true);
	if (e->kind == CS_EV_UNBAN)
		return 0;
	json_t *secs = json_object_get(o, "seconds"), *until = json_object_get(o, "until"),
	       *events = json_object_get(o, "events");
	if (copy_str(e->ban.detector, sizeof(e->ban.detector), json_object_get(o, "detector"), true) < 0 ||
	    !json_is_integer(secs) || json_integer_value(secs) <= 0 || json_integer_value(secs) > 100LL * 366 * 86400 ||
	    (until && !json_is_integer(until)) ||
	    (events && (!json_is_integer(events) || json_integer_value(events) < 0 || json_integer_value(events) > UINT32_MAX)))
		return -EINVAL;
	e->seconds = (uint64_t)json_integer_value(secs);
	e->ban.until = until ? json_integer_value(until) : now + (int64_t)e->seconds;
	e->ban.at = e->ban.until - (int64_t)e->seconds;
	e->ban.events = events ? (uint32_t)json_integer_value(events) : 0;
	return 0;
}

int cs_event_parse(const char *line, int64_t now, struct cs_event *out)
{
	struct cs_event e = { 0 };
	json_t *o = json_loads(line, 0, NULL);
	int r = json_is_object(o) ? event_read(o, now, &e) : -EINVAL;

	json_decref(o);
	if (r == 0)
		*out = e;
	return r;
}
