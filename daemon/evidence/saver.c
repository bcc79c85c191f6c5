/* saver.c - see saver.h. */
#include "evidence/saver.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/thread.h"
#include "evidence/record.h"

#define QUEUE_MAX 1024 /* records waiting; a burst past it goes out without tokens */

struct job {
	json_t *ev;
	struct evidence_ctx ctx;
};

struct evidence {
	struct evstore *store;
	struct pktring *ring;        /* not owned; may be NULL */
	struct event_sink *events;   /* not owned */
	void (*ban_cb)(void *, const struct nfs_addr *, const char *);
	void *ban_data;

	pthread_mutex_t lock;        /* guards everything below */
	pthread_cond_t cond;
	struct job q[QUEUE_MAX];
	size_t head, count;
	struct nfs_thread thread;    /* running: jobs are queued; else saved by the caller */
	json_t *config;              /* record_config() of the running configuration */
	bool attribution;
	struct attrib_limits limits;
	struct evidence_stats st;
};

static int64_t since_us(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((int64_t)b.tv_sec - a->tv_sec) * 1000000 + (b.tv_nsec - a->tv_nsec) / 1000;
}

void evidence_configure(struct evidence *e, const struct nfs_config *c)
{
	json_t *cfg = record_config(c);
	pthread_mutex_lock(&e->lock);
	if (cfg) {
		json_decref(e->config);
		e->config = cfg;
	}
	e->attribution = c->attribution;
	e->limits = (struct attrib_limits){ .max_processes = (unsigned)c->attribution_max_processes,
					    .max_pids_scanned = 65536,
					    .budget_ms = (unsigned)c->attribution_budget_ms };
	pthread_mutex_unlock(&e->lock);
	evstore_set_max(e->store, c->evidence_max_mb << 20);
}

