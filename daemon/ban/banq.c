/* banq.c - mutex + condition variable ring. */
#include "ban/banq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/clock.h"

struct banq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t cap, head, len;
	bool closed;
	struct ban_request ring[];
};

int banq_new(struct banq **out, size_t capacity)
{
	struct banq *q = calloc(1, sizeof(*q) + capacity * sizeof(q->ring[0]));

	if (!q)
		return -ENOMEM;
	q->cap = capacity;
	pthread_mutex_init(&q->lock, NULL);
	clock_cond_init(&q->cond);
	*out = q;
	return 0;
}

void banq_free(struct banq *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}

int banq_push(struct banq *q, const struct ban_request *r)
{
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (q->len == q->cap || q->closed) {
		ret = -ENOSPC;
	} else {
		q->ring[(q->head + q->len++) % q->cap] = *r;
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

size_t banq_pop(struct banq *q, struct ban_request *out, size_t max, int timeout_ms)
{
	struct timespec until = clock_mono_after(timeout_ms);
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed)
		if (pthread_cond_timedwait(&q->cond, &q->lock, &until) == ETIMEDOUT)
			break;
	while (n < max && q->len > 0) {
		out[n++] = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

void banq_close(struct banq *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}
