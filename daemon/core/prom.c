/* prom.c - see prom.h. */
#include "core/prom.h"
#include "core/atomicfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

void prom_sample_real(struct prom *p, const char *name, const char *labels, double value)
{
	if (labels)
		fprintf(p->f, "%s{%s} %.6f\n", name, labels, value);
	else
		fprintf(p->f, "%s %.6f\n", name, value);
}

void prom_single(struct prom *p, const char *name, const char *type, const char *help, uint64_t value)
{
	prom_family(p, name, type, help);
	prom_sample(p, name, NULL, value);
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
	struct atomic_file af;
	int r;

	if (fclose(p->f) != 0) {
		p->f = NULL;
		prom_abort(p);
		return -ENOMEM;
	}
	p->f = NULL;
	/* World-readable: node_exporter runs as its own user; the numbers are not secret. */
	r = atomic_file_open(&af, path, 0644);
	if (r == 0) {
		if (fwrite(p->buf, 1, p->len, af.f) != p->len) {
			atomic_file_abort(&af);
			r = -EIO;
		} else {
			r = atomic_file_commit(&af);
		}
	}
	prom_abort(p);
	return r;
}
