/* metrics.h - the daemon's numbers (docs/metrics.md), gathered from every module into one
 * model that becomes the Prometheus text file ([daemon] metrics_file) and the "metrics" of
 * `nfsentryctl status --json`: the same numbers both ways. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "ban/writer.h"
#include "engine/engine.h"
#include "detect/flow.h"
#include "detect/tracker.h"
#include "evidence/pktring.h"
#include "evidence/saver.h"
#include "queue/worker.h"

/* Not owned. evidence, ring and events may be NULL. */
struct metrics_sources {
	struct worker **workers;
	size_t nworkers;
	struct banwriter *writer;
	struct tracker *tracker;
	struct flowtab *flows;
	struct engine *engine;
	struct evidence *evidence;
	struct pktring *ring;
	struct event_sink *events; /* may be NULL */
	double uptime_s;
};

/* Every metric: {NAME: {"type", "help", "samples": [{"labels": {...}, "value": N}]}}, in
 * exposition order; a histogram's samples also carry their "name" (_bucket, _sum, _count).
 * New object, or NULL when out of memory. */
json_t *metrics_collect(const struct metrics_sources *s);
/* Writes metrics_collect() to @path in the Prometheus text format, atomically. Returns 0 or
 * -errno. */
int metrics_write(const char *path, const struct metrics_sources *s);
