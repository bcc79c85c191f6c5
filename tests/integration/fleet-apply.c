/* fleet-apply - the fleet's decisions through the real ban writer (banwriter_fleet()) into the
 * kernel sets of the namespace it runs in, with this host's protected peers discovered as the
 * daemon discovers them (its own addresses, its gateways). For test-fleet.sh: the control
 * command `fleet` (control/server.c) calls the same function with what nfsentry-crowdsec sends.
 * Usage:
 *   fleet-apply STATE_DIR (ban ADDRESS[/PREFIX] SECONDS | unban ADDRESS[/PREFIX])...
 *     prints "ADDRESS OUTCOME" per decision (outcomes as the control socket names them);
 *   fleet-apply STATE_DIR bench HOSTS RANGES
 *     bans HOSTS IPv4 addresses (10.0.0.0/8) and RANGES /24s (100.64.0.0/10) in requests of
 *     1000 decisions, as the bridge sends them, and prints the seconds until the last request
 *     was answered (the kernel had them all) and the count of each outcome;
 *   fleet-apply STATE_DIR reread
 *     prints how long the writer's start took to read the fleet's sets back (the same re-read
 *     as its minute's sync: the writer thread's pause with that many fleet bans). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ban/writer.h"
#include "core/clock.h"
#include "core/log.h"
#include "decide/protect.h"

#define CHUNK 1000 /* the control command's limit per request */
#define WAIT_MS 30000

static int run(struct banwriter *w, struct ban_fleet_item *it, size_t n)
{
	int r = banwriter_fleet(w, it, n, WAIT_MS);
	if (r < 0)
		fprintf(stderr, "banwriter_fleet: %s\n", strerror(-r));
	return r;
}

static int decisions(struct banwriter *w, int argc, char **argv)
{
	struct ban_fleet_item it[64];
	const char *arg[64];
	size_t n = 0;

	for (int i = 0; i < argc && n < 64; i++) {
		struct ban_fleet_item x = { 0 };
		bool ban = !strcmp(argv[i], "ban");
		if ((!ban && strcmp(argv[i], "unban")) || i + 1 + ban >= argc ||
		    nfs_addr_parse(argv[i + 1], true, &x.addr) < 0) {
			fprintf(stderr, "bad decision at %s\n", argv[i]);
			return 2;
		}
		x.unban = !ban;
		if (ban)
			x.seconds = strtoull(argv[i + 2], NULL, 10);
		arg[n] = argv[i + 1];
		it[n++] = x;
		i += 1 + ban;
	}
	if (run(w, it, n) < 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		printf("%s %s\n", arg[i], ban_fleet_outcome_name(it[i].outcome));
	return 0;
}

static int bench(struct banwriter *w, unsigned hosts, unsigned ranges)
{
	unsigned total = hosts + ranges, count[BAN_FLEET_OUTCOMES] = { 0 };
	struct ban_fleet_item *it = calloc(total ? total : 1, sizeof(*it));

	if (!it || ranges > 16384 || hosts > 16000000)
		return 2;
	for (unsigned i = 0; i < hosts; i++) {
		uint32_t a = 0x0a000001u + i; /* 10.0.0.1 up */
		it[i].addr = (struct nfs_addr){ .family = AF_INET, .plen = 32,
						.a = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a } };
		it[i].seconds = 3600;
	}
	for (unsigned i = 0; i < ranges; i++) {
		uint32_t a = 0x64400000u + (i << 8); /* 100.64.0.0/24 up: apart, never overlapping */
		it[hosts + i].addr = (struct nfs_addr){ .family = AF_INET, .plen = 24,
							.a = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8) } };
		it[hosts + i].seconds = 3600;
	}
	int64_t t0 = clock_mono_ns();
	for (unsigned o = 0; o < total; o += CHUNK) {
		size_t n = total - o < CHUNK ? total - o : CHUNK;
		if (run(w, it + o, n) < 0) {
			free(it);
			return 1;
		}
	}
	double s = (double)(clock_mono_ns() - t0) / 1e9;
	for (unsigned i = 0; i < total; i++)
		count[it[i].outcome]++;
	printf("%u fleet decisions (%u addresses, %u /24 ranges) in the kernel in %.3f s (%.0f per second)\n", total,
	       hosts, ranges, s, s > 0 ? total / s : 0);
	for (int k = 0; k < BAN_FLEET_OUTCOMES; k++)
		if (count[k])
			printf("%s %u\n", ban_fleet_outcome_name((enum ban_fleet_outcome)k), count[k]);
	free(it);
	return 0;
}

int main(int argc, char **argv)
{
	static const uint8_t key[16] = "fleet-apply-key";
	struct nfs_config *c = NULL;
	struct event_sink *events = NULL;
	struct banq *q = NULL;
	struct banwriter *w = NULL;
	struct banwriter_restored rs;
	struct netlist protect = { 0 };
	struct protect_ends ends;
	int rc;

	if (argc < 3 || config_new_default(&c) < 0 || banq_new(&q, 4096) < 0)
		return 2;
	log_set_level(LOG_LVL_WARN); /* the refusals' warnings; not the notice per request */
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", argv[1]);
	if (protect_discover(&protect, false, NULL, true, &ends) != 0)
		fprintf(stderr, "fleet-apply: some protected peers could not be read\n");
	if (event_sink_open(&events, "/dev/null", NULL) < 0 || banwriter_new(&w, c, q, events, key) < 0) {
		fprintf(stderr, "cannot make the ban writer\n");
		return 1;
	}
	banwriter_reconfigure(w, c, &protect, &ends);
	int64_t t0 = clock_mono_ns();
	if (banwriter_restore(w, &rs) < 0 || banwriter_start(w) < 0) {
		fprintf(stderr, "cannot start the ban writer\n");
		return 1;
	}
	if (!strcmp(argv[2], "reread")) {
		printf("%u fleet bans read back from the kernel in %.3f s\n", rs.fleet, (double)(clock_mono_ns() - t0) / 1e9);
		rc = 0;
	} else if (!strcmp(argv[2], "bench"))
		rc = argc == 5 ? bench(w, (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4])) : 2;
	else
		rc = decisions(w, argc - 2, argv + 2);
	banwriter_free(w);
	event_sink_close(events);
	banq_free(q);
	config_free(c);
	return rc;
}
