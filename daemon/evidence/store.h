/* store.h - evidence records on disk (docs/evidence.md): one file per record in a root-only
 * folder, named by its sequence number and its token, the SHA-256 of its bytes (Carrier &
 * Shields, STOP sec. 6.5: a hash of the saved data, redeemed later, shows whether it was
 * changed). Each record names the token of the one before it, so a record deleted or
 * replaced in the middle breaks the chain. The folder is bounded by size: the oldest records
 * are removed first, and the token of the last one removed is kept as the chain's anchor.
 * Thread-safe (one lock; reading a record does not hold it while hashing). */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define EVSTORE_TOKEN_LEN 64 /* hex digits of a SHA-256 */

struct evstore;

/* Creates @dir (0700) if needed and indexes the records in it. @max_bytes bounds the records'
 * total size. Returns 0 or -errno with a reason in @err. */
int evstore_open(struct evstore **out, const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void evstore_close(struct evstore *s); /* accepts NULL */
void evstore_set_max(struct evstore *s, uint64_t max_bytes);

/* Sets "seq" and "prev" in @rec (the caller keeps it), writes it (mode 0600, atomically) and
 * puts its token in @token. Then removes the oldest records past the size bound (one log
 * line per removal). Returns the record's size in bytes, or -errno. */
int64_t evstore_append(struct evstore *s, json_t *rec, char token[EVSTORE_TOKEN_LEN + 1]);

/* What a look at one record found. */
enum evstore_state {
	EVSTORE_INTACT,   /* its bytes still hash to its token */
	EVSTORE_TAMPERED, /* they do not: edited since it was written */
	EVSTORE_UNREADABLE,
};

struct evstore_check {
	enum evstore_state state;
	char actual[EVSTORE_TOKEN_LEN + 1]; /* the hash of the bytes as they are now */
	uint64_t seq;
	/* The links: the record before it (by its "prev") is present, or was removed for
	 * space (the anchor), or is gone; the record after it names it. Empty when fine. */
	char chain[256];
};

/* Finds the record of @token (64 hex digits), re-hashes it and checks its links. Returns 0
 * with its bytes in *@data (NUL-terminated; the caller frees) and *@len, -EINVAL for a
 * malformed token, -ENOENT if there is no such record, or -errno. */
int evstore_get(struct evstore *s, const char *token, char **data, size_t *len, struct evstore_check *chk);

/* Checks every record, oldest first: its hash, and that its "prev" is the token of the
 * record before it. Returns a new JSON object {"records", "bytes", "anchor", "problems":
 * [{"seq", "token", "problem"}]} or NULL when out of memory. */
json_t *evstore_verify(struct evstore *s);

struct evstore_stats {
	uint64_t records, bytes, pruned, written, write_errors;
};
void evstore_get_stats(struct evstore *s, struct evstore_stats *out);
