/* atomicfile.c - see atomicfile.h. */
#include "core/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

int atomic_file_open(struct atomic_file *a, const char *path, mode_t mode)
{
	int r;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	if (snprintf(a->tmp, sizeof(a->tmp), "%s.tmp", path) >= (int)sizeof(a->tmp) ||
	    snprintf(a->path, sizeof(a->path), "%s", path) >= (int)sizeof(a->path))
		return -ENAMETOOLONG;
	a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (a->fd < 0)
		return -errno;
	/* open(2)'s mode is cut by the umask; the file must have exactly @mode. */
	(void)fchmod(a->fd, mode);
	a->f = fdopen(a->fd, "w");
	if (!a->f) {
		r = -errno;
		close(a->fd);
		unlink(a->tmp);
		return r;
	}
	return 0;
}

int atomic_file_commit(struct atomic_file *a)
{
	int r = 0;

	if (fflush(a->f) != 0 || fsync(a->fd) != 0)
		r = -errno;
	if (fclose(a->f) != 0 && r == 0)
		r = -errno;
	a->f = NULL;
	if (r == 0 && rename(a->tmp, a->path) != 0)
		r = -errno;
	if (r < 0)
		unlink(a->tmp);
	return r;
}

void atomic_file_abort(struct atomic_file *a)
{
	if (a->f)
		fclose(a->f);
	a->f = NULL;
	unlink(a->tmp);
}
