/* cmd-lists.c - the daemon's tables: bans (active bans, who made them, the time they have left),
 * sources (tracked sources, most closed ports first), flows (connections under inspection).
 * Each is one request and one table (table.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/protocol.h"
#include "ctl.h"
#include "table.h"

#define CTL_LIMIT_MAX 1000000

static bool parse_limit(const char *s, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > CTL_LIMIT_MAX)
		return false;
	*out = v;
	return true;
}

/* sources, flows: [--limit N]. */
static int build_limited(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	char use[64];
	const char *v;
	long limit;

	(void)a;
	snprintf(use, sizeof(use), "%s [--limit N]", argv[0]);
	for (int i = 1; i < argc; i++) {
		if (!ctl_take_option(argc, argv, &i, "--limit", &v))
			return ctl_bad_usage(use, "%s: unexpected argument '%s'", argv[0], argv[i]);
		if (!v)
			return ctl_bad_usage(use, "%s: --limit needs a number", argv[0]);
		if (!parse_limit(v, &limit))
			return ctl_bad_usage(use, "%s: --limit '%s': not a number from 1 to %d", argv[0], v, CTL_LIMIT_MAX);
		json_object_set_new(req, "limit", json_integer(limit));
	}
	return 0;
}

static void fill_ban(struct table *t, size_t row, json_t *e)
{
	fmt_value(table_cell(t, row, 0), CELL_MAX, json_object_get(e, "address"));
	fmt_value(table_cell(t, row, 1), CELL_MAX, json_object_get(e, "detector"));
	fmt_value(table_cell(t, row, 2), CELL_MAX, json_object_get(e, "origin"));
	fmt_value(table_cell(t, row, 3), CELL_MAX, json_object_get(e, "offence"));
	fmt_duration(table_cell(t, row, 4), CELL_MAX, e, "seconds_left", NULL);
	fmt_duration(table_cell(t, row, 5), CELL_MAX, e, "timeout", NULL);
}

/* Per-class counts: an object of name -> number (nonzero ones printed), or a bare list. */
static void fmt_counts(char *buf, size_t len, json_t *v)
{
	size_t off = 0;

	buf[0] = '\0';
	if (json_is_object(v)) {
		const char *k;
		json_t *n;
		json_object_foreach(v, k, n) {
			char name[32];
			if (!json_is_integer(n) || json_integer_value(n) == 0 || off >= len)
				continue;
			fmt_printable(name, sizeof(name), k);
			off += (size_t)snprintf(buf + off, len - off, "%s%s %" JSON_INTEGER_FORMAT, off ? ", " : "",
						name, json_integer_value(n));
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *n;
		json_array_foreach(v, i, n) {
			char cell[32];
			if (off >= len)
				break;
			fmt_value(cell, sizeof(cell), n);
			off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", cell);
		}
	} else {
		fmt_value(buf, len, v);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void fill_source(struct table *t, size_t row, json_t *e)
{
	fmt_value(table_cell(t, row, 0), CELL_MAX, json_object_get(e, "address"));
	fmt_value(table_cell(t, row, 1), CELL_MAX, json_object_get(e, "ports"));
	fmt_duration(table_cell(t, row, 2), CELL_MAX, e, "seconds_since_first", " ago");
	fmt_duration(table_cell(t, row, 3), CELL_MAX, e, "seconds_since_last", " ago");
	fmt_counts(table_cell(t, row, 4), CELL_MAX, json_object_get(e, "counts"));
}

static void fill_flow(struct table *t, size_t row, json_t *e)
{
	json_t *known = json_object_get(e, "initiator_known");

	fmt_endpoint(table_cell(t, row, 0), CELL_MAX, e, "client", "cport");
	fmt_endpoint(table_cell(t, row, 1), CELL_MAX, e, "server", "sport");
	fmt_value(table_cell(t, row, 2), CELL_MAX, json_object_get(e, "packets"));
	snprintf(table_cell(t, row, 3), CELL_MAX, "%s",
		 !json_is_boolean(known) ? "-" : json_is_true(known) ? "known" : "guessed");
	fmt_value(table_cell(t, row, 4), CELL_MAX, json_object_get(e, "drop"));
}

static int print_bans(json_t *ans, const struct ctl_args *args)
{
	struct table t = { .ncols = 6, .head = { "ADDRESS", "DETECTOR", "ORIGIN", "OFFENCE", "REMAINING", "TIMEOUT" },
			   .right = { [3] = true } };
	return table_print_list(ans, "bans", &t, "no active bans", fill_ban);
}

static int print_sources(json_t *ans, const struct ctl_args *args)
{
	struct table t = { .ncols = 5, .head = { "ADDRESS", "PORTS", "FIRST", "LAST", "COUNTS" },
			   .right = { [1] = true } };
	return table_print_list(ans, "sources", &t, "no sources tracked", fill_source);
}

static int print_flows(json_t *ans, const struct ctl_args *args)
{
	struct table t = { .ncols = 5, .head = { "CLIENT", "SERVER", "PACKETS", "INITIATOR", "DROP" },
			   .right = { [2] = true } };
	return table_print_list(ans, "flows", &t, "no connections under inspection", fill_flow);
}

const struct ctl_command ctl_bans = { CTL_CMD_BANS, ctl_build_origin, print_bans, NULL, NULL };
const struct ctl_command ctl_sources = { CTL_CMD_SOURCES, build_limited, print_sources, NULL, NULL };
const struct ctl_command ctl_flows = { CTL_CMD_FLOWS, build_limited, print_flows, NULL, NULL };
