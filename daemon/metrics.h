/* metrics.h - the daemon's numbers as a Prometheus text file ([daemon] metrics_file). */
#pragma once

#include <stddef.h>

#include "ban/writer.h"
#include "decide/engine.h"
#include "detect/flow.h"
#include "detect/tracker.h"
#include "queue/worker.h"

struct metrics_sources {
	struct worker **workers;
	size_t nworkers;
	struct banwriter *writer;
	struct tracker *tracker;
	struct flowtab *flows;
	struct engine *engine;
	double uptime_s;
};

/* Writes every metric (docs/metrics.md) to @path atomically. Returns 0 or -errno. */
int metrics_write(const char *path, const struct metrics_sources *s);
