/* compat.h - kernels without CONFIG_NFT_QUEUE: carry `queue` statements through nft as
 * placeholders, then swap each placeholder for the equivalent xt NFQUEUE target (nft_compat). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft/nl.h"

struct compat_queue {
	uint16_t num, total; /* queues num..num+total-1 */
	uint16_t flags;      /* NFQ_FLAG_BYPASS, NFQ_FLAG_CPU_FANOUT (same bits as nft's) */
};

/* Rewrites every queue statement in @text as "counter packets P bytes B drop" (or "accept"
 * with bypass: exactly what a queue with no reader does) where P and B encode the queue. The
 * rest of the text is untouched, line for line. Returns 0 with a malloc'd @out and the number
 * of statements in @count, or -EINVAL with "line N: why" in @err (e.g. "queue to symhash"). */
int compat_rewrite(const char *text, char **out, unsigned *count, char *err, size_t errlen);

void compat_encode(const struct compat_queue *q, uint64_t *packets, uint64_t *bytes);
/* Recognises a placeholder counter even after a few packets have hit it. */
bool compat_decode(uint64_t packets, uint64_t bytes, struct compat_queue *q);

/* Finds every rule in the ruleset that ends in a placeholder and replaces it, in one
 * transaction, by the same rule ending in target NFQUEUE rev 3. Returns the number of rules
 * replaced or -errno. */
int compat_patch_rules(struct nl *nl);