/* thread_stop()'s wake: the saver sleeps on e->cond, and checks thread_running() under e->lock. */
static void saver_wake(void *arg)
{
	struct evidence *e = arg;
	pthread_mutex_lock(&e->lock);
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

int evidence_new(struct evidence **out, const struct nfs_config *c, struct pktring *ring, struct event_sink *events,
		 char *err, size_t errlen)
{
	struct evidence *e = calloc(1, sizeof(*e));
	int r;

	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->ring = ring;
	e->events = events;
	r = thread_init(&e->thread, saver_wake, e);
	if (r < 0) {
		snprintf(err, errlen, "cannot make the saver's stop descriptor: %s", strerror(-r));
		evidence_free(e);
		return r;
	}
	r = evstore_open(&e->store, c->evidence_dir, c->evidence_max_mb << 20, err, errlen);
	if (r < 0) {
		evidence_free(e);
		return r;
	}
	evidence_configure(e, c);
	*out = e;
	return 0;
}

void evidence_set_ban_hook(struct evidence *e, void (*cb)(void *, const struct nfs_addr *, const char *), void *data)
{
	e->ban_cb = cb;
	e->ban_data = data;
}

/* Takes @ev. */
static void emit(struct evidence *e, struct event_sink *events, json_t *ev)
{
	event_emit(events ? events : e->events, ev);
}

void evidence_submit(struct evidence *e, struct event_sink *events, json_t *ev, const struct evidence_ctx *ctx)
{
	if (!ev)
		return;
	if (!e) {
		event_emit(events, ev);
		return;
	}
	pthread_mutex_lock(&e->lock);
	if (e->count == QUEUE_MAX || !thread_running(&e->thread)) {
		e->st.dropped++;
		pthread_mutex_unlock(&e->lock);
		emit(e, events, ev);
		return;
	}
	struct job *j = &e->q[(e->head + e->count++) % QUEUE_MAX];
	j->ev = ev;
	j->ctx = ctx ? *ctx : (struct evidence_ctx){ 0 };
	e->st.queued++;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static json_t *packets_of(struct evidence *e, const struct pktring_key *k)
{
	if (!e->ring || !k->kind)
		return NULL;
	struct pktring_packet p[PKTRING_MAX_PACKETS];
	size_t blen = pktring_buf_size(e->ring);
	uint8_t *buf = malloc(blen);
	if (!buf)
		return NULL;
	size_t n = pktring_copy(e->ring, k, p, PKTRING_MAX_PACKETS, buf, blen);
	json_t *j = record_packets(p, n, (unsigned)(blen / pktring_packets(e->ring)));
	free(buf);
	return j;
}

/* STOP sec. 3.2-3.7: the processes behind a socket of this host. */
static json_t *attribution_of(struct evidence *e, const struct evidence_ctx *ctx, const struct attrib_limits *lim)
{
	struct timespec t0;
	json_t *j = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = attrib_lookup(&ctx->sock, lim, &j);
	int64_t us = since_us(&t0);
	pthread_mutex_lock(&e->lock);
	e->st.attrib_lookups++;
	e->st.attrib_found += r == 0;
	e->st.attrib_us += us > 0 ? (uint64_t)us : 0;
	pthread_mutex_unlock(&e->lock);
	if (r == 0)
		return j;
	return json_pack("{ss}", "error", r == -ENOENT ? "the socket was already closed" : strerror(-r));
}

static void save(struct evidence *e, struct job *j)
{
	char token[EVSTORE_TOKEN_LEN + 1];
	struct timespec now;
	json_t *rec = json_object(), *cfg, *attr = NULL;
	bool attribute;
	struct attrib_limits lim;

	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&e->lock);
	cfg = json_incref(e->config);
	attribute = e->attribution && j->ctx.attribute;
	lim = e->limits;
	pthread_mutex_unlock(&e->lock);
	if (attribute)
		attr = attribution_of(e, &j->ctx, &lim);

	json_object_set_new(rec, "version", json_integer(1));
	json_object_set(rec, "event", j->ev);
	json_object_set_new(rec, "host", attrib_host());
	json_object_set_new(rec, "config", cfg ? cfg : json_null());
	json_t *pk = packets_of(e, &j->ctx.ring);
	if (pk)
		json_object_set_new(rec, "packets", pk);
	if (attr)
		json_object_set_new(rec, "attribution", attr);
	int64_t r = evstore_append(e->store, rec, token);
	json_decref(rec);

	pthread_mutex_lock(&e->lock);
	if (r < 0)
		e->st.failed++;
	else
		e->st.saved++;
	pthread_mutex_unlock(&e->lock);
	if (r < 0) {
		/* Logged once per failure: the event says the same without a token. */
		log_err("evidence: cannot save a record: %s; the event goes out without a token", strerror((int)-r));
	} else {
		json_object_set_new(j->ev, "token", json_string(token));
		if (j->ctx.ban && e->ban_cb)
			e->ban_cb(e->ban_data, &j->ctx.ban_addr, token);
	}
	emit(e, NULL, j->ev);
	j->ev = NULL;
}

static void *saver_main(void *arg)
{
	struct evidence *e = arg;
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (e->count == 0 && thread_running(&e->thread))
			pthread_cond_wait(&e->cond, &e->lock);
		if (e->count == 0)
			break;
		struct job j = e->q[e->head];
		e->head = (e->head + 1) % QUEUE_MAX;
		e->count--;
		pthread_mutex_unlock(&e->lock);
		save(e, &j);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

int evidence_start(struct evidence *e)
{
	return thread_start(&e->thread, saver_main, e);
}

void evidence_stop(struct evidence *e)
{
	if (e)
		thread_stop(&e->thread); /* the thread empties the queue first */
}

void evidence_free(struct evidence *e)
{
	if (!e)
		return;
	thread_deinit(&e->thread);
	for (size_t i = 0; i < e->count; i++)
		json_decref(e->q[(e->head + i) % QUEUE_MAX].ev);
	evstore_close(e->store);
	json_decref(e->config);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void evidence_get_stats(struct evidence *e, struct evidence_stats *out)
{
	pthread_mutex_lock(&e->lock);
	*out = e->st;
	pthread_mutex_unlock(&e->lock);
	evstore_get_stats(e->store, &out->store);
}

struct evstore *evidence_store(struct evidence *e)
{
	return e->store;
}
