/* ruleset.h - load the shipped ruleset, and read back what the kernel holds of it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft/nl.h"

/* Loads @path like `nft -f`. Where the kernel lacks the nft queue expression, loads the same
 * ruleset with its queue statements turned into xt NFQUEUE targets (see compat.h).
 * Returns the number of statements converted (0: loaded natively), or -errno with a
 * human-readable reason (nft's own error text where nft refused) in @err. */
int ruleset_load(const char *path, char *err, size_t errlen);

struct ruleset_queues {
	uint8_t bound[65536 / 8]; /* bit n: some rule queues to queue n */
	unsigned rules;           /* rules that queue */
};

static inline bool ruleset_queues_has(const struct ruleset_queues *q, unsigned n)
{
	return q->bound[n / 8] & (1u << (n % 8));
}

/* Reads the queue numbers that rules of table inet nfsentry send to (native queue
 * expressions and compat NFQUEUE targets alike). Returns 0, -ENOENT if the table is missing,
 * -EOPNOTSUPP if a rule picks its queue at run time (queue to <expression>), or -errno. */
int ruleset_queues_read(struct nl *nl, struct ruleset_queues *out);

/* The kernel's handle of table inet nfsentry. Each new table gets a new one, so a changed
 * handle means the table was deleted and loaded again (its sets empty). Returns 0, -ENOENT
 * if the table is missing, or -errno. */
int ruleset_table_handle(struct nl *nl, uint64_t *handle);
