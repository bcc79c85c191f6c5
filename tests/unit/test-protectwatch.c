/* test-protectwatch.c - noticing that the resolver file changed (decide/protectwatch.h), in a
 * temporary folder, without root: a file replaced by rename (as resolvconf and NetworkManager
 * do) or rewritten in place is noticed; other files of its folder are not; when it is a
 * symlink, a change of its target in another folder is noticed, and so is the link pointed
 * elsewhere. Inotify events are queued by the time the writing call returns: reading at once is
 * deterministic. Routes are watched through rtnetlink (not faked here: only opened). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "decide/protectwatch.h"
#include "tap.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

int main(void)
{
	char dir[] = "/tmp/nfsentry-protectwatch-XXXXXX", conf[128], tmp[128], other[128], tdir[64], target[128],
		target2[128], cmd[160];
	struct protect_watch *pw = NULL;
	struct pollfd fds[PROTECT_WATCH_FDS];

	log_set_level(LOG_LVL_ERR);
	CHECK(mkdtemp(dir) != NULL, "a folder");
	snprintf(conf, sizeof(conf), "%s/resolv.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s/resolv.conf.new", dir);
	snprintf(other, sizeof(other), "%s/hosts", dir);
	write_file(conf, "nameserver 192.0.2.53\n");

	CHECK(protect_watch_open(&pw, conf, false) == 0 && pw, "watching %s", conf);
	CHECK(protect_watch_fds(pw, fds) == 1 && fds[0].fd >= 0 && fds[0].events == POLLIN, "one descriptor to poll");
	CHECK(!protect_watch_read(pw), "nothing yet");
	write_file(other, "127.0.0.1 localhost\n");
	CHECK(!protect_watch_read(pw), "another file of the folder: no change");
	write_file(tmp, "nameserver 192.0.2.54\n");
	CHECK(rename(tmp, conf) == 0 && protect_watch_read(pw), "replaced by rename: a change");
	CHECK(!protect_watch_read(pw), "read once");
	write_file(conf, "nameserver 192.0.2.55\n");
	CHECK(protect_watch_read(pw), "rewritten in place: a change");
	protect_watch_close(pw);

	/* A symlink to a file elsewhere (systemd-resolved's stub, /run/systemd/resolve/...). */
	snprintf(tdir, sizeof(tdir), "%s/run", dir);
	snprintf(target, sizeof(target), "%s/stub-resolv.conf", tdir);
	snprintf(target2, sizeof(target2), "%s/resolv.conf.alt", tdir);
	CHECK(mkdir(tdir, 0700) == 0, "a second folder");
	write_file(target, "nameserver 127.0.0.53\n");
	write_file(target2, "nameserver 192.0.2.99\n");
	unlink(conf);
	CHECK(symlink(target, conf) == 0 && protect_watch_open(&pw, conf, false) == 0, "watching a symlink");
	CHECK(!protect_watch_read(pw), "nothing yet");
	write_file(target, "nameserver 127.0.0.54\n");
	CHECK(protect_watch_read(pw), "its target rewritten in the other folder: a change");
	write_file(target2, "nameserver 192.0.2.98\n");
	CHECK(!protect_watch_read(pw), "another file of the target's folder: no change");
	snprintf(tmp, sizeof(tmp), "%s/link.new", dir);
	CHECK(symlink(target2, tmp) == 0 && rename(tmp, conf) == 0 && protect_watch_read(pw),
	      "the link pointed elsewhere: a change");
	write_file(target2, "nameserver 192.0.2.97\n");
	CHECK(protect_watch_read(pw), "the new target is watched now");
	write_file(target, "nameserver 127.0.0.55\n");
	CHECK(!protect_watch_read(pw), "the old one no longer matters");
	protect_watch_close(pw);

	/* Routes: a multicast rtnetlink socket (no privilege needed); nothing to read at once is
	 * not asserted, as the host's routes may change under the test. */
	CHECK(protect_watch_open(&pw, NULL, true) == 0 && protect_watch_fds(pw, fds) == 1, "routes: one descriptor");
	protect_watch_close(pw);
	protect_watch_close(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	return tap_done();
}
