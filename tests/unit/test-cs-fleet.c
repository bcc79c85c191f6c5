/* test-cs-fleet.c - `fleet` requests stay within the daemon's bounds (crowdsec/fleet.h): at
 * most 1000 items and under 64 KiB whatever the addresses, every item sent exactly once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "tap.h"

int main(void)
{
	size_t nb = 2500, nu = 1700;
	struct fleet_ban *bans = calloc(nb, sizeof(*bans));
	struct nfs_addr *unbans = calloc(nu, sizeof(*unbans));

	/* The longest text an address has: a full IPv6 prefix. */
	for (size_t i = 0; i < nb; i++) {
		nfs_addr_parse("2001:db8:1234:5678:9abc:def0:1234:5678", false, &bans[i].addr);
		bans[i].addr.a[15] = (uint8_t)i;
		bans[i].addr.a[14] = (uint8_t)(i >> 8);
		bans[i].seconds = 604800;
	}
	for (size_t i = 0; i < nu; i++) {
		nfs_addr_parse("2001:db8:1234:5678:9abc:def0:1234:5600/120", false, &unbans[i]);
		unbans[i].a[13] = (uint8_t)i;
		unbans[i].a[12] = (uint8_t)(i >> 8);
	}
	size_t bi = 0, ui = 0, requests = 0, sent_b = 0, sent_u = 0, worst = 0, most = 0;
	int dup = 0;
	while (bi < nb || ui < nu) {
		size_t b0 = bi, u0 = ui;
		json_t *req = fleet_request_build(bans, nb, &bi, unbans, nu, &ui);
		if (!req)
			break;
		char *text = json_dumps(req, JSON_COMPACT);
		size_t len = strlen(text) + 1, items = json_array_size(json_object_get(req, "ban")) +
						      json_array_size(json_object_get(req, "unban"));
		worst = len > worst ? len : worst;
		most = items > most ? items : most;
		sent_b += json_array_size(json_object_get(req, "ban"));
		sent_u += json_array_size(json_object_get(req, "unban"));
		dup += bi - b0 != json_array_size(json_object_get(req, "ban")) || ui - u0 != json_array_size(json_object_get(req, "unban"));
		CHECK_STR(json_string_value(json_object_get(req, "command")), "fleet", "command fleet");
		free(text);
		json_decref(req);
		if (++requests > 100)
			break;
	}
	CHECK_EQ(sent_b, nb, "every ban sent");
	CHECK_EQ(sent_u, nu, "every unban sent");
	CHECK_EQ(dup, 0, "the indexes advance by what each request holds");
	CHECK(worst <= 64 * 1024, "largest request %zu bytes, within the daemon's 64 KiB", worst);
	CHECK(most <= FLEET_ITEMS_MAX, "at most %d items (most: %zu)", FLEET_ITEMS_MAX, most);

	/* Short IPv4 addresses: 1000 items fit in the bytes, the item bound cuts. */
	for (size_t i = 0; i < nb; i++)
		bans[i].addr = (struct nfs_addr){ .family = AF_INET, .plen = 32, .a = { 10, 0, (uint8_t)(i >> 8), (uint8_t)i } };
	bi = 0, ui = nu;
	json_t *req = fleet_request_build(bans, nb, &bi, unbans, nu, &ui);
	CHECK_EQ(json_array_size(json_object_get(req, "ban")), 1000, "1000 IPv4 bans in one request");
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(req, "ban"), 1), "address")), "10.0.0.1",
		  "as addresses");
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(json_object_get(req, "ban"), 1), "seconds")), 604800,
		 "with their seconds");
	json_decref(req);
	free(bans);
	free(unbans);
	return tap_done();
}
