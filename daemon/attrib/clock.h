/* clock.h - the clocks of a lookup: the moment this host booted, and instants as RFC 3339
 * text. Its budget runs on core/clock.h's clock_mono_ns(). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define ATTRIB_TIME_STRLEN 32

/* When this host booted, in nanoseconds since the epoch: CLOCK_REALTIME - CLOCK_BOOTTIME, the
 * origin of /proc/PID/stat's starttime (which counts suspended time too). It moves when the
 * wall clock is set, as ps(1)'s start times do. */
int64_t attrib_clock_boot_ns(void);
/* The instant @ticks clock ticks (sysconf(_SC_CLK_TCK)) after @boot_ns. */
int64_t attrib_clock_after_boot(int64_t boot_ns, unsigned long long ticks);
/* "2026-11-22T03:05:53.120Z": UTC, milliseconds, truncated (a start time is only known to a
 * clock tick, 10 ms). Returns @buf. */
const char *attrib_clock_format(int64_t ns, char *buf, size_t len);
