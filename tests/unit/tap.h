/* tap.h - minimal TAP output for meson's `protocol: 'tap'`. One check per line. */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

/* Prints one check's line. A description that spans lines (a dump, a rewritten ruleset) goes
 * out as the check's line and then one "# " comment per further line: TAP has no other place
 * for them, and meson reports anything else as "Unknown TAP output". */
__attribute__((format(printf, 4, 5))) static inline void tap_line(int ok, const char *file, int line,
									  const char *fmt, ...)
{
	va_list ap;
	char small[512], *text = small;

	va_start(ap, fmt);
	int len = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (len >= (int)sizeof(small) && (text = malloc((size_t)len + 1))) {
		va_start(ap, fmt);
		vsnprintf(text, (size_t)len + 1, fmt, ap);
		va_end(ap);
	} else if (!text) {
		text = small; /* out of memory: the description is cut short, the check still counts */
	}
	if (ok)
		printf("ok %d - ", tap_n);
	else
		printf("not ok %d - %s:%d: ", tap_n, file, line);
	const char *p = text, *nl;
	while ((nl = strchr(p, '\n'))) {
		printf("%.*s\n# ", (int)(nl - p), p);
		p = nl + 1;
	}
	printf("%s\n", p);
	if (text != small)
		free(text);
}

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		tap_n++;                                                        \
		int tap_ok_ = !!(cond);                                         \
		if (!tap_ok_)                                                   \
			tap_failed++;                                           \
		tap_line(tap_ok_, __FILE__, __LINE__, __VA_ARGS__);             \
	} while (0)

/* Evaluates @a and @b once each (a call in them runs once). Both are held in the type that
 * (a) == (b) compares in (the usual arithmetic conversions: the type of (a) + (b)), so the
 * comparison means what it would written out, and -Wsign-compare sees two values of one type
 * where it used to see a constant it let pass. Shown as long long. */
#define CHECK_EQ(a, b, what)                                                                                \
	do {                                                                                                \
		__typeof__((a) + (b)) tap_a_ = (a), tap_b_ = (b);                                           \
		CHECK(tap_a_ == tap_b_, "%s: %lld == %lld", what, (long long)tap_a_, (long long)tap_b_);     \
	} while (0)
/* Evaluates @a and @b once each. */
#define CHECK_STR(a, b, what)                                                                               \
	do {                                                                                                \
		const char *tap_sa_ = (a), *tap_sb_ = (b);                                                  \
		CHECK(strcmp(tap_sa_, tap_sb_) == 0, "%s: \"%s\" == \"%s\"", what, tap_sa_, tap_sb_);       \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
