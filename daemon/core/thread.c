/* thread.c - see thread.h. */
#include "core/thread.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int thread_init(struct nfs_thread *t, void (*wake)(void *), void *wake_arg)
{
	*t = (struct nfs_thread){ .stop_fd = -1, .state = THREAD_IDLE, .wake = wake, .wake_arg = wake_arg };
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return t->stop_fd < 0 ? -errno : 0;
}

int thread_start(struct nfs_thread *t, void *(*fn)(void *), void *arg)
{
	if (t->stop_fd < 0)
		return -EBADF;
	t->state = THREAD_RUNNING;
	int r = pthread_create(&t->id, NULL, fn, arg);
	if (r) {
		t->state = THREAD_IDLE;
		return -r;
	}
	return 0;
}

bool thread_running(const struct nfs_thread *t)
{
	return t->state == THREAD_RUNNING;
}

void thread_stop(struct nfs_thread *t)
{
	uint64_t one = 1;

	if (t->state != THREAD_RUNNING)
		return;
	t->state = THREAD_STOPPING;
	(void)!write(t->stop_fd, &one, sizeof(one));
	if (t->wake)
		t->wake(t->wake_arg);
	pthread_join(t->id, NULL);
	(void)!read(t->stop_fd, &one, sizeof(one)); /* readable no more: a restart polls afresh */
	t->state = THREAD_IDLE;
}

void thread_deinit(struct nfs_thread *t)
{
	thread_stop(t);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	t->stop_fd = -1;
}
