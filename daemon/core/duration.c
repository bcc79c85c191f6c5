/* duration.c - config durations; strict, because a typo in a ban length should not pass. */
#include "core/duration.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>

#define DURATION_MAX (10ULL * 365 * 86400)

int duration_parse(const char *s, uint64_t *out_seconds)
{
	uint64_t total = 0;
	int groups = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s && *s != ' ' && *s != '\t') {
		uint64_t n = 0, unit = 1;
		int digits = 0;

		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (uint64_t)(*s++ - '0');
			if (n > DURATION_MAX)
				return -ERANGE;
			digits++;
		}
		if (!digits)
			return -EINVAL;
		switch (*s) {
		case 's': unit = 1; s++; break;
		case 'm': unit = 60; s++; break;
		case 'h': unit = 3600; s++; break;
		case 'd': unit = 86400; s++; break;
		case '\0': case ' ': case '\t':
			if (groups)
				return -EINVAL; /* "1h30" is ambiguous */
			break;
		default:
			return -EINVAL;
		}
		total += n * unit;
		if (total > DURATION_MAX)
			return -ERANGE;
		groups++;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s || !groups)
		return -EINVAL;
	*out_seconds = total;
	return 0;
}

void duration_format(uint64_t seconds, char *buf, size_t len)
{
	static const struct { uint64_t secs; char unit; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (seconds == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < 4 && off < len; i++) {
		if (seconds >= units[i].secs) {
			int n = snprintf(buf + off, len - off, "%llu%c",
					 (unsigned long long)(seconds / units[i].secs), units[i].unit);
			if (n < 0)
				return;
			off += (size_t)n;
			seconds %= units[i].secs;
		}
	}
}

int bool_parse(const char *s, bool *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "1"))
		*out = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}
