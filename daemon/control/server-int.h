/* server-int.h - inside control/ only: struct control, struct conn and the calls between the
 * files that make up the control server. Nothing outside daemon/control/ includes it (server.h
 * is the API). The files:
 *   server.c   the socket, its connections and their deadlines, the poll loop, the table of
 *              requests (control_handle()), open, start and free, the [fleet] group's ACL;
 *   commands.c the requests about this host: status, bans, ban and unban, allow, evidence,
 *              sources, flows, reload;
 *   fleet.c    the fleet's decisions (nfsentry-crowdsec);
 *   watch.c    watchers: the watch request, and each watcher's events read from the ban feed.
 * Every function declared here runs on the control thread (or a test's, with the thread not
 * started), one request at a time: they share struct control without a lock, but for the
 * orphans (under @orphan_lock: control_free() reaps them on the owner's thread). */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ban/banq.h"
#include "control/server.h"
#include "core/addr.h"
#include "core/thread.h"

/* How long ban, unban and fleet wait for the ban writer's answer; a ban or unban it has not
 * answered by then stays queued, and its answer slot is kept (at most ORPHANS_MAX) until it
 * comes. */
#define BAN_WAIT_S 5
#define ORPHANS_MAX 16

struct control {
	int fd;
	char path[108];
	gid_t gid;
	gid_t fleet_gid; /* [fleet] group, or (gid_t)-1 */
	struct daemon_view ctx;
	/* The control thread's own (or a test's, with the thread not started). */
	size_t nwatchers;        /* connections subscribed to the feed */
	bool subscribe;          /* the request being answered asked to watch, from subscribe_next */
	uint64_t subscribe_next;
	unsigned subscribe_origins; /* of the bans and unbans it asked for (bits 1 << enum ban_origin) */
	struct nfs_thread thread;
	pthread_mutex_t orphan_lock;
	struct ban_reply *orphans[ORPHANS_MAX]; /* answers the writer still owes to gone askers */
	size_t norphans;
};

/* One connection: reading its request line, then writing its answer. */
struct conn {
	int fd; /* -1: a free slot */
	uid_t uid;
	gid_t gid;
	uint64_t serial;     /* accept order: the lowest is the oldest */
	int64_t deadline_ms; /* CLOCK_MONOTONIC: for the whole request, then for the whole answer */
	bool answering;
	bool watching; /* subscribed: no deadline; buf holds its unsent lines (CTL_WATCH_BUF_MAX) */
	bool eof;      /* a watcher that shut its sending side: no more reads */
	uint64_t next; /* a watcher's next feed sequence number */
	unsigned origins; /* a watcher's: the origins of the bans and unbans it is sent */
	char *buf;     /* the request as read, then the answer */
	size_t len, cap, sent;
};

/* server.c */

/* A failed answer, {"ok": false, "error": ...}; the message is made well-formed UTF-8. */
json_t *control_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* {"ok": true}, for the handler to add to. */
json_t *control_ok(void);
/* @a as a JSON string, as nfs_addr_format() writes it. */
json_t *control_addr_json(const struct nfs_addr *a);
/* Sends what @k's client takes now of k->buf. Returns 1 when some is left for later, 0 when
 * all is sent, -1 when the client is gone. */
int control_conn_send(struct conn *k);

/* commands.c: the handlers of the table of requests (server.c), which says who may ask */

json_t *control_status_answer(struct control *c, json_t *req, uid_t uid);
/* The answer to bans as text (malloc'd; NULL: out of memory): too big for a tree of JSON objects. */
char *control_bans_text(struct control *c, json_t *req, uid_t uid);
json_t *control_ban_answer(struct control *c, json_t *req, uid_t uid);
json_t *control_unban_answer(struct control *c, json_t *req, uid_t uid);
json_t *control_allow_answer(struct control *c, json_t *req, uid_t uid);
json_t *control_evidence_answer(struct control *c, json_t *req, uid_t uid);
json_t *control_sources_answer(struct control *c, json_t *req, uid_t uid);
json_t *control_flows_answer(struct control *c, json_t *req, uid_t uid);
json_t *control_reload_answer(struct control *c, json_t *req, uid_t uid);
/* The origins a request's "origin" names (a name, a list of names, or nothing: all of them)
 * as bits (1 << enum ban_origin) in *@out. Returns false when it names something else. */
bool control_origins_parse(json_t *req, unsigned *out);
/* Frees the orphaned answers the writer has filled. Returns how many are still owed. */
size_t control_orphans_reap(struct control *c);

/* fleet.c */

json_t *control_fleet_answer(struct control *c, json_t *req, uid_t uid);

/* watch.c */

json_t *control_watch_answer(struct control *c, json_t *req, uid_t uid);
/* Makes @k, just answered, a watcher when its request was a watch that was granted. */
void control_watch_join(struct control *c, struct conn *k);
/* Moves watcher @k on: notes its end of sending, sends, and refills from the feed, until its
 * client takes no more or the feed has nothing more for it. Returns false when it is gone. */
bool control_watch_step(struct control *c, struct conn *k, short revents);
