/* test-metrics.c - the metrics file and its JSON twin (docs/metrics.md) for known counters: a
 * queue worker that verdicted 5 packets (fed through a socketpair, the kernel faked by
 * fakenl.h), 3 scan detections, a ban writer with nothing done. Checked: every family has one
 * # HELP and one # TYPE line before its samples and no sample is outside a family; the
 * per-queue counters carry their queue label; a histogram's buckets are cumulative, in
 * seconds, end in +Inf equal to _count; the JSON of metrics_collect() holds the same numbers;
 * the file is replaced atomically (a new inode, no temporary left beside it) and an unwritable
 * path is an error. */
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/netfilter.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ban/banq.h"
#include "ban/writer.h"
#include "core/log.h"
#include "engine/engine.h"
#include "metrics/metrics.h"
#include "queue/worker.h"
#include "fakenl.h"
#include "enginefix.h"
#include "nfqmsg.h"
#include "tap.h"
#include "tcp4.h"

#define QNUM 4243
#define PACKETS 5

static const uint8_t key[16] = "metricsmetricsme";

static void ack_kernel(const char *buf, size_t len)
{
	const struct nlmsghdr *h = (const void *)buf;
	(void)len;
	if (h->nlmsg_type == NFQ_TYPE(NFQNL_MSG_CONFIG))
		fakenl_reply_err(h->nlmsg_seq, 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 17];
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return f ? buf : NULL;
}

/* The value of the sample line that starts with @prefix (name and labels), or -1. */
static double value_of(const char *text, const char *prefix)
{
	size_t pl = strlen(prefix);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, prefix, pl) && l[pl] == ' ')
			return strtod(l + pl + 1, NULL);
	return -1;
}

/* The structure of the text format: # HELP then # TYPE once per family, then its samples,
 * whose names are the family's (histograms: with _bucket, _sum, _count). */
static void check_structure(const char *text)
{
	char fam[128] = "", type[16] = "";
	unsigned families = 0, samples = 0, bad = 0;
	char seen[128][128];
	const char *l = text;

	while (l && *l) {
		const char *end = strchr(l, '\n');
		char line[1024];
		size_t n = end ? (size_t)(end - l) : strlen(l);
		snprintf(line, sizeof(line), "%.*s", (int)n, l);
		l = end ? end + 1 : NULL;
		if (!strncmp(line, "# HELP ", 7)) {
			char name[128];
			if (sscanf(line + 7, "%127s", name) != 1 || strlen(line) <= 8 + strlen(name))
				bad++; /* a help text is there */
			for (unsigned i = 0; i < families && i < 128; i++)
				if (!strcmp(seen[i], name))
					bad++; /* a family twice */
			if (families < 128)
				snprintf(seen[families], sizeof(seen[0]), "%s", name);
			families++;
			snprintf(fam, sizeof(fam), "%s", name);
			type[0] = '\0';
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char name[128];
			if (sscanf(line + 7, "%127s %15s", name, type) != 2 || strcmp(name, fam) ||
			    (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "histogram")))
				bad++;
			continue;
		}
		samples++;
		size_t fl = strlen(fam);
		const char *rest = line + fl;
		bool named = fam[0] && type[0] && !strncmp(line, fam, fl);
		if (named && !strcmp(type, "histogram"))
			named = !strncmp(rest, "_bucket{", 8) || !strncmp(rest, "_sum", 4) || !strncmp(rest, "_count", 6);
		else if (named)
			named = *rest == ' ' || *rest == '{';
		if (!named) {
			bad++;
			printf("# outside its family (%s): %s\n", fam, line);
		}
	}
	CHECK(families > 40 && samples > families && bad == 0,
	      "%u families, each # HELP then # TYPE once, %u samples, all inside their family (%u wrong)", families,
	      samples, bad);
}

