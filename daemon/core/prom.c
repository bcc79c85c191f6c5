/* prom.c - see prom.h. */
#include "core/prom.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int prom_begin(struct prom *p)
{
	memset(p, 0, sizeof(*p));
	p->f = open_memstream(&p->buf, &p->len);
	return p->f ? 0 : -ENOMEM;
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
	fprintf(p->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(struct prom *p, const char *name, const char *labels, uint64_t value)
{
	if (labels)
		fprintf(p->f, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
	else
		fprintf(p->f, "%s %llu\n", name, (unsigned long long)value);
}

void prom_abort(struct prom *p)
{
	if (p->f)
		fclose(p->f);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

int prom_commit(struct prom *p, const char *path)
{
	char tmp[4096];
	int fd, r = 0;

	if (fclose(p->f) != 0) {
		p->f = NULL;
		prom_abort(p);
		return -ENOMEM;
	}
	p->f = NULL;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		prom_abort(p);
		return -ENAMETOOLONG;
	}
	/* World-readable: node_exporter runs as its own user; the numbers are not secret. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		prom_abort(p);
		return r;
	}
	if (write(fd, p->buf, p->len) != (ssize_t)p->len)
		r = -EIO;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	prom_abort(p);
	return r;
}
