/* bridge.h - the state of nfsentry-crowdsec's one thread, shared by its two halves: publish.c
 * (this host's bans to the LAPI, as a CrowdSec machine) and apply.c (the fleet's decisions to
 * the daemon, as a bouncer). main.c owns it and runs the loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "creds.h"
#include "ctlclient.h"
#include "decmap.h"
#include "lapi.h"
#include "pending.h"
#include "published.h"

/* A retry delay that starts at 1 s and doubles to a ceiling; "down" remembers that the failure
 * was logged, so an outage is one line when it starts and one when it ends. */
struct backoff {
	int64_t next_ms; /* CLOCK_MONOTONIC: not before */
	int64_t delay_ms;
	bool down;
};

struct bridge {
	struct cs_config cfg;
	struct cs_creds creds;
	struct lapi *lapi;
	/* publish */
	struct pending pending;
	struct published published;
	struct ctl_watch watch; /* fd -1: not watching */
	struct backoff watch_retry, post_retry;
	bool pending_full_logged;
	/* LAPI_BUSY answers in a row to the batch starting with this ban (bounded retries) */
	unsigned busy_tries;
	bool busy_check;        /* before the next POST: drop what the LAPI took of the busy batch */
	struct nfs_addr busy_addr;
	int64_t busy_until;
	char pending_path[CS_PATH_MAX + 32], published_path[CS_PATH_MAX + 32];
	int64_t saved_ms;       /* when the files were last written */
	bool save_failed;       /* the last write of pending.jsonl failed (logged once) */
	/* apply */
	struct decmap *decmap;
	struct backoff pull_retry;
	bool need_startup;      /* the next pull is startup=true (start, daemon reconnected, a failure) */
	bool full_logged;
	bool fleet_down;        /* the last `fleet` failed (logged once) */
	uint64_t pulls;
};

/* 1 s, doubled on each failure up to @max_ms; backoff_ok() resets it. */
void backoff_fail(struct backoff *b, int64_t now, int64_t max_ms);
void backoff_ok(struct backoff *b);

/* publish.c */
int publish_init(struct bridge *b);
void publish_deinit(struct bridge *b);
/* Connects the watch when it is time to. */
void publish_connect(struct bridge *b, int64_t now);
/* The watch socket is readable. */
void publish_read(struct bridge *b, int64_t now);
/* Sends the pending alerts that are ready; returns the ms until the next one is (or -1). */
int64_t publish_send(struct bridge *b, int64_t now);
/* Writes the pending queue and the published memory if they changed (@force: now, else at
 * most once a second). */
void publish_save(struct bridge *b, int64_t now, bool force);

/* apply.c */
int apply_init(struct bridge *b);
void apply_deinit(struct bridge *b);
/* Pulls the stream when it is time to and applies it; returns the ms until the next pull. */
int64_t apply_pull(struct bridge *b, int64_t now);
