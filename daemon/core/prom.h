/* prom.h - Prometheus text exposition format (what node_exporter's textfile collector
 * reads), built in memory and written atomically so a reader never sees half a file. */
#pragma once

#include <stdint.h>
#include <stdio.h>

struct prom {
	FILE *f;
	char *buf;
	size_t len;
};

/* Returns 0 or -ENOMEM. */
int prom_begin(struct prom *p);
/* The # HELP and # TYPE lines of metric @name (type "counter", "gauge" or "histogram"). */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);
/* One sample; @labels is the inside of {...} (e.g. "queue=\"0\"") or NULL. */
void prom_sample(struct prom *p, const char *name, const char *labels, uint64_t value);
void prom_sample_real(struct prom *p, const char *name, const char *labels, double value);
/* A family with one unlabelled sample: prom_family() then prom_sample(). */
void prom_single(struct prom *p, const char *name, const char *type, const char *help, uint64_t value);
/* Writes what was built to @path (temporary file, rename) and frees it. Returns 0 or -errno. */
int prom_commit(struct prom *p, const char *path);
/* Frees what was built without writing it. */
void prom_abort(struct prom *p);
