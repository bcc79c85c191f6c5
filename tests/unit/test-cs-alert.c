/* test-cs-alert.c - the alert body of POST /v1/alerts (crowdsec/alert.h): every field
 * crowdsec 1.4.6 requires, the decision lasting what is left of the ban, Range for a prefix,
 * nothing private. */
#include <errno.h>
#include <string.h>

#include "alert.h"
#include "tap.h"

static const char *str(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);
	if (path2)
		v = json_object_get(json_is_array(v) ? json_array_get(v, 0) : v, path2);
	const char *s = json_string_value(v);
	return s ? s : "(missing)";
}

int main(void)
{
	struct cs_ban b = { .detector = "scan", .origin = "nfsentry", .at = 1700000000, .until = 1700003600, .events = 42,
			    .token = "0123abcd" };
	json_t *a;

	nfs_addr_parse("192.0.2.7", false, &b.addr);
	CHECK_EQ(alert_build(&b, 1700000100, &a), 0, "built");
	static const char *const required[] = { "scenario", "scenario_hash", "scenario_version", "message", "events_count",
						"start_at", "stop_at", "capacity", "leakspeed", "simulated", "events",
						"source", "decisions" };
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		CHECK(json_object_get(a, required[i]) != NULL, "alert field %s (required by the LAPI)", required[i]);
	CHECK(json_is_array(json_object_get(a, "events")), "events is an array");
	CHECK_STR(str(a, "scenario", NULL), "nfsentry/scan", "scenario nfsentry/DETECTOR");
	CHECK_EQ(json_integer_value(json_object_get(a, "events_count")), 42, "events_count");
	CHECK_STR(str(a, "start_at", NULL), "2023-11-14T22:13:20Z", "start_at: when it was banned, RFC 3339");
	CHECK_STR(str(a, "source", "scope"), "Ip", "source scope Ip");
	CHECK_STR(str(a, "source", "value"), "192.0.2.7", "source value");
	CHECK_EQ(json_array_size(json_object_get(a, "decisions")), 1, "one decision");
	static const char *const dreq[] = { "duration", "origin", "scenario", "scope", "type", "value" };
	for (size_t i = 0; i < sizeof(dreq) / sizeof(dreq[0]); i++)
		CHECK(json_object_get(json_array_get(json_object_get(a, "decisions"), 0), dreq[i]) != NULL,
		      "decision field %s (required by the LAPI)", dreq[i]);
	CHECK_STR(str(a, "decisions", "duration"), "3500s", "the remaining 3500 s, not the whole hour");
	CHECK_STR(str(a, "decisions", "origin"), "nfsentry", "origin nfsentry");
	CHECK_STR(str(a, "decisions", "type"), "ban", "type ban");
	CHECK_STR(str(a, "decisions", "scope"), "Ip", "scope Ip");
	CHECK(strstr(str(a, "message", NULL), "0123abcd") != NULL, "the evidence token is in the message");
	json_decref(a);

	/* An IPv6 ban is a prefix: Range. A bad detector name does not reach the scenario. */
	nfs_addr_parse("2001:db8:5::/64", false, &b.addr);
	snprintf(b.detector, sizeof(b.detector), "../x\"y");
	b.token[0] = '\0';
	CHECK_EQ(alert_build(&b, 1700000100, &a), 0, "built");
	CHECK_STR(str(a, "source", "scope"), "Range", "an IPv6 prefix: source scope Range");
	CHECK_STR(str(a, "decisions", "scope"), "Range", "decision scope Range");
	CHECK_STR(str(a, "decisions", "value"), "2001:db8:5::/64", "its value");
	CHECK_STR(str(a, "scenario", NULL), "nfsentry/unknown", "a detector name with odd bytes: unknown");
	CHECK(!strstr(str(a, "message", NULL), "evidence"), "no token, no evidence in the message");
	json_decref(a);

	/* A host /128 is an Ip. */
	nfs_addr_parse("2001:db8::7", false, &b.addr);
	CHECK_EQ(alert_build(&b, 1700000100, &a), 0, "built");
	CHECK_STR(str(a, "source", "scope"), "Ip", "an IPv6 /128: Ip");
	json_decref(a);

	/* Nothing to publish once the ban is over (or taken back: until 0). */
	CHECK_EQ(alert_build(&b, 1700003600, &a), -ESTALE, "ended: nothing");
	b.until = 0;
	CHECK_EQ(alert_build(&b, 1700000100, &a), -ESTALE, "taken back: nothing");

	char sc[64];
	alert_scenario("distributed-scan", sc, sizeof(sc));
	CHECK_STR(sc, "nfsentry/distributed-scan", "dashes are fine");
	alert_scenario("", sc, sizeof(sc));
	CHECK_STR(sc, "nfsentry/unknown", "empty");
	alert_scenario("Scan", sc, sizeof(sc));
	CHECK_STR(sc, "nfsentry/unknown", "upper case is not a detector name");
	return tap_done();
}
