/* duration.h - "90s", "10m", "1h30m", "7d" <-> seconds. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Parses @s into seconds. Accepts one or more <number><unit> groups (units s, m, h, d; a bare
 * number means seconds). Returns 0, or -EINVAL (syntax) / -ERANGE (over 10 years). */
int duration_parse(const char *s, uint64_t *out_seconds);

/* Writes the shortest exact form ("1h30m", "0s") into @buf. */
void duration_format(uint64_t seconds, char *buf, size_t len);
