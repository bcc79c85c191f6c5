/* ctl.h - what nfsentryctl's parts share: the exit status, the parsed global options, and
 * the shape of a command (tools/cmd-*.c define them; nfsentryctl.c's table lists them). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#define CTL_PROG "nfsentryctl" /* the first word of every complaint */

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct ctl_args {
	const char *socket;
	bool json;
	const char *pcap; /* evidence --pcap FILE */
};

/* One command: @name (control/protocol.h) is both what is typed and what is sent. */
struct ctl_command {
	const char *name;
	/* Adds the request's members to @req (it holds "command" already) from argv[1..argc-1]
	 * (argv[0]: the command). Returns 0, or EXIT_USAGE after saying why. */
	int (*build)(int argc, char **argv, struct ctl_args *a, json_t *req);
	/* Prints an answer whose "ok" is true, as text. Returns the exit status. */
	int (*print)(json_t *ans, const struct ctl_args *a);
	/* With --json, after the answer was printed as it came and was ok (NULL: nothing more). */
	int (*json_done)(json_t *ans, const struct ctl_args *a);
	/* A command that is not one answer (watch): sends @req and prints what comes itself,
	 * instead of the three above. Returns the exit status. */
	int (*run)(const char *req, const struct ctl_args *a);
};

extern const struct ctl_command ctl_status, ctl_reload;             /* cmd-status.c */
extern const struct ctl_command ctl_bans, ctl_sources, ctl_flows;   /* cmd-lists.c */
extern const struct ctl_command ctl_ban, ctl_unban, ctl_allow;      /* cmd-ban.c */
extern const struct ctl_command ctl_evidence;                       /* cmd-evidence.c */
extern const struct ctl_command ctl_watch;                          /* cmd-watch.c */

/* cmdline.c: the request line, and the command line's helpers for the builders. */

/* Builds the request line ("{...}\n", malloc'ed into *@out for the caller to free) of @cmd
 * from argv[0] (the command) and its arguments. Returns 0, or EXIT_USAGE / EXIT_FAILED
 * after saying why (a bad argument, a request over CTL_REQUEST_MAX, out of memory). */
int ctl_request_build(const struct ctl_command *cmd, int argc, char **argv, struct ctl_args *a, char **out);

/* A complaint about the command line: "nfsentryctl: ..." then how @cmd_usage is used, on
 * stderr. Returns EXIT_USAGE. */
int ctl_bad_usage(const char *cmd_usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the value of option @name from "--name VALUE" or "--name=VALUE" at argv[*i]. Returns
 * 1 if argv[*i] is that option (value in *out, NULL if missing; *i moved past a separate
 * value), else 0. */
int ctl_take_option(int argc, char **argv, int *i, const char *name, const char **out);
/* The builder of a command that takes no arguments. */
int ctl_build_plain(int argc, char **argv, struct ctl_args *a, json_t *req);
/* The builder of bans and watch: [--origin NAME[,NAME...]], sent as the list "origin". */
int ctl_build_origin(int argc, char **argv, struct ctl_args *a, json_t *req);
