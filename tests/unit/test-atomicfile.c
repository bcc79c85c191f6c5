/* test-atomicfile.c - replacing a file so that readers see the old one or the new one, never
 * half (core/atomicfile.h): a commit renames a new inode over the path with exactly the mode
 * asked (whatever the umask), an abort leaves the old file and no temporary, a missing folder
 * is an error. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "tap.h"

static unsigned entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;
	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static const char *content(const char *path)
{
	static char buf[64];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/nfsentry-atomicfile-XXXXXX", path[128], other[128];
	struct atomic_file a;
	struct stat before, after;

	CHECK(mkdtemp(dir) != NULL, "a folder");
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(other, sizeof(other), "%s/reader", dir);
	FILE *f = fopen(path, "w");
	fputs("old\n", f);
	fclose(f);
	CHECK(link(path, other) == 0 && stat(path, &before) == 0, "an old file, and a reader holding it");

	/* While written, the path still shows the old file. */
	mode_t um = umask(077);
	CHECK(atomic_file_open(&a, path, 0644) == 0, "open");
	fputs("new\n", a.f);
	CHECK(!strcmp(content(path), "old\n"), "before the commit the path holds the old file");
	CHECK(atomic_file_commit(&a) == 0 && stat(path, &after) == 0, "commit");
	umask(um);
	CHECK(!strcmp(content(path), "new\n") && after.st_ino != before.st_ino && !strcmp(content(other), "old\n"),
	      "after it: the new file, a new inode; the old one untouched");
	CHECK((after.st_mode & 0777) == 0644, "mode 0644 despite umask 077 (%o)", after.st_mode & 0777);
	CHECK_EQ(entries(dir), 2, "no temporary left");

	CHECK(atomic_file_open(&a, path, 0600) == 0, "open again");
	fputs("abandoned\n", a.f);
	atomic_file_abort(&a);
	CHECK(!strcmp(content(path), "new\n") && entries(dir) == 2, "an abort leaves the file as it was, no temporary");

	char missing[160];
	snprintf(missing, sizeof(missing), "%s/no/state", dir);
	CHECK(atomic_file_open(&a, missing, 0600) == -ENOENT, "a missing folder: -ENOENT");
	unlink(path);
	unlink(other);
	rmdir(dir);
	return tap_done();
}
