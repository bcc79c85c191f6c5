/* nfsentryctl.c - the client of nfsentry's control socket (protocol: docs/control.md).
 *
 * One request per run: build it with jansson, send it as one line, read one line back
 * (bounded in size and time), print it as JSON or as text. Exit status: 0 done, 1 nfsentry
 * could not be reached or refused the request, 2 the command line is wrong.
 *
 * This file: the global options and the table of commands. cmdline.c builds the request
 * line, transport.c talks to the daemon, table.c renders answers as text, and cmd-*.c hold
 * the commands, a group of them each. Addresses, durations and an evidence record's packets
 * go through the daemon's own code (linked from its layers, tools/meson.build), and the
 * command names through control/protocol.h, which the server's table uses too. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "build-config.h"
#include "ctl.h"
#include "table.h"
#include "transport.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nfsentryctl [-s PATH] [--json] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  status                          version, uptime, queue counters, totals\n"
		"  bans [--origin NAME]            active bans and the time they have left; NAME:\n"
		"                                  nfsentry, manual, crowdsec (the fleet's), or a\n"
		"                                  comma-separated list\n"
		"  ban ADDRESS [--for DURATION]    ban now (DURATION: 90s, 10m, 1h30m, 7d;\n"
		"                                  default: [ban] duration)\n"
		"  unban ADDRESS                   lift a ban (an IPv6 address: its banned prefix;\n"
		"                                  a prefix as `bans` lists it works too)\n"
		"  allow ADDRESS|CIDR              never ban this network, until the next reload\n"
		"  sources [--limit N]             tracked sources, most closed ports first\n"
		"  flows [--limit N]               connections under inspection, most packets first\n"
		"  evidence TOKEN [--pcap FILE]    the evidence record behind an event: checks it is\n"
		"                                  intact, prints it, writes its packets (root only)\n"
		"  evidence --verify               check every record and the chain that links them\n"
		"  reload                          re-read the configuration (as SIGHUP)\n"
		"  watch [--origin NAME]           print bans and unbans as they happen, until\n"
		"                                  interrupted (--json: one object a line)\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH   control socket (default %s)\n"
		"      --json          print nfsentry's answer as it came: one JSON object\n"
		"  -h, --help          this help\n"
		"      --version       print the version\n"
		"\n"
		"Exit status: 0 done, 1 not reached or refused (or evidence not intact), 2 bad command line.\n",
		NFSENTRY_CONTROL_SOCKET);
}

/* Looked up by name; the order is the help's. */
static const struct ctl_command *const commands[] = {
	&ctl_status, &ctl_bans, &ctl_ban, &ctl_unban, &ctl_allow, &ctl_sources, &ctl_flows, &ctl_evidence, &ctl_reload,
	&ctl_watch,
};

/* Drops "--json" wherever it appears after the command (it is a global option, but
 * `nfsentryctl bans --json` is what people type). Returns the new argc. */
static int strip_json_flag(int argc, char **argv, struct ctl_args *a)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = true;
		else
			argv[n++] = argv[i];
	}
	return n;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_VERSION };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct ctl_args a = { .socket = NFSENTRY_CONTROL_SOCKET };
	const struct ctl_command *cmd = NULL;
	struct ctl_answer ans = { 0 };
	char *req = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': a.socket = optarg; break;
		case OPT_JSON: a.json = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: printf("nfsentryctl %s\n", NFSENTRY_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no command given\n", CTL_PROG);
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[optind], commands[i]->name))
			cmd = commands[i];
	if (!cmd) {
		fprintf(stderr, "%s: unknown command '%s'\n", CTL_PROG, argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!a.socket[0] || strlen(a.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "%s: -s '%s': a socket path must have 1 to %zu bytes\n", CTL_PROG, a.socket,
			sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return EXIT_USAGE;
	}
	argc = strip_json_flag(argc - optind, argv + optind, &a);
	argv += optind;
	r = ctl_request_build(cmd, argc, argv, &a, &req);
	if (r)
		return r;

	signal(SIGPIPE, SIG_IGN); /* MSG_NOSIGNAL covers send(); this covers a closed stdout */
	if (cmd->run) {
		r = cmd->run(req, &a);
		free(req);
		return r;
	}
	r = ctl_exchange(a.socket, req, &ans);
	free(req);
	if (r)
		return r;

	if (a.json) {
		/* As it came; the exit status still says whether it was ok. */
		fwrite(ans.line, 1, ans.len, stdout);
		putchar('\n');
		r = json_is_true(json_object_get(ans.obj, "ok")) ? 0 : EXIT_FAILED;
		/* Evidence that is not intact fails a script as loudly as a refusal. */
		if (json_is_false(json_object_get(ans.obj, "intact")))
			r = EXIT_FAILED;
		if (!r && cmd->json_done)
			r = cmd->json_done(ans.obj, &a);
	} else if (!json_is_true(json_object_get(ans.obj, "ok"))) {
		json_t *err = json_object_get(ans.obj, "error");
		char msg[1024];
		fmt_printable(msg, sizeof(msg), json_is_string(err) ? json_string_value(err) : "request refused (no reason given)");
		fprintf(stderr, "%s: %s\n", CTL_PROG, msg);
		r = EXIT_FAILED;
	} else {
		r = cmd->print(ans.obj, &a);
	}
	ctl_answer_deinit(&ans);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: writing the output: %s\n", CTL_PROG, strerror(errno));
		return EXIT_FAILED;
	}
	return r;
}
