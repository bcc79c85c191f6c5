/* test-clock.c - the two clocks (core/clock.h): the monotonic one never goes back and counts
 * milliseconds; the wall clock is the epoch's, in milliseconds. Nothing is asserted about how
 * long anything took beyond "not backwards" and "within a second of time(2)". */
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "tap.h"

int main(void)
{
	int64_t a = clock_mono_ms(), b;
	bool forward = true;

	for (int i = 0; i < 1000; i++) {
		b = clock_mono_ms();
		forward = forward && b >= a;
		a = b;
	}
	CHECK(forward, "monotonic: never backwards over 1000 reads");
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t m = clock_mono_ms(), want = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	CHECK(m >= want && m - want < 1000, "CLOCK_MONOTONIC in ms (%lld vs %lld)", (long long)m, (long long)want);
	time_t before = time(NULL);
	int64_t w = clock_wall_ms();
	time_t after = time(NULL);
	CHECK(w / 1000 >= before && w / 1000 <= after, "the wall clock in ms since the epoch (%lld)", (long long)w);
	return tap_done();
}
