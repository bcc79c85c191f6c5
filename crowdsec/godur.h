/* godur.h - Go's time.Duration text ("3h59m58.123456789s", "-2m", "1.5h", "300ms"), as the
 * LAPI writes a decision's remaining duration. */
#pragma once

#include <stdint.h>

/* Parses @s into milliseconds (fractions below a millisecond are cut; a negative duration, an
 * expired decision, stays negative). Returns 0, or -EINVAL (not Go's syntax) or -ERANGE (more
 * than 100 years either way). */
int godur_parse_ms(const char *s, int64_t *out_ms);
