/* test-duration.c - duration parsing and formatting. */
#include <errno.h>

#include "core/duration.h"
#include "tap.h"

int main(void)
{
	static const struct { const char *in; int r; uint64_t s; } cases[] = {
		{ "90s", 0, 90 }, { "10m", 0, 600 }, { "1h", 0, 3600 }, { "7d", 0, 604800 },
		{ "1h30m", 0, 5400 }, { "45", 0, 45 }, { " 5m ", 0, 300 }, { "0s", 0, 0 },
		{ "", -EINVAL, 0 }, { "m", -EINVAL, 0 }, { "5x", -EINVAL, 0 }, { "1h30", -EINVAL, 0 },
		{ "-5s", -EINVAL, 0 }, { "5 m", -EINVAL, 0 }, { "99999999999999999999d", -ERANGE, 0 },
		{ "3651d", -ERANGE, 0 }, { "1.5h", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t s = 12345;
		int r = duration_parse(cases[i].in, &s);
		CHECK(r == cases[i].r && (r < 0 ? s == 12345 : s == cases[i].s), "parse \"%s\" -> %d %llu", cases[i].in,
		      r, (unsigned long long)s);
	}
	static const struct { uint64_t s; const char *out; } fmt[] = {
		{ 0, "0s" }, { 59, "59s" }, { 600, "10m" }, { 5400, "1h30m" }, { 90061, "1d1h1m1s" },
	};
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		char buf[32];
		uint64_t back;
		duration_format(fmt[i].s, buf, sizeof(buf));
		CHECK_STR(buf, fmt[i].out, "format");
		CHECK(duration_parse(buf, &back) == 0 && back == fmt[i].s, "round trip %s", buf);
	}

	/* yes/no values */
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" },
			       *const bad[] = { "", "Yes", "y", "2", "yes ", "nope" };
	for (size_t i = 0; i < 4; i++) {
		bool b = false;
		CHECK(bool_parse(yes[i], &b) == 0 && b, "\"%s\" is yes", yes[i]);
		b = true;
		CHECK(bool_parse(no[i], &b) == 0 && !b, "\"%s\" is no", no[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool b = true;
		CHECK(bool_parse(bad[i], &b) == -EINVAL && b, "\"%s\" is refused, the value untouched", bad[i]);
	}
	return tap_done();
}