int main(void)
{
	char dir[] = "/tmp/nfsentry-metrics-XXXXXX", path[128], link_path[128], buf[4096];
	struct enginefix fx;
	struct worker *w = NULL;
	uint8_t pkt[64];
	int sp[2];

	log_set_level(LOG_LVL_ERR);
	CHECK(mkdtemp(dir) && enginefix_open(&fx, key), "an engine, a folder");
	if (tap_failed)
		return tap_done();
	struct nfs_config *cfg = fx.cfg;
	struct tracker *t = fx.t;
	struct flowtab *flows = fx.flows;
	struct banq *q = fx.q;
	struct event_sink *events = fx.events;
	struct engine *e = &fx.e;
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", dir);
	struct banwriter *bw = NULL;
	(void)banwriter_new(&bw, cfg, q, events, key);
	CHECK(bw != NULL, "a ban writer (not started)");

	/* A worker that verdicts PACKETS closed-port SYNs. */
	fakenl_kernel = ack_kernel;
	int r = worker_open(&w, e, QNUM, ORIGIN_CLOSED_PORT, cfg);
	CHECK(r == 0 && w && fakenl_last_fd >= 0 && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) == 0 &&
	      dup2(sp[0], fakenl_last_fd) == fakenl_last_fd && worker_start(w) == 0,
	      "a worker on queue %d, reading a socketpair", QNUM);
	if (tap_failed || !bw)
		return tap_done();
	close(sp[0]);
	fakenl_reset();
	for (uint32_t i = 1; i <= PACKETS; i++) {
		size_t n = tcp4(pkt, i, 40000, (uint16_t)(100 + i), 0x02, NULL);
		size_t len = nfqmsg_packet(buf, QNUM, i, NF_INET_LOCAL_IN, pkt, n, 0, sizeof(struct nfqnl_msg_packet_hdr));
		send(sp[1], buf, len, 0);
	}
	size_t got = fakenl_wait_sent(PACKETS, 10);
	worker_stop(w); /* joined: its counters are final */
	CHECK_EQ(got, PACKETS, "the worker verdicted every packet");
	atomic_store(&e->detections[DET_SCAN], 3);

	struct worker *ws[] = { w };
	struct daemon_view src = { .workers = ws, .nworkers = 1, .writer = bw, .tracker = t, .flows = flows,
				   .engine = e, .events = events, .started = time(NULL) - 12 };
	snprintf(path, sizeof(path), "%s/nfsentry.prom", dir);
	snprintf(link_path, sizeof(link_path), "%s/old.prom", dir);

	/* An older file, and a second name for it: replaced, the old inode is left as it was. */
	FILE *f = fopen(path, "w");
	fputs("old\n", f);
	fclose(f);
	struct stat before, after;
	CHECK(link(path, link_path) == 0 && stat(path, &before) == 0, "an old metrics file, linked");
	r = metrics_write(path, &src);
	CHECK(r == 0 && stat(path, &after) == 0 && after.st_ino != before.st_ino,
	      "metrics_write: %d, a new file renamed over the old one", r);
	char *old = slurp(link_path);
	CHECK(old && !strcmp(old, "old\n"), "the old file was not written into");
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned others = 0;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "nfsentry.prom") &&
		    strcmp(de->d_name, "old.prom") && strcmp(de->d_name, "offences") && strcmp(de->d_name, "bans"))
			others++, printf("# left: %s\n", de->d_name);
	if (d)
		closedir(d);
	CHECK_EQ(others, 0, "no temporary file left beside it");
	CHECK(!(after.st_mode & 0022), "not writable by others (mode %o)", after.st_mode & 0777);

	char *text = slurp(path);
	CHECK(text && text[0] && text[strlen(text) - 1] == '\n', "the file ends with a newline");
	if (!text)
		return tap_done();
	check_structure(text);
	CHECK(strstr(text, "# HELP nfsentry_queue_packets_total Packets received from the queue.\n"
			   "# TYPE nfsentry_queue_packets_total counter\n"
			   "nfsentry_queue_packets_total{queue=\"4243\"} 5\n"),
	      "a per-queue counter: help, type, labelled sample");
	CHECK(value_of(text, "nfsentry_queue_dropped_total{queue=\"4243\"}") == PACKETS &&
	      value_of(text, "nfsentry_queue_accepted_total{queue=\"4243\"}") == 0, "5 dropped, 0 accepted");
	CHECK(value_of(text, "nfsentry_detections_total{detector=\"scan\"}") == 3, "3 scan detections");
	CHECK(value_of(text, "nfsentry_uptime_seconds") == 12 || value_of(text, "nfsentry_uptime_seconds") == 13,
	      "uptime in whole seconds (started 12 s ago; the clock may tick meanwhile)");
	CHECK(strstr(text, "# TYPE nfsentry_uptime_seconds gauge\n") && strstr(text, "# TYPE nfsentry_bans_active gauge\n"),
	      "gauges are gauges");
	struct tracker_stats ts;
	tracker_get_stats(t, &ts);
	CHECK(value_of(text, "nfsentry_sources_tracked") == (double)ts.sources && ts.sources > 0,
	      "sources tracked: %llu, as the tracker says", (unsigned long long)ts.sources);

	/* The verdict latency histogram: cumulative buckets in seconds, +Inf = _count. */
	static const char *const le[] = { "5e-06", "1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.001", "0.01", "0.1",
					  "+Inf" };
	double prev = 0;
	bool cumulative = true, all = true;
	for (unsigned b = 0; b < 10; b++) {
		char name[160];
		snprintf(name, sizeof(name), "nfsentry_verdict_latency_seconds_bucket{queue=\"4243\",le=\"%s\"}", le[b]);
		double v = value_of(text, name);
		all = all && v >= 0;
		cumulative = cumulative && v >= prev;
		prev = v;
	}
	CHECK(all, "ten buckets, le in seconds: 5e-06 .. 0.1, +Inf");
	CHECK(cumulative && prev == PACKETS, "cumulative: never decreasing, +Inf holds all %d (%g)", PACKETS, prev);
	CHECK(value_of(text, "nfsentry_verdict_latency_seconds_count{queue=\"4243\"}") == PACKETS &&
	      value_of(text, "nfsentry_verdict_latency_seconds_sum{queue=\"4243\"}") >= 0, "_count 5, a _sum");
	CHECK(value_of(text, "nfsentry_ban_latency_seconds_bucket{le=\"+Inf\"}") == 0 &&
	      value_of(text, "nfsentry_ban_latency_seconds_count") == 0 && strstr(text, "\nnfsentry_ban_latency_seconds_sum 0"),
	      "the ban latency histogram, unlabelled, empty");

	/* The JSON form: the same numbers. */
	json_t *m = metrics_collect(&src);
	json_t *fam = json_object_get(m, "nfsentry_queue_packets_total");
	json_t *s0 = json_array_get(json_object_get(fam, "samples"), 0);
	CHECK(fam && !strcmp(json_string_value(json_object_get(fam, "type")) ?: "", "counter") &&
	      json_string_value(json_object_get(fam, "help")) &&
	      !strcmp(json_string_value(json_object_get(json_object_get(s0, "labels"), "queue")) ?: "", "4243") &&
	      json_integer_value(json_object_get(s0, "value")) == PACKETS,
	      "JSON: nfsentry_queue_packets_total {type counter, help, samples [{labels {queue 4243}, value 5}]}");
	json_t *h = json_object_get(json_object_get(m, "nfsentry_verdict_latency_seconds"), "samples");
	json_t *last = json_array_get(h, 9), *count = json_array_get(h, 11);
	CHECK(json_array_size(h) == 12 &&
	      !strcmp(json_string_value(json_object_get(last, "name")) ?: "", "nfsentry_verdict_latency_seconds_bucket") &&
	      !strcmp(json_string_value(json_object_get(json_object_get(last, "labels"), "le")) ?: "", "+Inf") &&
	      json_integer_value(json_object_get(last, "value")) == PACKETS &&
	      !strcmp(json_string_value(json_object_get(count, "name")) ?: "", "nfsentry_verdict_latency_seconds_count"),
	      "JSON histogram: 10 buckets (+Inf last, 5), _sum, _count");
	size_t families = json_object_size(m);
	const char *k;
	json_t *v;
	size_t helps = 0;
	for (const char *p = text; (p = strstr(p, "# HELP ")); p++)
		helps++;
	json_object_foreach(m, k, v) if (!strstr(text, k)) helps = 0;
	CHECK(families == helps, "the file and the JSON have the same %zu families", families);
	json_decref(m);

	/* Nowhere to write. */
	char nowhere[160];
	snprintf(nowhere, sizeof(nowhere), "%s/missing/nfsentry.prom", dir);
	r = metrics_write(nowhere, &src);
	CHECK(r == -ENOENT, "a path in a missing folder: %d", r);

	worker_free(w);
	close(sp[1]);
	banwriter_free(bw);
	enginefix_close(&fx);
	fakenl_reset();
	snprintf(buf, sizeof(buf), "rm -rf %s", dir);
	CHECK(system(buf) == 0, "cleanup");
	return tap_done();
}
