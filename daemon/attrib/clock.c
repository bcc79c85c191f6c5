/* clock.c - see clock.h. */
#include "attrib/clock.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define NSEC 1000000000LL

static int64_t ns_of(clockid_t id)
{
	struct timespec t;

	if (clock_gettime(id, &t) < 0)
		return 0;
	return (int64_t)t.tv_sec * NSEC + t.tv_nsec;
}

int64_t attrib_clock_boot_ns(void)
{
	/* Read the boot clock between two reads of the wall clock and take their middle, so
	 * the difference does not depend on which was read first. */
	int64_t r1 = ns_of(CLOCK_REALTIME), b = ns_of(CLOCK_BOOTTIME), r2 = ns_of(CLOCK_REALTIME);

	return r1 + (r2 - r1) / 2 - b;
}

int64_t attrib_clock_after_boot(int64_t boot_ns, unsigned long long ticks)
{
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long uhz = hz > 0 ? (unsigned long long)hz : 100;

	/* In two parts: ticks * 1e9 would overflow after 5.8 years of uptime at 100 Hz. */
	return boot_ns + (int64_t)(ticks / uhz) * NSEC + (int64_t)((ticks % uhz) * NSEC / uhz);
}

const char *attrib_clock_format(int64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / NSEC);
	long ms = (long)(ns % NSEC) / 1000000;
	struct tm tm;
	size_t n;

	if (ms < 0) { /* before 1970: floor, not towards zero */
		sec--;
		ms += 1000;
	}
	if (!gmtime_r(&sec, &tm)) {
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
		return buf;
	}
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ms);
	return buf;
}
