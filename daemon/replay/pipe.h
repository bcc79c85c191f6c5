/* pipe.h - the packets of a replay handed from the reader thread to the engine thread, in file
 * order, through a bounded byte ring.
 *
 * One producer (the reader: replay_pipe_push, replay_pipe_close) and one consumer (the engine:
 * replay_pipe_pop, replay_pipe_abort); any other use is undefined. Each packet is copied into
 * the ring as a record of a 32-byte header and its bytes, so the ring holds many packets of
 * any mix of sizes. A packet larger than half the ring is not copied: the ring lends the
 * producer's own buffer, after every record before it was consumed, and the producer waits
 * until the consumer is done with it (so memory stays the ring plus that one buffer,
 * whatever the capture's caplen). The producer publishes records in batches and the consumer
 * releases their space in batches (a few atomic stores per hundred packets); a side that
 * finds the ring empty (or full) spins briefly and then sleeps on a condition variable that
 * the other side signals only when it knows there is a sleeper. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "replay/pcapsrc.h"

/* The ring's size in a replay: big enough that neither side waits on the other for long,
 * small enough to stay in the caches the two cores share. */
#define REPLAY_PIPE_CAPACITY (1u << 20)

struct replay_pipe;

/* Returns 0 and a new pipe of @capacity bytes (a power of two, at least 4096) in *@out,
 * -EINVAL for another size, or -ENOMEM. Free with replay_pipe_free() once neither thread uses
 * it any more. */
int replay_pipe_new(struct replay_pipe **out, size_t capacity);
void replay_pipe_free(struct replay_pipe *p); /* accepts NULL */

/* Producer. Appends a copy of @pk (its bytes, lengths and time). Returns 0, or -ECANCELED
 * once the consumer called replay_pipe_abort() (nothing more will be read; stop). May wait
 * for room, and for a packet larger than half the ring until the consumer is done with it. */
int replay_pipe_push(struct replay_pipe *p, const struct pcapsrc_packet *pk);
/* Producer, once, last: the end of the input. @status is 0 (the end of the file) or the
 * -errno that stopped the reading, with its reason @err (may be NULL), which the consumer gets
 * after every packet pushed before. Publishes what was pushed and wakes the consumer. */
void replay_pipe_close(struct replay_pipe *p, int status, const char *err);

/* Consumer. Returns 1 with the next packet in *@out (its bytes valid until the next call, as
 * for pcapsrc_next()), 0 after the last one when the producer closed with 0, or the producer's
 * -errno, its reason copied into @err (@errlen bytes), after the last packet pushed before;
 * -ECANCELED after replay_pipe_abort(). */
int replay_pipe_pop(struct replay_pipe *p, struct pcapsrc_packet *out, char *err, size_t errlen);
/* Consumer (or whoever stops the replay): nothing more will be popped. The producer's waits
 * end and its pushes return -ECANCELED; so do pops from then on. */
void replay_pipe_abort(struct replay_pipe *p);
