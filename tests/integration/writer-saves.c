/* writer-saves - when the real ban writer saves its ban table (state_dir/bans), run against
 * the kernel sets of the namespace it runs in, with evidence tokens coming back from another
 * thread as the evidence thread sends them. For test-writer-saves.sh (issue 12, items 1 to 3).
 * Prints one line per check; exits 1 when one fails.
 *   1. While tokens arrive without pause, every save of state_dir/bans holds each ban once: a
 *      token that moved a ban to the head of the table's list while the writer thread walked it
 *      for a save used to end the walk early (bans lost at the next reboot) or repeat bans.
 *   2. After the wall clock steps back an hour (an NTP correction), a changed table is still
 *      saved within seconds: the writer's timers run on the monotonic clock. This program's
 *      clock_gettime() stands in for the C library's, so no clock of the host is set.
 *   3. A token that arrives after banwriter_stop() (the evidence thread saves the last bans'
 *      records while the writer stops) is in the saved table once the writer is freed.
 * Usage: writer-saves STATE_DIR N (1 <= N <= 4000 bans, in 10.1.0.0/16) */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ban/writer.h"
#include "core/detector.h"
#include "core/log.h"

#define MAX_N 4000

static struct nfs_addr addrs[MAX_N];
static unsigned n_addrs;
static struct banwriter *w;
static atomic_bool hammer_stop;
static atomic_ulong hammered;
static _Atomic int64_t wall_step_s; /* added to CLOCK_REALTIME */

/* The daemon's library is linked into this program, so its calls come here. */
int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (syscall(SYS_clock_gettime, id, ts) < 0)
		return -1;
	if (id == CLOCK_REALTIME)
		ts->tv_sec += atomic_load(&wall_step_s);
	return 0;
}

static void token_of(unsigned i, unsigned round, char out[65])
{
	snprintf(out, 65, "%032x%032x", round, i);
}

/* The evidence thread, sending tokens back as fast as it can. */
static void *hammer(void *arg)
{
	char t[65];
	(void)arg;
	for (unsigned round = 1; !atomic_load(&hammer_stop); round++)
		for (unsigned i = 0; i < n_addrs; i++) {
			token_of(i, round, t);
			banwriter_set_token(w, &addrs[i], t);
			atomic_fetch_add(&hammered, 1);
		}
	return NULL;
}

static int count_cb(const struct ban_entry *e, void *data)
{
	(void)e;
	(*(unsigned *)data)++;
	return 0;
}

static unsigned listed(void)
{
	unsigned n = 0;
	banwriter_list(w, count_cb, &n);
	return n;
}

/* The saved file's lines for 10.1.0.0/16: how many, how many distinct, and the token of the
 * first address. */
