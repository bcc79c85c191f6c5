/* text.h - bytes that belong to someone else (a process's name, its arguments, a path) as a
 * JSON string: bounded, and always valid UTF-8, which jansson requires. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A new JSON string of the @len bytes at @p (no NUL terminator needed, none looked for),
 * cut after at most @max bytes of input, at a character boundary. A byte that is not part of
 * a well-formed UTF-8 sequence (RFC 3629), and NUL, becomes the four characters \xNN, as in
 * events (docs/events.md). Sets *@cut (when @cut is not NULL) if bytes were left out.
 * Returns NULL when out of memory. */
json_t *attrib_text_json(const void *p, size_t len, size_t max, bool *cut);
