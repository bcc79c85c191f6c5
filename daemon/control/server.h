/* server.h - the control socket (docs/control.md): one JSON request per connection, answered
 * by one JSON object, served by a thread of its own. Peers are checked with SO_PEERCRED. */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "ban/banq.h"
#include "ban/writer.h"
#include "engine/engine.h"
#include "detect/flow.h"
#include "detect/tracker.h"
#include "evidence/pktring.h"
#include "evidence/saver.h"
#include "queue/worker.h"

/* What the requests read and act on. Not owned; must outlive the server. */
struct control_ctx {
	struct worker **workers;
	size_t nworkers;
	size_t nclosed;          /* workers[0..nclosed-1] serve closed-port queues */
	struct banwriter *writer;
	struct banq *banq;
	struct tracker *tracker;
	struct flowtab *flows;
	struct engine *engine;
	struct evidence *evidence; /* may be NULL: records are off */
	struct pktring *ring;      /* may be NULL */
	struct event_sink *events; /* may be NULL: for nfsentry_events_lost_total */
	time_t started;
};

struct control;

/* Binds @path (mode 0660; group @gid when not (gid_t)-1, root's otherwise), replacing a stale
 * socket file. Returns 0 or -errno with a reason in @err. Does not start the thread. */
int control_open(struct control **out, const char *path, gid_t gid, const struct control_ctx *ctx, char *err,
		 size_t errlen);
int control_start(struct control *c);
/* Stops the thread; the socket file is removed. Accepts NULL. */
void control_free(struct control *c);

/* Answers one request line; for tests and for the thread. Returns a new JSON object. */
json_t *control_handle(struct control *c, const char *line, size_t len, uid_t uid, gid_t gid);
