/* view.h - the running daemon as its two readers see it: the control server (control/server.c)
 * and the metrics (metrics/metrics.c). main.c fills one struct daemon_view once every part is made and
 * gives the same one to both, so a part added to the daemon is seen the same way by
 * `nfsentryctl status`, its --json metrics and the metrics file.
 *
 * Why here: the view names parts from every layer below (queue, detect, decide, ban, evidence),
 * so it cannot live in core/ without an upward include; it sits in the metrics layer, above
 * every part it names and below the control server, its other reader. */
#pragma once

#include <stddef.h>
#include <time.h>

#include "ban/banq.h"
#include "ban/feed.h"
#include "ban/writer.h"
#include "engine/engine.h"
#include "detect/flow.h"
#include "detect/tracker.h"
#include "evidence/pktring.h"
#include "evidence/saver.h"
#include "queue/worker.h"

/* Nothing in it is owned by the view; main.c owns every part and keeps it alive until the
 * control server and the main loop (which writes the metrics) have stopped. */
struct daemon_view {
	struct worker **workers;
	size_t nworkers;
	size_t nclosed;             /* workers[0..nclosed-1] serve closed-port queues */
	struct banwriter *writer;
	struct banq *banq;          /* the control server's manual bans go through it */
	struct ban_feed *feed;      /* bans and unbans as they happen: the control socket's watch */
	struct tracker *tracker;
	struct flowtab *flows;
	struct engine *engine;
	struct evidence *evidence;  /* may be NULL: records are off */
	struct pktring *ring;       /* may be NULL */
	struct event_sink *events;  /* may be NULL: for nfsentry_events_lost_total */
	time_t started;             /* wall clock, for the uptime shown */
};
