/* event.h - detections and bans as events: one JSON object per line (schema in
 * docs/events.md), written to the events file ([daemon] events) or to a stream (replay
 * writes to stdout), and logged. Thread-safe: each event is one write(2). */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/addr.h"

/* Where events go. A NULL path means no file. */
struct event_sink;

/* Opens (appends to, creating 0640) @path, or uses @stream when @path is NULL; @stream may
 * be NULL too (events are only logged). Returns 0 or -errno. */
int event_sink_open(struct event_sink **out, const char *path, FILE *stream);
void event_sink_close(struct event_sink *s); /* accepts NULL */
/* Events that could not be written to the file or stream (a full disk, an I/O error) since
 * it was opened; each was still logged. Thread-safe; 0 for NULL. */
uint64_t event_sink_lost(struct event_sink *s);
/* Reopens the file (after log rotation; called on SIGHUP). Returns 0 or -errno. */
int event_sink_reopen(struct event_sink *s);

/* The common fields of every event. Strings are copied. */
struct event_head {
	struct timespec time;      /* capture time in replay, packet arrival live */
	const char *event;         /* scan, backdoor, backscatter, flood, probe, ban, unban */
	const char *detector;      /* ssh-sig ... gnutella-sig, interactive, scan, ... */
	const char *class_;        /* e.g. syn/connect/fin/null/xmas/ack/udp/mixed for a scan;
				      the protocol for a backdoor ("ssh"); may be NULL */
	const struct nfs_addr *src, *dst; /* dst may be NULL */
	uint16_t sport, dport;
	uint8_t proto;             /* IPPROTO_TCP, ...; 0 if none */
	const char *action;        /* ignore, alert, drop, ban; refused (a ban the writer did not make) */
	const char *reason;        /* why a ban was refused ("active peer", ...); NULL otherwise */
};

/* A new event object with the common fields set ("time" as RFC 3339 UTC with microseconds,
 * "src"/"dst" as text, "proto" as "tcp"/"udp"/"icmp"/"icmpv6"/number). The caller adds its
 * evidence fields (json_object_set_new) and passes it to event_emit(), which takes it. */
json_t *event_new(const struct event_head *h);
/* Writes @ev as one compact line to @s (if any) and logs it at notice. Takes ownership of
 * @ev. Returns 0 or -errno (the event is still logged); a failed write is counted
 * (event_sink_lost()) and logged here, at most once a minute. */
int event_emit(struct event_sink *s, json_t *ev);
