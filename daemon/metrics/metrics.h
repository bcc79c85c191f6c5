/* metrics.h - the daemon's numbers (docs/metrics.md), gathered from every module into one
 * model that becomes the Prometheus text file ([daemon] metrics_file) and the "metrics" of
 * `nfsentryctl status --json`: the same numbers both ways. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "metrics/view.h"

/* Every metric: {NAME: {"type", "help", "samples": [{"labels": {...}, "value": N}]}}, in
 * exposition order; a histogram's samples also carry their "name" (_bucket, _sum, _count).
 * New object, or NULL when out of memory. */
json_t *metrics_collect(const struct daemon_view *v);
/* Writes metrics_collect() to @path in the Prometheus text format, atomically. Returns 0 or
 * -errno. */
int metrics_write(const char *path, const struct daemon_view *v);
