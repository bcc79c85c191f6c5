/* clock.h - the two clocks of the daemon. Intervals (timers, retries, "at most this often")
 * run on CLOCK_MONOTONIC, which an NTP correction or a hand-set date does not move: on the wall
 * clock a step back stops every timer until the clock catches up. Wall time is only for what
 * is shown or stored (a ban's end, saved in state_dir and compared after a reboot, when the
 * monotonic clock has started again from zero). */
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds: for intervals only, meaningless across a reboot. */
int64_t clock_mono_ms(void);
/* The same clock in nanoseconds: for budgets shorter than a millisecond matters (attrib/). */
int64_t clock_mono_ns(void);
/* CLOCK_REALTIME in milliseconds since the epoch: for times shown or stored. */
int64_t clock_wall_ms(void);
/* CLOCK_MONOTONIC @ms milliseconds from now, as a deadline for pthread_cond_timedwait() on a
 * condition made with that clock. */
struct timespec clock_mono_after(int ms);
/* Initialises @c so that pthread_cond_timedwait() on it counts on CLOCK_MONOTONIC (the
 * default, CLOCK_REALTIME, would stretch or cut a wait when the date is set). */
void clock_cond_init(pthread_cond_t *c);
