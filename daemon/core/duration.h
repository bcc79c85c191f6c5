/* duration.h - config values: durations ("90s", "10m", "1h30m", "7d" <-> seconds) and yes/no. */
#pragma once

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Parses @s into seconds. Accepts one or more <number><unit> groups (units s, m, h, d; a bare
 * number means seconds). Returns 0, or -EINVAL (syntax) / -ERANGE (over 10 years). */
int duration_parse(const char *s, uint64_t *out_seconds);

/* Writes the shortest exact form ("1h30m", "0s") into @buf. */
void duration_format(uint64_t seconds, char *buf, size_t len);
/* A yes/no value of a config file: yes, true, on or 1; no, false, off or 0. Returns 0 with
 * *@out set, or -EINVAL. Shared by nfsentry.conf and the bridge's crowdsec.conf. */
int bool_parse(const char *s, bool *out);
