/* fleet.c - the fleet command (docs/control.md, "fleet"): the decisions of nfsentry-crowdsec,
 * checked here and applied by the ban writer (banwriter_fleet()), answered with a count per
 * outcome. Apart from commands.c: the only request the [fleet] group may make that changes a
 * ban, and the one with a batch of items of its own. */
#include "control/server-int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/protocol.h"

/* Items of a fleet answer's "errors" (the counts cover them all). */
#define FLEET_ERRORS_MAX 16

/* A fleet item the control server refuses before the writer sees it: counted "invalid", and
 * named in "errors" while there is room. */
static void fleet_invalid(json_t *errors, json_t *given, const char *why)
{
	char shown[72];
	const char *s = json_string_value(given);

	if (json_array_size(errors) >= FLEET_ERRORS_MAX)
		return;
	snprintf(shown, sizeof(shown), "%.64s", s ? s : "(not a string)");
	for (char *p = shown; *p; p++) /* cut at 64 bytes: keep it ASCII, never half a character */
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	json_array_append_new(errors, json_pack("{s:s, s:s}", "address", shown, "error", why));
}

/* Parses one address of a fleet request into @it. Returns NULL, or why it is invalid. */
static const char *fleet_item_parse(json_t *address, struct ban_fleet_item *it)
{
	const char *a = json_string_value(address);

	/* Host bits are cleared: a Range decision "192.0.2.1/24" means 192.0.2.0/24. */
	if (!a || nfs_addr_parse(a, true, &it->addr) < 0)
		return "not an address or prefix";
	return NULL;
}

/* The fleet's decisions (docs/control.md, "fleet"): checked here, applied by the writer. */
json_t *control_fleet_answer(struct control *c, json_t *req, uid_t uid)
{
	json_t *bans = json_object_get(req, "ban"), *unbans = json_object_get(req, "unban"), *v;
	uint64_t counts[BAN_FLEET_OUTCOMES] = { 0 };
	struct ban_fleet_item *items;
	size_t n = 0, i;
	json_t *errors;

	if ((bans && !json_is_array(bans)) || (unbans && !json_is_array(unbans)))
		return control_fail("\"ban\" and \"unban\": expected lists");
	if (json_array_size(bans) + json_array_size(unbans) > CTL_FLEET_ITEMS_MAX)
		return control_fail("at most %d decisions per request (%zu given)", CTL_FLEET_ITEMS_MAX,
			    json_array_size(bans) + json_array_size(unbans));
	items = calloc(json_array_size(bans) + json_array_size(unbans) + 1, sizeof(*items));
	errors = json_array();
	if (!items || !errors) {
		free(items);
		json_decref(errors);
		return control_fail("out of memory");
	}
	json_array_foreach(unbans, i, v) {
		const char *why = fleet_item_parse(v, &items[n]);
		if (why) {
			counts[BAN_FLEET_INVALID]++;
			fleet_invalid(errors, v, why);
			continue;
		}
		items[n++].unban = true;
	}
	json_array_foreach(bans, i, v) {
		json_t *secs = json_object_get(v, "seconds"), *addr = json_object_get(v, "address");
		const char *why = json_is_object(v) ? fleet_item_parse(addr, &items[n]) : "not {address, seconds}";
		if (!why && (!json_is_integer(secs) || json_integer_value(secs) <= 0))
			why = "\"seconds\": expected a positive number";
		if (why) {
			counts[BAN_FLEET_INVALID]++;
			fleet_invalid(errors, addr ? addr : v, why);
			continue;
		}
		items[n++].seconds = (uint64_t)json_integer_value(secs);
	}
	int r = n ? banwriter_fleet(c->ctx.writer, items, n, BAN_WAIT_S * 1000) : 0;
	if (r < 0) {
		free(items);
		json_decref(errors);
		if (r == -ETIMEDOUT)
			return control_fail("the ban writer did not answer within %d s; the decisions are still being applied "
				    "(see the log)", BAN_WAIT_S);
		if (r == -ESHUTDOWN)
			return control_fail("nfsentry is stopping");
		return control_fail("cannot apply the decisions: %s", strerror(-r));
	}
	for (i = 0; i < n; i++) {
		uint8_t o = items[i].outcome < BAN_FLEET_OUTCOMES ? items[i].outcome : BAN_FLEET_REFUSED;
		char buf[NFS_ADDR_STRLEN];
		counts[o]++;
		if (o != BAN_FLEET_BANNED && o != BAN_FLEET_ALREADY && o != BAN_FLEET_UNBANNED && o != BAN_FLEET_ABSENT &&
		    json_array_size(errors) < FLEET_ERRORS_MAX)
			json_array_append_new(errors, json_pack("{s:s, s:s}", "address",
								nfs_addr_format(&items[i].addr, buf, sizeof(buf)), "error",
								ban_fleet_outcome_name(o)));
	}
	free(items);
	json_t *ans = control_ok();
	for (int o = 0; o < BAN_FLEET_OUTCOMES; o++)
		json_object_set_new(ans, ban_fleet_outcome_name(o), json_integer((json_int_t)counts[o]));
	json_object_set_new(ans, "errors", errors);
	return ans;
}
