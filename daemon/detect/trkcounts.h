/* trkcounts.h - a source's closed-port attempts per class (struct trk_report's and struct
 * trk_summary's counts), rendered in one place: as a JSON object for the "scan" events and
 * the control socket's "sources" (docs/events.md, docs/control.md), as text for the log. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/tracker.h"

/* {"syn": 3, "fin": 1}: the classes with a nonzero count, in enum trk_class order. New
 * object (the caller owns it), or NULL when out of memory. */
json_t *trk_counts_json(const uint32_t counts[TRK_CLASSES]);
/* "syn 3, fin 1", the same classes in the same order, into @buf (NUL-terminated when @len is
 * not 0; "" when every count is 0). Returns the length of the whole text, as snprintf(3)
 * does: @len or more means it was cut. */
size_t trk_counts_format(const uint32_t counts[TRK_CLASSES], char *buf, size_t len);
