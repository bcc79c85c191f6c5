/* sctpeps.h - is an SCTP endpoint bound to a port of this host? nft's `socket` expression
 * knows only TCP and UDP sockets, so for SCTP (nmap -sY, issue 10 item 5) the daemon asks the
 * kernel's endpoint table, /proc/net/sctp/eps (absent: no SCTP in the kernel, every port is
 * closed). The table is read again at most every SCTPEPS_REFRESH_MS, and sooner only for a
 * port it did not hold, at most every SCTPEPS_RETRY_MS: a flood of INITs to closed ports
 * costs at most that many reads a second. Thread-safe. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SCTPEPS_REFRESH_MS 1000
#define SCTPEPS_RETRY_MS 100

struct sctpeps {
	pthread_mutex_t lock;
	const char *path;   /* not owned */
	int64_t read_ms;    /* when the table was last read (monotonic ms; -1: never) */
	uint8_t bound[65536 / 8];
};

/* @path: the endpoint table (normally "/proc/net/sctp/eps"); the string must outlive @s. */
void sctpeps_init(struct sctpeps *s, const char *path);
void sctpeps_deinit(struct sctpeps *s);
/* Is an SCTP endpoint bound to @port, as of @now_ms (monotonic milliseconds)? */
bool sctpeps_bound(struct sctpeps *s, uint16_t port, int64_t now_ms);
