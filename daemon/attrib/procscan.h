/* procscan.h - one bounded pass over /proc/<pid>/fd: which processes hold which sockets and
 * pipes. A socket or pipe is one inode however many processes hold it, and a pipe's two ends
 * are the same inode; so an index by inode resolves "who is at the other end" for every
 * process of a lookup without reading /proc again (Carrier & Shields, STOP sec. 3.2; sec. 3.6
 * does the same with the kernel addresses of pipe structures). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum procscan_kind { PROCSCAN_SOCKET = 1, PROCSCAN_PIPE = 2 };

/* One descriptor: "socket:[ino]" or "pipe:[ino]" at /proc/<pid>/fd/<fd>. */
struct procscan_ref {
	uint64_t ino;
	int32_t pid, fd;
	uint8_t kind;
};

struct procscan_pid {
	int32_t pid;
	uint32_t first, n; /* its refs: refs[first .. first + n) */
	bool unreadable;   /* its descriptors could not be read (privilege): n is 0 */
	uint32_t reached;  /* for the walk: 1 + its place among the processes reached, or 0 */
};

struct procscan {
	struct procscan_ref *refs;  /* grouped by process, descriptors in /proc's order */
	uint32_t *by_ino;           /* indices of refs sorted by (kind, ino, pid) */
	size_t nrefs, cap_refs;
	struct procscan_pid *pids;  /* every process looked at, sorted by pid */
	size_t npids, cap_pids;
	unsigned looked;            /* /proc/<pid> entries looked at */
	unsigned unreadable;        /* processes with unreadable descriptors */
	bool truncated;             /* max_pids, max_refs or the deadline cut the pass short */
};

/* Descriptors handled between looks at the clock against a deadline, in this pass and in the
 * walk over its results (attrib.c): often enough to stop within a fraction of the budget, rare
 * enough that clock_gettime() costs nothing next to a readlink(). */
#define PROCSCAN_CHECK_EVERY 256

struct procscan_limits {
	unsigned max_pids;   /* processes looked at */
	size_t max_refs;     /* descriptors indexed */
	int64_t deadline_ns; /* CLOCK_MONOTONIC, as clock_mono_ns() */
	int64_t prefer_uid;  /* processes of this uid first (-1: none), see procscan_run() */
};

/* Fills @s (zeroed by the caller) from @procfd, an open /proc, within @lim. Processes that
 * exit meanwhile are skipped. When the pass may not reach every process, the likeliest
 * first: those whose /proc folder belongs to @lim->prefer_uid (the socket's owner, as
 * inet_diag reports it), then the rest, each group by pid. Returns 0 (check s->truncated)
 * or -errno (out of memory, /proc unreadable). Free with procscan_clear() in either case. */
int procscan_run(struct procscan *s, int procfd, const struct procscan_limits *lim);
void procscan_clear(struct procscan *s);

/* The holders of (@kind, @ino): their number, and in *@first the position in by_ino of the
 * first (refs[by_ino[*first + i]] for i below the number). */
size_t procscan_holders(const struct procscan *s, uint8_t kind, uint64_t ino, size_t *first);
/* True if some process holds socket @ino. */
bool procscan_has_socket(const struct procscan *s, uint64_t ino);
/* The entry of @pid, or NULL when it was not looked at. */
struct procscan_pid *procscan_find_pid(const struct procscan *s, int pid);
