/* test-config.c - golden files: good configs dump to a known text; bad ones fail with a known
 * "FILE:LINE: what" message; odd but valid ones load with known "FILE:LINE: what" warnings
 * (config-warn/NAME.warn, one per line). Files live in tests/golden/. */
#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "tap.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	static char buf[16384];
	size_t n;
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void golden_dump(const char *conf, const char *dump)
{
	struct nfs_config *c = NULL;
	char err[1024], out[16384] = "";
	int r = config_load(&c, conf, err, sizeof(err));
	CHECK(r == 0, "%s loads (%s)", conf, r ? err : "ok");
	if (r)
		return;
	CHECK(!c->warnings[0], "%s loads without warnings (%s)", conf, c->warnings);
	FILE *f = fmemopen(out, sizeof(out), "w");
	config_dump(c, f);
	fclose(f);
	const char *want = slurp(dump);
	CHECK(want && !strcmp(out, want), "%s dumps as %s%s%s", conf, dump, want && strcmp(out, want) ? ", got:\n" : "",
	      want && strcmp(out, want) ? out : "");
	/* The dump is itself a valid config with the same meaning. */
	char tmp[] = "/tmp/nfsentry-dump-XXXXXX";
	int fd = mkstemp(tmp);
	(void)!write(fd, out, strlen(out));
	close(fd);
	struct nfs_config *c2 = NULL;
	char out2[16384] = "";
	CHECK(config_load(&c2, tmp, err, sizeof(err)) == 0, "dump of %s reloads", conf);
	if (c2) {
		f = fmemopen(out2, sizeof(out2), "w");
		config_dump(c2, f);
		fclose(f);
		CHECK(!strcmp(out, out2), "dump of %s is a fixed point", conf);
	}
	unlink(tmp);
	config_free(c);
	config_free(c2);
}

int main(void)
{
	golden_dump("etc/nfsentry.conf", "tests/golden/config/defaults.dump");
	golden_dump("tests/golden/config/full.conf", "tests/golden/config/full.dump");
	golden_dump("tests/golden/config/long-allow.conf", "tests/golden/config/long-allow.dump");
	golden_dump("tests/golden/config/trailing-comma.conf", "tests/golden/config/trailing-comma.dump");

	struct nfs_config *d = NULL;
	config_new_default(&d);
	CHECK(d && d->threshold == 10 && d->window == 300 && d->duration == 600 && d->queues == 2 && d->ipv6_prefix == 64 &&
	      d->allow.n == 2 && !d->verdict_accept && !strcmp(d->state_dir, "/var/lib/nfsentry"), "defaults");
	config_free(d);

	char err[1024];
	struct nfs_config *c = NULL;
	CHECK(config_load(&c, "/nonexistent/nfsentry.conf", err, sizeof(err)) == -ENOENT &&
	      !strcmp(err, "/nonexistent/nfsentry.conf:0: cannot open: No such file or directory"), "missing file: %s", err);

	/* [evidence] dir follows [daemon] state_dir unless set; set, even empty, it is kept. */
	static const struct { const char *text, *want; } ev[] = {
		{ "[daemon]\nstate_dir = /srv/x\n", "/srv/x/evidence" },
		{ "[evidence]\ndir = /srv/records\n[daemon]\nstate_dir = /srv/x\n", "/srv/records" },
		{ "[daemon]\nstate_dir = /srv/x\n[evidence]\ndir =\n", "" },
		{ "[scan]\nthreshold = 10\n", "/var/lib/nfsentry/evidence" },
	};
	char evpath[] = "/tmp/test-config.XXXXXX";
	int evfd = mkstemp(evpath);
	CHECK(evfd >= 0, "a temporary config");
	close(evfd);
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		FILE *f = fopen(evpath, "w");
		fputs(ev[i].text, f);
		fclose(f);
		CHECK(config_load(&c, evpath, err, sizeof(err)) == 0 && !strcmp(c->evidence_dir, ev[i].want),
		      "evidence dir %zu: \"%s\"", i, c ? c->evidence_dir : err);
		config_free(c);
		c = NULL;
	}
	unlink(evpath);

	if (chdir("tests/golden/config-warn") < 0) {
		printf("Bail out! tests/golden/config-warn\n");
		return 1;
	}
	DIR *dir = opendir(".");
	struct dirent *de;
	int n = 0;
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".conf"))
			continue;
		char warnpath[512], want[1024];
		snprintf(warnpath, sizeof(warnpath), "%.*s.warn", (int)(len - 5), de->d_name);
		const char *w = slurp(warnpath);
		snprintf(want, sizeof(want), "%.1000s", w ? w : "(missing .warn file)");
		size_t wl = strlen(want);
		if (wl && want[wl - 1] == '\n')
			want[wl - 1] = '\0'; /* the file ends its last line */
		int r = config_load(&c, de->d_name, err, sizeof(err));
		CHECK(r == 0 && !strcmp(c->warnings, want), "%s: %s", de->d_name, r < 0 ? err : c->warnings);
		if (r == 0)
			config_free(c);
		n++;
	}
	closedir(dir);
	CHECK(n >= 2, "%d configs with warnings checked", n);

	if (chdir("../config-bad") < 0) {
		printf("Bail out! tests/golden/config-bad\n");
		return 1;
	}
	dir = opendir(".");
	n = 0;
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".conf"))
			continue;
		char errpath[512];
		snprintf(errpath, sizeof(errpath), "%.*s.err", (int)(len - 5), de->d_name);
		char want[1024];
		const char *w = slurp(errpath);
		snprintf(want, sizeof(want), "%.1000s", w ? w : "(missing .err file)");
		want[strcspn(want, "\n")] = '\0';
		int r = config_load(&c, de->d_name, err, sizeof(err));
		CHECK(r < 0 && !strcmp(err, want), "%s: %s", de->d_name, r < 0 ? err : "accepted");
		n++;
	}
	closedir(dir);
	CHECK(n >= 15, "%d bad configs checked", n);
	/* The error contract (docs/hacking.md): -errno, not -1. */
	enum log_level lvl = LOG_LVL_INFO;
	CHECK(log_level_parse("loud", &lvl) == -EINVAL && lvl == LOG_LVL_INFO, "unknown level: -EINVAL, level kept");
	CHECK(log_level_parse("debug", &lvl) == 0 && lvl == LOG_LVL_DEBUG, "debug");
	return tap_done();
}
