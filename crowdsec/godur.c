/* godur.c - Go durations, as time.ParseDuration reads them (units ns, us, µs, ms, s, m, h). */
#include "godur.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* 100 years in nanoseconds fits in 2^62: every sum below stays far from overflow. */
#define GODUR_MAX_NS (100LL * 366 * 86400 * 1000000000LL)

static const struct {
	const char *name;
	int64_t ns;
} units[] = {
	{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 }, { "ms", 1000000 },
	{ "s", 1000000000LL }, { "m", 60 * 1000000000LL }, { "h", 3600 * 1000000000LL },
};

int godur_parse_ms(const char *s, int64_t *out_ms)
{
	int64_t total = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*out_ms = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		int64_t whole = 0, frac = 0, scale = 1;
		bool digits = false;

		while (*s >= '0' && *s <= '9') {
			/* Checked before the multiplication: fuzz-stream found the overflow after it. */
			if (whole > GODUR_MAX_NS / 10)
				return -ERANGE;
			whole = whole * 10 + (*s++ - '0');
			digits = true;
		}
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				/* Nanoseconds are the finest unit: further digits change nothing. */
				if (scale < 1000000000LL) {
					frac = frac * 10 + (*s - '0');
					scale *= 10;
				}
				s++;
				digits = true;
			}
		}
		if (!digits)
			return -EINVAL;
		size_t u = 0, ulen = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].name);
			/* "ms" before "m": the longest unit that matches. */
			if (!strncmp(s, units[i].name, l) && l > ulen)
				u = i, ulen = l;
		}
		if (!ulen)
			return -EINVAL;
		s += ulen;
		if (whole > GODUR_MAX_NS / units[u].ns)
			return -ERANGE;
		total += whole * units[u].ns + (int64_t)((__int128)frac * units[u].ns / scale);
		if (total > GODUR_MAX_NS)
			return -ERANGE;
	}
	total /= 1000000;
	*out_ms = neg ? -total : total;
	return 0;
}
