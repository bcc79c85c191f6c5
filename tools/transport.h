/* transport.h - one exchange with the daemon over its control socket (docs/control.md):
 * connect, send the request line, read the one-line JSON answer, bounded in size and time; or
 * a stream of lines after it (watch).
 * What goes wrong is said here, on stderr, once: the caller only exits. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#define CTL_ANSWER_MAX (64 * 1024 * 1024) /* bans: 262144 fleet bans and this host's fit inside */
#define CTL_TIMEOUT_S 10                  /* the server answers at once; 10 s means it is stuck */

struct ctl_answer {
	char *line;  /* the answer's bytes up to its newline, NUL-terminated */
	size_t len;
	json_t *obj; /* parsed: an object with a boolean "ok" */
};

/* Sends @req (one line, its newline included) to the daemon at @path and reads its answer.
 * Returns 0 with @ans filled (the caller frees it with ctl_answer_deinit()), or EXIT_FAILED
 * after printing what went wrong. */
int ctl_exchange(const char *path, const char *req, struct ctl_answer *ans);
void ctl_answer_deinit(struct ctl_answer *ans);

#define CTL_STREAM_LINE_MAX 4096 /* a watched event is a few hundred bytes */

/* A stream (watch): sends @req, then calls @line for each line that comes (its bytes without
 * the newline, not NUL-terminated), the answer first (within CTL_TIMEOUT_S), the events after
 * (for as long as they take), until @line returns non-zero (returned) or the daemon closes
 * (EXIT_FAILED, said on stderr). */
int ctl_stream(const char *path, const char *req, int (*line)(const char *text, size_t len, void *data), void *data);
