/* fleet.c - `fleet` requests, built within the daemon's bounds, and their answers summed. */
#include "fleet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctlclient.h"

const char *const fleet_count_names[FC_COUNT] = { "banned", "already", "unbanned", "absent", "protected",
						  "allowed", "too_wide", "full", "refused", "invalid" };

/* The daemon applies 1000 items through its writer in a few transactions; a 100,000-decision
 * start-up is 100 such requests, each answered well within this. */
#define FLEET_TIMEOUT_MS 30000
#define FLEET_ANSWER_MAX (256 * 1024)

json_t *fleet_request_build(const struct fleet_ban *bans, size_t nb, size_t *bi, const struct nfs_addr *unbans,
			    size_t nu, size_t *ui)
{
	json_t *req = json_pack("{s:s, s:[], s:[]}", "command", "fleet", "ban", "unban");
	json_t *ban = json_object_get(req, "ban"), *unban = json_object_get(req, "unban");
	size_t items = 0, bytes = 64;
	char addr[NFS_ADDR_STRLEN];

	if (!req)
		return NULL;
	/* Each item's size in the compact JSON is known before it is added: address, quotes,
	 * the key, the number and the commas. */
	while (*bi < nb && items < FLEET_ITEMS_MAX) {
		nfs_addr_format(&bans[*bi].addr, addr, sizeof(addr));
		size_t sz = strlen(addr) + 48;
		if (items && bytes + sz > FLEET_BYTES_MAX)
			return req;
		if (json_array_append_new(ban, json_pack("{s:s, s:I}", "address", addr, "seconds",
							 (json_int_t)bans[*bi].seconds)) < 0)
			goto fail;
		items++, bytes += sz, (*bi)++;
	}
	while (*ui < nu && items < FLEET_ITEMS_MAX) {
		nfs_addr_format(&unbans[*ui], addr, sizeof(addr));
		size_t sz = strlen(addr) + 4;
		if (items && bytes + sz > FLEET_BYTES_MAX)
			return req;
		if (json_array_append_new(unban, json_string(addr)) < 0)
			goto fail;
		items++, bytes += sz, (*ui)++;
	}
	return req;
fail:
	json_decref(req);
	return NULL;
}

int fleet_send(const char *socket, const struct fleet_ban *bans, size_t nb, const struct nfs_addr *unbans, size_t nu,
	       struct fleet_result *res, char *err, size_t errlen)
{
	size_t bi = 0, ui = 0;

	memset(res, 0, sizeof(*res));
	while (bi < nb || ui < nu) {
		json_t *req = fleet_request_build(bans, nb, &bi, unbans, nu, &ui), *ans = NULL;
		int r;

		if (!req) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		r = ctl_request(socket, req, FLEET_ANSWER_MAX, FLEET_TIMEOUT_MS, &ans, err, errlen);
		json_decref(req);
		if (r < 0)
			return r;
		if (!json_is_true(json_object_get(ans, "ok"))) {
			const char *why = json_string_value(json_object_get(ans, "error"));
			snprintf(err, errlen, "the daemon refused the fleet request: %s", why ? why : "(no reason given)");
			json_decref(ans);
			return -EPROTO;
		}
		res->requests++;
		for (int i = 0; i < FC_COUNT; i++) {
			json_t *v = json_object_get(ans, fleet_count_names[i]);
			if (json_is_integer(v) && json_integer_value(v) > 0)
				res->count[i] += (uint64_t)json_integer_value(v);
		}
		json_t *e = json_array_get(json_object_get(ans, "errors"), 0);
		const char *ea = json_string_value(json_object_get(e, "address"));
		const char *ee = json_string_value(json_object_get(e, "error"));
		if (!*res->first_error && ea && ee)
			snprintf(res->first_error, sizeof(res->first_error), "%.60s: %.180s", ea, ee);
		json_decref(ans);
	}
	return 0;
}