static int read_saved(const char *path, unsigned *lines, unsigned *distinct, char tok0[66])
{
	static unsigned char seen[MAX_N];
	char line[512], a[64], tok[66];
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	memset(seen, 0, sizeof(seen));
	*lines = *distinct = 0;
	tok0[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned x, y;
		if (sscanf(line, "%63s %*u %*u %*d %*s %65s", a, tok) != 2 || sscanf(a, "10.1.%u.%u", &x, &y) != 2)
			continue;
		unsigned i = x * 256 + y;
		if (i >= n_addrs)
			continue;
		(*lines)++;
		*distinct += !seen[i];
		seen[i] = 1;
		if (i == 0)
			snprintf(tok0, 66, "%s", tok);
	}
	fclose(f);
	return 0;
}

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int main(int argc, char **argv)
{
	static const uint8_t key[16] = "writer-saves-k";
	struct nfs_config *c = NULL;
	config_new_default(&c);
	struct event_sink *events = NULL;
	struct banq *q = NULL;
	banq_new(&q, MAX_N);
	struct banwriter_restored rs;
	char path[PATH_MAX + 16], late[65], tok0[66];
	unsigned lines, distinct;
	int failed = 0;
	pthread_t th;

	if (argc != 3 || (n_addrs = (unsigned)atoi(argv[2])) < 1 || n_addrs > MAX_N || !c || !q)
		return 2;
	log_set_level(LOG_LVL_ERR);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", argv[1]);
	snprintf(path, sizeof(path), "%s/bans", argv[1]);
	if (event_sink_open(&events, "/dev/null", NULL) < 0 || banwriter_new(&w, c, q, events, key) < 0 ||
	    banwriter_restore(w, &rs) < 0 || banwriter_start(w) < 0) {
		fprintf(stderr, "cannot start the ban writer\n");
		return 1;
	}
	for (unsigned i = 0; i < n_addrs; i++) {
		char s[32];
		snprintf(s, sizeof(s), "10.1.%u.%u", i / 256, i % 256);
		struct ban_request r = { .op = BAN_OP_AUTO, .det = DET_ROOT_SIG };
		if (nfs_addr_parse(s, false, &r.addr) < 0)
			return 2;
		r.host = addrs[i] = r.addr;
		clock_gettime(CLOCK_REALTIME, &r.t_packet);
		if (banq_push(q, &r) < 0)
			return 2;
	}
	int64_t deadline = mono_s() + 60;
	while (listed() < n_addrs && mono_s() < deadline)
		usleep(100000);
	printf("%u of %u bans in the writer's table\n", listed(), n_addrs);
	if (listed() != n_addrs)
		return 1;

	/* 1. Saves while tokens arrive: each save is a new file (renamed in). */
	pthread_create(&th, NULL, hammer, NULL);
	for (int save = 0; save < 3; save++) {
		struct stat st0, st;
		ino_t ino = stat(path, &st0) == 0 ? st0.st_ino : 0;
		deadline = mono_s() + 20;
		while ((stat(path, &st) < 0 || st.st_ino == ino) && mono_s() < deadline)
			usleep(20000);
		if (read_saved(path, &lines, &distinct, tok0) < 0 || st.st_ino == ino) {
			printf("not ok: no save of %s within 20 s\n", path);
			failed = 1;
			break;
		}
		bool ok = lines == n_addrs && distinct == n_addrs;
		printf("%s: a save during %lu tokens holds %u lines, %u distinct bans of %u\n", ok ? "ok" : "not ok",
		       (unsigned long)atomic_load(&hammered), lines, distinct, n_addrs);
		failed |= !ok;
	}
	atomic_store(&hammer_stop, true);
	pthread_join(th, NULL);

	/* 2. The wall clock steps back; a new token changes the table. */
	struct stat st0, st;
	ino_t ino = stat(path, &st0) == 0 ? st0.st_ino : 0;
	atomic_store(&wall_step_s, -3600);
	token_of(1, 0xfffffffeu, late);
	banwriter_set_token(w, &addrs[1], late);
	deadline = mono_s() + 20;
	while ((stat(path, &st) < 0 || st.st_ino == ino) && mono_s() < deadline)
		usleep(20000);
	bool ok = st.st_ino != ino;
	printf("%s: with the wall clock an hour back, the changed table is saved within 20 s\n", ok ? "ok" : "not ok");
	failed |= !ok;

	/* 3. A token after banwriter_stop(), as the evidence thread's for the last bans. */
	banwriter_stop(w);
	token_of(0, 0xffffffffu, late);
	banwriter_set_token(w, &addrs[0], late);
	banwriter_free(w);
	if (read_saved(path, &lines, &distinct, tok0) < 0)
		tok0[0] = 0;
	ok = !strcmp(tok0, late);
	printf("%s: the token sent after banwriter_stop() is saved (%s has %s)\n", ok ? "ok" : "not ok", path,
	       tok0[0] ? tok0 : "no line for 10.1.0.0");
	failed |= !ok;
	event_sink_close(events);
	banq_free(q);
	config_free(c);
	return failed;
}
