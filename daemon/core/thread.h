/* thread.h - the one way a daemon thread is started and stopped.
 *
 * Each thread (queue workers, the control server, the evidence saver, the ban writer) embeds
 * a struct nfs_thread. Stopping is always the same three moves: the state
 * becomes STOPPING (thread_running() turns false), the stop descriptor becomes readable, and
 * the optional wake callback runs (for a thread that sleeps on a condition variable or a queue
 * rather than in poll(2)); then the caller joins. A thread whose loop polls puts stop_fd
 * beside its own descriptors; a thread that drains a queue checks thread_running() each time
 * its queue is empty, so what was queued before the stop is still handled.
 *
 * Only the thread that owns the object (main) calls thread_start() and thread_stop();
 * thread_running() may be called from any thread. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

enum thread_state { THREAD_IDLE, THREAD_RUNNING, THREAD_STOPPING };

struct nfs_thread {
	pthread_t id;
	int stop_fd;             /* eventfd, owned; readable from thread_stop() until the join */
	_Atomic int state;       /* enum thread_state */
	void (*wake)(void *);    /* may be NULL: the thread only sleeps in poll(2) on stop_fd */
	void *wake_arg;
};

/* Opens the stop descriptor. @wake (may be NULL) is called by thread_stop() after the state
 * changed, to wake a thread sleeping elsewhere than on stop_fd; it must take the lock the
 * thread sleeps under before it signals, so the wake-up cannot fall between the thread's check
 * and its wait. Returns 0 or -errno; either way @t may be given to thread_deinit(). */
int thread_init(struct nfs_thread *t, void (*wake)(void *), void *wake_arg);
/* Runs @fn(@arg) in a new thread; thread_running() is true before @fn starts. 0 or -errno. */
int thread_start(struct nfs_thread *t, void *(*fn)(void *), void *arg);
/* Started and not asked to stop. */
bool thread_running(const struct nfs_thread *t);
/* Asks the thread to stop, wakes it and joins it. Nothing when it is not running, so it may
 * be called twice (a module's _stop and then its _free). */
void thread_stop(struct nfs_thread *t);
/* thread_stop(), then closes the stop descriptor. */
void thread_deinit(struct nfs_thread *t);
