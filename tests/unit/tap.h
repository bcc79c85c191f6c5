/* tap.h - minimal TAP output for meson's `protocol: 'tap'`. One check per line. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		tap_n++;                                                        \
		if (cond) {                                                     \
			printf("ok %d - ", tap_n);                              \
		} else {                                                        \
			tap_failed++;                                           \
			printf("not ok %d - %s:%d: ", tap_n, __FILE__, __LINE__); \
		}                                                               \
		printf(__VA_ARGS__);                                            \
		printf("\n");                                                   \
	} while (0)

/* Evaluates @a and @b twice: give it values, not calls with side effects. */
#define CHECK_EQ(a, b, what) CHECK((a) == (b), "%s: %lld == %lld", what, (long long)(a), (long long)(b))
#define CHECK_STR(a, b, what) CHECK(strcmp((a), (b)) == 0, "%s: \"%s\" == \"%s\"", what, (a), (b))

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
