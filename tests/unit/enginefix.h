/* enginefix.h - the engine the worker and metrics tests hand packets to: the default config, a
 * tracker and a connection table of 1024 entries, a ban queue of 64, events to /dev/null.
 * enginefix_open() returns true when all of it is made; enginefix_close() frees what was made,
 * also after a failed open. Both tests used to build and free these six by hand. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ban/banq.h"
#include "core/config.h"
#include "core/event.h"
#include "detect/flow.h"
#include "detect/tracker.h"
#include "engine/engine.h"

struct enginefix {
	struct nfs_config *cfg;
	struct tracker *t;
	struct flowtab *flows;
	struct banq *q;
	struct event_sink *events;
	struct engine e;
	bool engine_ok; /* engine_init() succeeded: enginefix_close() deinits it */
};

static inline bool enginefix_open(struct enginefix *f, const uint8_t key[16])
{
	*f = (struct enginefix){ 0 };
	(void)config_new_default(&f->cfg);
	(void)tracker_new(&f->t, 1024, key);
	(void)flowtab_new(&f->flows, 1024, key);
	(void)banq_new(&f->q, 64);
	f->engine_ok = f->cfg && f->t && f->flows && f->q && event_sink_open(&f->events, "/dev/null", NULL) == 0 &&
		       engine_init(&f->e, f->t, f->flows, f->q, f->events, f->cfg) == 0;
	return f->engine_ok;
}

static inline void enginefix_close(struct enginefix *f)
{
	if (f->engine_ok)
		engine_deinit(&f->e);
	event_sink_close(f->events);
	banq_free(f->q);
	flowtab_free(f->flows);
	tracker_free(f->t);
	config_free(f->cfg);
}
