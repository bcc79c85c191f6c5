/* fleet.h - the fleet's decisions handed to the daemon: `fleet` requests on the control
 * socket (docs/control.md), at most FLEET_ITEMS_MAX items and FLEET_BYTES_MAX bytes each, and
 * the daemon's answers summed. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define FLEET_ITEMS_MAX 1000
#define FLEET_BYTES_MAX (60 * 1024) /* under the daemon's CTL_REQUEST_MAX (64 KiB) with room to spare */

struct fleet_ban {
	struct nfs_addr addr;
	uint64_t seconds;
};

/* The daemon's answer keys, summed over the requests. */
enum fleet_count { FC_BANNED, FC_ALREADY, FC_UNBANNED, FC_ABSENT, FC_PROTECTED, FC_ALLOWED, FC_TOO_WIDE, FC_FULL,
		   FC_REFUSED, FC_INVALID, FC_COUNT };
extern const char *const fleet_count_names[FC_COUNT];

struct fleet_result {
	uint64_t count[FC_COUNT];
	size_t requests;       /* answered with ok true */
	char first_error[256]; /* the first of the answers' "errors", as "ADDRESS: ERROR", or "" */
};

/* Sends @nb bans and @nu unbans to the daemon at @socket. Returns 0 with the sums in @res, or
 * -errno (the daemon unreachable, refused, or its answer not understood: @err says which);
 * requests answered before a failure stay applied. */
int fleet_send(const char *socket, const struct fleet_ban *bans, size_t nb, const struct nfs_addr *unbans, size_t nu,
	       struct fleet_result *res, char *err, size_t errlen);
/* One request's body for items [*bi, nb) of @bans then [*ui, nu) of @unbans, as many as the
 * bounds allow (at least one); advances *bi and *ui. Returns a new object (caller frees) or
 * NULL (out of memory). */
json_t *fleet_request_build(const struct fleet_ban *bans, size_t nb, size_t *bi, const struct nfs_addr *unbans,
			    size_t nu, size_t *ui);
