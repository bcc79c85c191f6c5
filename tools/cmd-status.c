/* cmd-status.c - the daemon as a whole: status (version, uptime, queue counters, totals)
 * and reload (re-read the configuration, as SIGHUP). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "control/protocol.h"
#include "core/duration.h"
#include "ctl.h"
#include "table.h"

#define STATUS_KEY_W 10 /* "version", "queue 10"... then the value */

static int print_status(json_t *ans, const struct ctl_args *args)
{
	static const char *const counters[] = { "packets", "accepted", "dropped", "malformed", "enobufs", "id_gaps" };
	enum { NCOUNTERS = sizeof(counters) / sizeof(counters[0]) };
	json_t *queues = json_object_get(ans, "queues"), *q;
	int w[NCOUNTERS] = { 0 }, kind_w = 0;
	char v[CELL_MAX], key[32];
	uint64_t up, n;
	size_t i;

	fmt_value(v, sizeof(v), json_object_get(ans, "version"));
	printf("%-*s%s\n", STATUS_KEY_W, "version", v);
	if (fmt_get_u64(ans, "uptime", &up))
		duration_format(up, v, sizeof(v));
	else
		snprintf(v, sizeof(v), "-");
	printf("%-*s%s\n", STATUS_KEY_W, "uptime", v);

	/* Counters line up across queues: widths first. */
	json_array_foreach(queues, i, q) {
		fmt_value(v, sizeof(v), json_object_get(q, "kind"));
		if ((int)strlen(v) > kind_w)
			kind_w = (int)strlen(v);
		for (size_t c = 0; c < NCOUNTERS; c++) {
			fmt_value(v, sizeof(v), json_object_get(q, counters[c]));
			if ((int)strlen(v) > w[c])
				w[c] = (int)strlen(v);
		}
	}
	json_array_foreach(queues, i, q) {
		fmt_value(v, sizeof(v), json_object_get(q, "queue"));
		snprintf(key, sizeof(key), "queue %s", v);
		fmt_value(v, sizeof(v), json_object_get(q, "kind"));
		printf("%-*s%-*s", STATUS_KEY_W, key, kind_w, v);
		for (size_t c = 0; c < NCOUNTERS; c++) {
			fmt_value(v, sizeof(v), json_object_get(q, counters[c]));
			printf("  %s %*s", counters[c], w[c], v);
		}
		putchar('\n');
	}

	fmt_value(v, sizeof(v), json_object_get(ans, "sources"));
	printf("%-*s%s\n", STATUS_KEY_W, "sources", v);
	fmt_value(v, sizeof(v), json_object_get(ans, "flows"));
	printf("%-*s%s\n", STATUS_KEY_W, "flows", v);
	fmt_value(v, sizeof(v), json_object_get(ans, "bans"));
	printf("%-*s%s active", STATUS_KEY_W, "bans", v);
	if (fmt_get_u64(ans, "bans_added", &n))
		printf(", %" PRIu64 " added since start", n);
	putchar('\n');
	if (fmt_get_u64(ans, "evidence_records", &n)) {
		uint64_t bytes = 0;
		fmt_get_u64(ans, "evidence_bytes", &bytes);
		printf("%-*s%" PRIu64 " records, %" PRIu64 " KiB\n", STATUS_KEY_W, "evidence", n, (bytes + 1023) / 1024);
	}
	return 0;
}

static int print_reload(json_t *ans, const struct ctl_args *args)
{
	(void)ans;
	printf("reload requested (as on SIGHUP; nfsentry logs the outcome)\n");
	return 0;
}

const struct ctl_command ctl_status = { CTL_CMD_STATUS, ctl_build_plain, print_status, NULL, NULL };
const struct ctl_command ctl_reload = { CTL_CMD_RELOAD, ctl_build_plain, print_reload, NULL, NULL };
