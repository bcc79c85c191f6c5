/* replay.h - the loop of `nfsentry replay`: every IP packet of a capture through the engine, in
 * file order. On one CPU a single thread reads a packet and runs the engine over it in turn;
 * with two or more, a reader thread reads the file (libpcap, the link header) into a bounded
 * ring (replay/pipe.h) while the calling thread runs the engine over what it has read, so
 * reading and detection overlap. The engine runs on the calling thread either way, over the
 * same packets in the same order: the events are the same, byte for byte. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"
#include "replay/pcapsrc.h"

/* True when this process may run on two CPUs or more (sched_getaffinity), so a reader thread
 * is worth its cost. */
bool replay_cpus_many(void);

/* Runs every IP packet of @src through @e (a replay engine, its tables used by the calling
 * thread alone) with @cnt, in file order: with a reader thread when @pipelined (falling back to
 * one thread when the ring or the thread cannot be had), else in this thread alone. Does not
 * call engine_finish(). Returns 0 at the end of the file, or pcapsrc_next()'s -EIO with its
 * reason in @err after every packet before the damage was run. @src's stats are final on
 * return. */
int replay_run(struct engine *e, struct pcapsrc *src, bool pipelined, struct engine_counters *cnt, char *err,
	       size_t errlen);
