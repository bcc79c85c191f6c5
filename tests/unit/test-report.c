/* test-report.c - decide/report.c: every event is either emitted or freed, whichever of
 * jansson's allocations fails (a scan event and its "counts" object, issue 12 item 6).
 * A counting allocator fails the Nth allocation for N = 1, 2, ... until a call makes no
 * more than N-1; after each call no allocation may be left over but one per line written:
 * the line json_dumps() made, which event_emit() frees with free(), not through jansson. */
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/addr.h"
#include "core/event.h"
#include "decide/report.h"
#include "tap.h"

static long allocs, live, fail_at; /* fail_at 0: never */
static char *out;                  /* the sink's stream */
static size_t out_len;
static FILE *stream;

/* The lines written to the sink since the last call. */
static long new_lines(void)
{
	static size_t seen;
	long n = 0;

	fflush(stream);
	for (; seen < out_len; seen++)
		n += out[seen] == '\n';
	return n;
}

static void *count_malloc(size_t n)
{
	if (++allocs == fail_at)
		return NULL;
	void *p = malloc(n);
	if (p)
		live++;
	return p;
}

static void count_free(void *p)
{
	if (p)
		live--;
	free(p);
}

/* Calls @fn with the Nth allocation failing, for every N it reaches; true when none leaked. */
static bool no_leak_on_failure(const char *what, void (*fn)(const struct report_dest *), const struct report_dest *to)
{
	for (fail_at = 1; fail_at < 1000; fail_at++) {
		allocs = 0;
		live = 0;
		new_lines();
		fn(to);
		long written = new_lines();
		if (live != written) {
			printf("# %s: allocation %ld failing leaves %ld allocations (%ld lines written)\n", what,
			       fail_at, live, written);
			return false;
		}
		if (allocs < fail_at) /* the failure was never reached: every path was tried */
			return true;
	}
	printf("# %s: more than 1000 allocations\n", what);
	return false;
}

static struct pkt pkt;
static struct trk_report rep = { .ports = 20, .first_seen = 100, .last_seen = 103, .ttl_min = 40, .ttl_max = 64 };
static const struct timespec now = { .tv_sec = 1700000000 };

static void scan(const struct report_dest *to) { report_scan(to, &now, &pkt, NULL, &rep, ACTION_BAN); }
static void scan_refused(const struct report_dest *to)
{
	report_scan_outcome(to, &now, &pkt, NULL, &rep, "refused", "allowlisted 192.0.2.0/24");
}
static void distributed(const struct report_dest *to)
{
	report_distributed_scan(to, &now, &pkt, &pkt.src, &rep, ACTION_ALERT, NULL);
}
static void backscatter(const struct report_dest *to) { report_backscatter(to, &now, &pkt, &rep, ACTION_ALERT); }
static void flood(const struct report_dest *to) { report_flood(to, &now, &pkt, 5000, 2, ACTION_ALERT); }

int main(void)
{
	struct event_sink *sink = NULL;
	int r;

	stream = open_memstream(&out, &out_len);
	CHECK(stream != NULL, "open_memstream");
	r = stream ? event_sink_open(&sink, NULL, stream) : -ENOMEM;
	CHECK(r == 0, "event_sink_open: %d", r);
	if (r)
		return tap_done();
	CHECK(nfs_addr_parse("198.51.100.7", false, &pkt.src) == 0 && nfs_addr_parse("192.0.2.1", false, &pkt.dst) == 0,
	      "addresses");
	pkt.proto = IPPROTO_TCP;
	pkt.sport = 40000;
	pkt.dport = 22;
	rep.counts[TRK_SYN] = 18;
	rep.counts[TRK_SYNACK] = 2;

	struct report_dest to = { .events = sink };
	json_set_alloc_funcs(count_malloc, count_free);
	CHECK(no_leak_on_failure("scan", scan, &to), "report_scan: nothing left over whichever allocation fails");
	CHECK(no_leak_on_failure("scan refused", scan_refused, &to),
	      "report_scan_outcome: nothing left over whichever allocation fails");
	CHECK(no_leak_on_failure("distributed scan", distributed, &to),
	      "report_distributed_scan: nothing left over whichever allocation fails");
	CHECK(no_leak_on_failure("backscatter", backscatter, &to),
	      "report_backscatter: nothing left over whichever allocation fails");
	CHECK(no_leak_on_failure("flood", flood, &to), "report_flood: nothing left over whichever allocation fails");
	json_set_alloc_funcs(malloc, free);
	CHECK(new_lines() == 0 && out_len > 0, "events were written");
	event_sink_close(sink);
	fclose(stream);
	free(out);
	return tap_done();
}
