/* utf8.h - measuring UTF-8 the way JSON needs it: text that came off the wire or out of /proc
 * goes into events and records only as well-formed UTF-8, the rest escaped byte by byte. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Length (1 to 4) of the well-formed UTF-8 sequence at @p, of which @n bytes (at least 1) may
 * be read, or 0 when it is not one (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF; what jansson accepts). */
size_t utf8_len(const uint8_t *p, size_t n);
