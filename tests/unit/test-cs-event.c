/* test-cs-event.c - watch lines (crowdsec/event.h), as docs/control.md specifies them. */
#include <errno.h>
#include <string.h>

#include "event.h"
#include "tap.h"

int main(void)
{
	struct cs_event e;

	CHECK_EQ(cs_event_parse("{\"event\":\"ban\",\"seq\":5,\"origin\":\"nfsentry\",\"address\":\"192.0.2.7\",\"detector\":\"scan\","
				"\"seconds\":3600,\"until\":1700003600,\"events\":12}", 1700000000, &e), 0, "a ban");
	CHECK(e.kind == CS_EV_BAN && e.seq == 5 && e.seconds == 3600 && e.ban.until == 1700003600 && e.ban.at == 1700000000 &&
	      e.ban.events == 12 && !strcmp(e.ban.detector, "scan") && !strcmp(e.ban.origin, "nfsentry"), "its fields");
	CHECK_EQ(cs_event_parse("{\"event\":\"ban\",\"seq\":6,\"origin\":\"crowdsec\",\"address\":\"198.51.100.0/24\","
				"\"detector\":\"manual\",\"seconds\":60}", 1700000000, &e), 0, "a fleet ban, no until");
	CHECK(!strcmp(e.ban.origin, "crowdsec") && e.ban.until == 1700000060 && e.ban.addr.plen == 24, "until from now");
	CHECK_EQ(cs_event_parse("{\"event\":\"unban\",\"seq\":7,\"origin\":\"manual\",\"address\":\"192.0.2.7\",\"why\":\"manual\"}",
				0, &e), 0, "an unban");
	CHECK_EQ(e.kind, CS_EV_UNBAN, "kind");
	CHECK_EQ(cs_event_parse("{\"event\":\"evidence\",\"seq\":8,\"address\":\"192.0.2.7\",\"token\":\"ab12\"}", 0, &e), 0,
		 "evidence");
	CHECK(e.kind == CS_EV_EVIDENCE && !strcmp(e.ban.token, "ab12"), "its token");
	CHECK_EQ(cs_event_parse("{\"event\":\"lost\",\"count\":300}", 0, &e), 0, "lost");
	CHECK(e.kind == CS_EV_LOST && e.count == 300, "its count");
	CHECK_EQ(cs_event_parse("{\"event\":\"future\",\"seq\":9}", 0, &e), 0, "an event of a newer daemon");
	CHECK_EQ(e.kind, CS_EV_OTHER, "skipped as other");

	static const char *const bad[] = {
		"", "not json", "[]", "{}", "{\"event\":1}",
		"{\"event\":\"lost\"}", "{\"event\":\"lost\",\"count\":-1}",
		"{\"event\":\"ban\",\"origin\":\"nfsentry\",\"address\":\"192.0.2.7\",\"detector\":\"scan\"}",   /* no seconds */
		"{\"event\":\"ban\",\"origin\":\"nfsentry\",\"address\":\"192.0.2.7\",\"detector\":\"scan\",\"seconds\":0}",
		"{\"event\":\"ban\",\"origin\":\"nfsentry\",\"address\":\"192.0.2.7\",\"detector\":\"scan\",\"seconds\":-5}",
		"{\"event\":\"ban\",\"address\":\"192.0.2.7\",\"detector\":\"scan\",\"seconds\":5}",               /* no origin */
		"{\"event\":\"ban\",\"origin\":\"nfsentry\",\"address\":\"nope\",\"detector\":\"scan\",\"seconds\":5}",
		"{\"event\":\"ban\",\"origin\":\"nfsentry\",\"address\":\"192.0.2.7\",\"detector\":\"scan\",\"seconds\":5,\"events\":-1}",
		"{\"event\":\"ban\",\"origin\":\"nfsentry\",\"address\":\"192.0.2.7\",\"detector\":\"scan\",\"seconds\":5,\"events\":5000000000}",
		"{\"event\":\"ban\",\"origin\":\"nfsentry\",\"address\":\"192.0.2.7\",\"detector\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"seconds\":5}",
		"{\"event\":\"evidence\",\"address\":\"192.0.2.7\"}",
		"{\"event\":\"evidence\",\"address\":\"192.0.2.7\",\"token\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(cs_event_parse(bad[i], 0, &e), -EINVAL, bad[i]);
	return tap_done();
}
