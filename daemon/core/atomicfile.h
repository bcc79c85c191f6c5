/* atomicfile.h - replace a file so that readers see the old one or the new one, never half:
 * write a temporary file beside it, fsync, rename over it. */
#pragma once

#include <stdio.h>
#include <sys/types.h>

struct atomic_file {
	FILE *f;            /* write here between open and commit */
	int fd;
	char tmp[4096];
	char path[4096];
};

/* Creates @path's temporary file with @mode. Returns 0 or -errno. */
int atomic_file_open(struct atomic_file *a, const char *path, mode_t mode);
/* Flushes, fsyncs and renames it over @path. Returns 0 or -errno (the temporary is removed). */
int atomic_file_commit(struct atomic_file *a);
/* Gives up: closes and removes the temporary. */
void atomic_file_abort(struct atomic_file *a);
