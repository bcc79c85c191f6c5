/* test-saver.c - the evidence thread (evidence/saver.h) in a temporary folder: an event
 * submitted while the thread runs is saved as a record and goes out with its token; a ban's
 * token is handed to the ban hook; stopping saves everything still queued; an event submitted
 * before the start or after the stop goes out at once without a token (counted as dropped),
 * and without an evidence thread at all it goes straight to the events file. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "evidence/saver.h"
#include "tap.h"

#define EVENTS 20

static struct nfs_addr hook_addr;
static char hook_token[EVSTORE_TOKEN_LEN + 1];
static int hook_calls;

static void ban_hook(void *data, const struct nfs_addr *addr, const char *token)
{
	(void)data;
	hook_addr = *addr;
	snprintf(hook_token, sizeof(hook_token), "%s", token);
	hook_calls++;
}

static json_t *event(int i)
{
	return json_pack("{ss si}", "event", "alert", "n", i);
}

/* The events file's lines as JSON, in order. */
static size_t read_events(const char *path, json_t **out, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	size_t n = 0;
	while (f && n < max && fgets(line, sizeof(line), f))
		out[n++] = json_loads(line, 0, NULL);
	if (f)
		fclose(f);
	return n;
}

int main(void)
{
	char dir[] = "/tmp/nfsentry-saver-XXXXXX", evdir[96], evpath[96], err[256] = "", cmd[128];
	struct nfs_config *cfg = NULL;
	(void)config_new_default(&cfg);
	struct event_sink *events = NULL;
	struct evidence *e = NULL;
	struct evidence_stats st;
	json_t *lines[EVENTS + 8] = { 0 };

	log_set_level(LOG_LVL_ERR);
	CHECK(cfg && mkdtemp(dir), "a folder");
	snprintf(evdir, sizeof(evdir), "%s/evidence", dir);
	snprintf(evpath, sizeof(evpath), "%s/events.json", dir);
	snprintf(cfg->evidence_dir, sizeof(cfg->evidence_dir), "%s", evdir);
	cfg->attribution = false;
	CHECK(mkdir(evdir, 0700) == 0 && event_sink_open(&events, evpath, NULL) == 0 &&
	      evidence_new(&e, cfg, NULL, events, err, sizeof(err)) == 0, "an evidence store and an events file: %s", err);
	if (!e)
		return tap_done();
	evidence_set_ban_hook(e, ban_hook, NULL);

	/* No thread yet: out at once, no token. Without evidence at all: the same, not counted. */
	evidence_submit(e, NULL, event(-1), NULL);
	evidence_submit(NULL, events, event(-2), NULL);
	evidence_get_stats(e, &st);
	CHECK(st.dropped == 1 && st.queued == 0, "before the start: dropped %llu, queued %llu",
	      (unsigned long long)st.dropped, (unsigned long long)st.queued);

	CHECK(evidence_start(e) == 0, "evidence_start");
	for (int i = 0; i < EVENTS; i++) {
		struct evidence_ctx ctx = { 0 };
		if (i == 7) {
			ctx.ban = true;
			ctx.ban_addr = (struct nfs_addr){ .family = AF_INET, .plen = 32, .a = { 192, 0, 2, 7 } };
		}
		evidence_submit(e, NULL, event(i), &ctx);
	}
	evidence_stop(e); /* saves what is queued */
	evidence_get_stats(e, &st);
	CHECK(st.queued + st.dropped == EVENTS + 1 && st.saved == st.queued && st.failed == 0 && st.store.records == st.saved,
	      "stopping saves every queued event: queued %llu, saved %llu, records %llu, dropped %llu",
	      (unsigned long long)st.queued, (unsigned long long)st.saved, (unsigned long long)st.store.records,
	      (unsigned long long)st.dropped);
	uint64_t saved = st.saved;

	evidence_submit(e, NULL, event(99), NULL);
	evidence_get_stats(e, &st);
	CHECK(st.dropped == (EVENTS + 1 - saved) + 1 && st.saved == saved, "after the stop: out at once, dropped");

	size_t n = read_events(evpath, lines, EVENTS + 8);
	CHECK_EQ(n, EVENTS + 3, "every event reached the events file");
	size_t with_token = 0, without = 0;
	const char *ban_token = NULL;
	bool tokens_ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *t = json_string_value(json_object_get(lines[i], "token"));
		if (t) {
			with_token++;
			tokens_ok = tokens_ok && strlen(t) == EVSTORE_TOKEN_LEN && strspn(t, "0123456789abcdef") == EVSTORE_TOKEN_LEN;
			if (json_integer_value(json_object_get(lines[i], "n")) == 7)
				ban_token = t;
		} else {
			without++;
		}
	}
	CHECK(with_token == saved && without == n - saved && tokens_ok,
	      "saved events carry a token of 64 hex digits (%zu), the others none (%zu)", with_token, without);
	CHECK(json_integer_value(json_object_get(lines[0], "n")) == -1 && !json_object_get(lines[0], "token") &&
	      json_integer_value(json_object_get(lines[1], "n")) == -2, "the two early events went out first, without a token");
	CHECK(hook_calls == 1 && hook_addr.a[3] == 7 && ban_token && !strcmp(hook_token, ban_token),
	      "the ban's token went to the ban hook (%d call, %s)", hook_calls, hook_token);

	/* The record behind a token holds the event. */
	char *data = NULL;
	size_t len = 0;
	struct evstore_check chk;
	json_t *rec = NULL;
	if (ban_token && evstore_get(evidence_store(e), ban_token, &data, &len, &chk) == 0)
		rec = json_loadb(data, len, 0, NULL);
	CHECK(rec && chk.state == EVSTORE_INTACT && json_integer_value(json_object_get(rec, "version")) == 1 &&
	      json_integer_value(json_object_get(json_object_get(rec, "event"), "n")) == 7 && json_object_get(rec, "config") &&
	      json_object_get(rec, "host"), "the ban's record: intact, version 1, its event, the config, the host");
	json_decref(rec);
	free(data);
	for (size_t i = 0; i < n; i++)
		json_decref(lines[i]);

	evidence_free(e);
	evidence_free(NULL);
	event_sink_close(events);
	config_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	return tap_done();
}
