/* replay.c - the replay's loop, in one thread or as two stages (see replay.h). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "replay/replay.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>

#include "core/thread.h"
#include "replay/pipe.h"

bool replay_cpus_many(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return false; /* cannot tell: the loop that costs nothing extra */
	return CPU_COUNT(&set) > 1;
}

static void replay_packet(struct engine *e, const struct pcapsrc_packet *pk, struct engine_counters *cnt)
{
	struct engine_meta m = { .when = pk->ts, .origin = ORIGIN_REPLAY, .local = LOCAL_UNKNOWN };

	engine_packet(e, pk->data, pk->caplen, pk->wirelen, &m, cnt);
}

static int replay_run_single(struct engine *e, struct pcapsrc *src, struct engine_counters *cnt, char *err,
			     size_t errlen)
{
	struct pcapsrc_packet pk;
	int r;

	while ((r = pcapsrc_next(src, &pk, err, errlen)) > 0)
		replay_packet(e, &pk, cnt);
	return r;
}

struct reader {
	struct pcapsrc *src;
	struct replay_pipe *pipe;
	char err[1024];
};

/* The reader thread: the file into the ring until its end, its damage, or the consumer's
 * abort (a push that returns -ECANCELED). */
static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct pcapsrc_packet pk;
	int r;

	rd->err[0] = '\0';
	while ((r = pcapsrc_next(rd->src, &pk, rd->err, sizeof(rd->err))) > 0) {
		if (replay_pipe_push(rd->pipe, &pk) < 0)
			return NULL;
	}
	replay_pipe_close(rd->pipe, r, rd->err);
	return NULL;
}

static void reader_wake(void *arg)
{
	replay_pipe_abort(arg);
}

int replay_run(struct engine *e, struct pcapsrc *src, bool pipelined, struct engine_counters *cnt, char *err,
	       size_t errlen)
{
	struct reader rd = { .src = src };
	struct nfs_thread thread;
	struct pcapsrc_packet pk;
	int r;

	/* Without the ring or the thread the replay still runs, in one thread. */
	if (!pipelined || replay_pipe_new(&rd.pipe, REPLAY_PIPE_CAPACITY) < 0)
		return replay_run_single(e, src, cnt, err, errlen);
	if (thread_init(&thread, reader_wake, rd.pipe) < 0 || thread_start(&thread, reader_main, &rd) < 0) {
		thread_deinit(&thread);
		replay_pipe_free(rd.pipe);
		return replay_run_single(e, src, cnt, err, errlen);
	}
	/* A packet's bytes stay in the ring until the next pop: the engine keeps no pointer into
	 * a packet once engine_packet() returned (one thread reusing libpcap's buffer relied on it
	 * already), so the same holds here. */
	while ((r = replay_pipe_pop(rd.pipe, &pk, err, errlen)) > 0)
		replay_packet(e, &pk, cnt);
	/* At the end the reader has closed the ring and returns; the abort in thread_deinit()'s
	 * wake-up only matters if it is still pushing (it never is: pop returned after close). */
	thread_deinit(&thread);
	replay_pipe_free(rd.pipe);
	return r;
}
