/* cmd-watch.c - watch: the daemon's bans, unbans and evidence tokens as they happen, one a
 * line, until interrupted or the daemon goes away (docs/control.md, "watch"). With --json,
 * each line as it came; as text, one sentence per event. */
#include <stdio.h>
#include <string.h>

#include "control/protocol.h"
#include "ctl.h"
#include "table.h"
#include "transport.h"

struct watch_state {
	const struct ctl_args *args;
	bool answered;
};

static void print_event(json_t *ev)
{
	char kind[32], addr[CELL_MAX], origin[32], det[32], why[32], len[32], token[CELL_MAX], seq[32];
	uint64_t n = 0;

	fmt_value(kind, sizeof(kind), json_object_get(ev, "event"));
	fmt_value(addr, sizeof(addr), json_object_get(ev, "address"));
	fmt_value(origin, sizeof(origin), json_object_get(ev, "origin"));
	fmt_value(seq, sizeof(seq), json_object_get(ev, "seq"));
	if (!strcmp(kind, "ban")) {
		fmt_value(det, sizeof(det), json_object_get(ev, "detector"));
		fmt_duration(len, sizeof(len), ev, "seconds", NULL);
		fmt_get_u64(ev, "events", &n);
		printf("#%s ban %s for %s by %s (%s", seq, addr, len, origin, det);
		if (n)
			printf(", %llu events", (unsigned long long)n);
		printf(")\n");
	} else if (!strcmp(kind, "unban")) {
		fmt_value(why, sizeof(why), json_object_get(ev, "why"));
		printf("#%s unban %s, a ban by %s (%s)\n", seq, addr, origin, why);
	} else if (!strcmp(kind, "evidence")) {
		fmt_value(token, sizeof(token), json_object_get(ev, "token"));
		printf("#%s evidence %s %s\n", seq, addr, token);
	} else if (!strcmp(kind, "lost")) {
		fmt_get_u64(ev, "count", &n);
		printf("lost %llu events: read too slowly (`nfsentryctl bans` lists the bans now)\n", (unsigned long long)n);
	} else {
		printf("#%s %s %s\n", seq, kind, addr); /* a kind newer than this program */
	}
}

/* One line of the stream: the answer, then the events. */
static int watch_line(const char *text, size_t len, void *data)
{
	struct watch_state *st = data;
	json_t *j = json_loadb(text, len, 0, NULL);
	int r = 0;

	if (!json_is_object(j)) {
		fprintf(stderr, "%s: malformed line from nfsentry\n", CTL_PROG);
		r = EXIT_FAILED;
	} else if (!st->answered && !json_is_true(json_object_get(j, "ok"))) {
		json_t *err = json_object_get(j, "error");
		char msg[1024];
		fmt_printable(msg, sizeof(msg), json_is_string(err) ? json_string_value(err) : "request refused (no reason given)");
		if (st->args->json)
			printf("%.*s\n", (int)len, text);
		else
			fprintf(stderr, "%s: %s\n", CTL_PROG, msg);
		r = EXIT_FAILED;
	} else if (st->args->json) {
		printf("%.*s\n", (int)len, text);
	} else if (st->answered) {
		print_event(j);
	}
	st->answered = true;
	json_decref(j);
	/* Each event as it comes, also into a pipe; a closed stdout ends the watch. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: writing the output: %m\n", CTL_PROG);
		r = EXIT_FAILED;
	}
	return r;
}

static int run_watch(const char *req, const struct ctl_args *a)
{
	struct watch_state st = { .args = a };

	return ctl_stream(a->socket, req, watch_line, &st);
}

const struct ctl_command ctl_watch = { CTL_CMD_WATCH, ctl_build_origin, NULL, NULL, run_watch };
