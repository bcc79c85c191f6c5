/* test-thread.c - core/thread: the one way a daemon thread starts and stops, for a thread that
 * polls its stop descriptor and for one that drains a queue under a condition variable. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "core/thread.h"
#include "tap.h"

#define WAIT_MS 10000 /* bounded: a broken stop fails the check instead of hanging the test */

struct poller {
	struct nfs_thread t;
	int woke; /* 1: stop_fd became readable; 0: the bounded wait ran out */
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->t.stop_fd, .events = POLLIN };
	p->woke = poll(&pfd, 1, WAIT_MS) == 1 && (pfd.revents & POLLIN);
	return NULL;
}

/* A queue drained by its thread, which sleeps on a condition variable. */
struct drainer {
	struct nfs_thread t;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int queued, done;
	bool gate; /* the thread may not take jobs until the test opens it */
};

static void drainer_wake(void *arg)
{
	struct drainer *d = arg;
	pthread_mutex_lock(&d->lock);
	d->gate = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void *drainer_main(void *arg)
{
	struct drainer *d = arg;
	pthread_mutex_lock(&d->lock);
	for (;;) {
		while ((!d->gate || d->queued == 0) && thread_running(&d->t)) {
			/* bounded: without the wake the thread ends with the jobs untaken */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += WAIT_MS / 1000;
			if (pthread_cond_timedwait(&d->cond, &d->lock, &until) == ETIMEDOUT)
				break;
		}
		if (!d->gate)
			break;
		if (d->queued == 0)
			break;
		d->queued--;
		d->done++;
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int main(void)
{
	struct poller p;
	memset(&p, 0, sizeof(p));

	CHECK(thread_init(&p.t, NULL, NULL) == 0, "init");
	CHECK(!thread_running(&p.t), "not running before the start");
	thread_stop(&p.t); /* never started: returns at once */
	CHECK(!thread_running(&p.t), "a stop before the start is nothing");

	for (int round = 1; round <= 2; round++) {
		p.woke = -1;
		CHECK(thread_start(&p.t, poller_main, &p) == 0, "start (round %d)", round);
		CHECK(thread_running(&p.t), "round %d: running once started", round);
		thread_stop(&p.t);
		CHECK(p.woke == 1, "round %d: the stop descriptor woke the thread", round);
		CHECK(!thread_running(&p.t), "round %d: not running after the stop", round);
		/* drained after the join, or round 2's thread would see a stale stop at once */
		struct pollfd pfd = { .fd = p.t.stop_fd, .events = POLLIN };
		CHECK(poll(&pfd, 1, 0) == 0, "round %d: the stop descriptor is quiet again", round);
	}
	thread_stop(&p.t); /* a second stop (a module's _stop, then its _free) */
	thread_deinit(&p.t);
	CHECK_EQ(p.t.stop_fd, -1, "deinit closes the stop descriptor");

	struct drainer d = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	CHECK(thread_init(&d.t, drainer_wake, &d) == 0, "init with a wake");
	CHECK(thread_start(&d.t, drainer_main, &d) == 0, "start the drainer");
	pthread_mutex_lock(&d.lock);
	d.queued = 5; /* queued before the stop, taken only once the wake opens the gate */
	pthread_mutex_unlock(&d.lock);
	thread_deinit(&d.t);
	CHECK_EQ(d.done, 5, "what was queued before the stop is handled before the thread ends");
	CHECK_EQ(d.queued, 0, "nothing left in the queue");
	return tap_done();
}
