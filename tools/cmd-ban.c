/* cmd-ban.c - changing what is banned: ban ADDRESS [--for DURATION], unban ADDRESS, allow
 * ADDRESS|CIDR. Addresses and durations are checked with the daemon's own parsers (linked
 * from its layers, tools/meson.build) before anything is sent, so that a typing error is a
 * usage error (exit 2). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "control/protocol.h"
#include "core/addr.h"
#include "core/duration.h"
#include "ctl.h"
#include "table.h"

/* Checks the target of ban, unban (an address; IPv6 also a prefix, as `bans` lists it) or
 * allow (any network) with the daemon's parser, which refuses host bits under a prefix
 * ("192.0.2.1/24"); parsed again with them allowed, it names the network meant. Returns 0,
 * or prints why not and returns EXIT_USAGE. */
static int check_target(const char *cmd, const char *use, const char *s, bool any_network)
{
	const char *slash = strchr(s, '/');
	char net[NFS_ADDR_STRLEN];
	struct nfs_addr a, exact;

	/* The daemon takes leading zeros in a prefix length ("/0024"); this command line has
	 * always taken at most three digits. */
	if ((slash && strlen(slash + 1) > 3) || nfs_addr_parse(s, true, &a) < 0)
		return ctl_bad_usage(use, "%s: '%s' is not an IPv4 or IPv6 %s", cmd, s,
				     any_network ? "address or network (ADDRESS/LEN)" : "address");
	if (nfs_addr_parse(s, false, &exact) < 0)
		return ctl_bad_usage(use, "%s: '%s' has host bits set; the network is %s", cmd, s,
				     nfs_addr_format(&a, net, sizeof(net)));
	if (!any_network && slash && a.family == AF_INET)
		return ctl_bad_usage(use, "%s: '%s': IPv4 bans are single addresses", cmd, s);
	return 0;
}

static int build_ban(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	static const char use[] = "ban ADDRESS [--for DURATION]";
	const char *addr = NULL, *dur = NULL;

	for (int i = 1; i < argc; i++) {
		if (ctl_take_option(argc, argv, &i, "--for", &dur)) {
			if (!dur)
				return ctl_bad_usage(use, "ban: --for needs a DURATION (90s, 10m, 1h30m, 7d)");
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return ctl_bad_usage(use, "ban: unknown option '%s'", argv[i]);
		} else if (!addr) {
			addr = argv[i];
		} else {
			return ctl_bad_usage(use, "ban: unexpected argument '%s'", argv[i]);
		}
	}
	if (!addr)
		return ctl_bad_usage(use, "ban: missing ADDRESS");
	if (check_target("ban", use, addr, false))
		return EXIT_USAGE;
	json_object_set_new(req, "address", json_string(addr));
	if (dur) {
		uint64_t secs;
		int r = duration_parse(dur, &secs);
		if (r == -ERANGE)
			return ctl_bad_usage(use, "ban: --for %s: longer than 10 years", dur);
		if (r < 0)
			return ctl_bad_usage(use, "ban: --for '%s': not a duration (like 90s, 10m, 1h30m, 7d)", dur);
		if (secs == 0)
			return ctl_bad_usage(use, "ban: --for %s: a ban must last at least 1s", dur);
		json_object_set_new(req, "seconds", json_integer((json_int_t)secs));
	}
	return 0;
}

/* unban ADDRESS, allow ADDRESS|CIDR: one positional argument under @key. */
static int build_one_target(int argc, char **argv, const char *use, const char *key, bool cidr,
			    json_t *req)
{
	const char *cmd = argv[0];

	if (argc < 2)
		return ctl_bad_usage(use, "%s: missing %s", cmd, cidr ? "ADDRESS or CIDR" : "ADDRESS");
	if (argv[1][0] == '-' && argv[1][1])
		return ctl_bad_usage(use, "%s: unknown option '%s'", cmd, argv[1]);
	if (argc > 2)
		return ctl_bad_usage(use, "%s: unexpected argument '%s'", cmd, argv[2]);
	if (check_target(cmd, use, argv[1], cidr))
		return EXIT_USAGE;
	json_object_set_new(req, key, json_string(argv[1]));
	return 0;
}

static int build_unban(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	(void)a;
	return build_one_target(argc, argv, "unban ADDRESS", "address", false, req);
}

static int build_allow(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	(void)a;
	return build_one_target(argc, argv, "allow ADDRESS|CIDR", "network", true, req);
}

static int print_ban(json_t *ans, const struct ctl_args *args)
{
	char a[CELL_MAX], d[32];

	fmt_value(a, sizeof(a), json_object_get(ans, "address"));
	fmt_duration(d, sizeof(d), ans, "seconds", NULL);
	printf("banned %s for %s\n", a, d);
	return 0;
}

static int print_unban(json_t *ans, const struct ctl_args *args)
{
	char a[CELL_MAX];

	fmt_value(a, sizeof(a), json_object_get(ans, "address"));
	printf("unbanned %s\n", a);
	return 0;
}

static int print_allow(json_t *ans, const struct ctl_args *args)
{
	char a[CELL_MAX];

	fmt_value(a, sizeof(a), json_object_get(ans, "network"));
	printf("allowed %s until the next reload (bans already made stay)\n", a);
	return 0;
}

const struct ctl_command ctl_ban = { CTL_CMD_BAN, build_ban, print_ban, NULL, NULL };
const struct ctl_command ctl_unban = { CTL_CMD_UNBAN, build_unban, print_unban, NULL, NULL };
const struct ctl_command ctl_allow = { CTL_CMD_ALLOW, build_allow, print_allow, NULL, NULL };
