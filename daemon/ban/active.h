/* active.h - what the ruleset saw of the sources of a burst of ban requests: which are active
 * peers (they exchanged data with this host lately: sets active4, active6, active6net), and
 * which distributed scans' prefixes hold one. The writer thread asks before it plans
 * (ban/plan.h); the answers are struct ban_active. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ban/backend.h"
#include "ban/banq.h"
#include "ban/plan.h"
#include "nft/setlookup.h"

/* One per writer thread (not locked). */
struct ban_active_asker {
	struct ban_backend *be;        /* borrowed: the sets */
	const struct ban_settings *s;  /* borrowed: [allow] active_peers */
	struct nftset_query q[2 * NFTSET_BATCH_MAX];
	bool warned;                   /* the active sets' absence was said */
	bool prefix_warned[2];         /* the same for active4 and active6 when dumped */
};

/* Fills @out[i] for each of the @n <= NFTSET_BATCH_MAX requests: all false when [allow]
 * active_peers is 0, for requests that are not scans, or when the sets cannot be read (then
 * the bans go ahead as they did before active peers were known, and a warning says so:
 * logged here, once per change of state, not per burst). */
void ban_active_ask(struct ban_active_asker *ask, const struct ban_request *req, size_t n, struct ban_active *out);
