/* test-prom.c - the Prometheus text format built in memory (core/prom.h): # HELP and # TYPE
 * lines, samples with and without labels, integers whole and reals with six decimals, written
 * atomically on commit; an abort writes nothing. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/prom.h"
#include "tap.h"

static const char *content(const char *path)
{
	static char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return f ? buf : "(none)";
}

int main(void)
{
	char dir[] = "/tmp/nfsentry-prom-XXXXXX", path[128];
	struct prom p;
	struct stat st;

	CHECK(mkdtemp(dir) != NULL, "a folder");
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	CHECK(prom_begin(&p) == 0, "begin");
	prom_family(&p, "x_total", "counter", "Things counted.");
	prom_sample(&p, "x_total", "queue=\"0\"", 18446744073709551615ULL);
	prom_sample(&p, "x_total", NULL, 0);
	prom_single(&p, "y", "gauge", "A level.", 7);
	prom_family(&p, "z_seconds", "histogram", "Times.");
	prom_sample_real(&p, "z_seconds_sum", "le=\"+Inf\"", 0.0000125);
	prom_sample_real(&p, "z_seconds_sum", NULL, 2.5);
	CHECK(prom_commit(&p, path) == 0, "commit");
	const char *want = "# HELP x_total Things counted.\n# TYPE x_total counter\n"
			   "x_total{queue=\"0\"} 18446744073709551615\nx_total 0\n"
			   "# HELP y A level.\n# TYPE y gauge\ny 7\n"
			   "# HELP z_seconds Times.\n# TYPE z_seconds histogram\n"
			   "z_seconds_sum{le=\"+Inf\"} 0.000013\nz_seconds_sum 2.500000\n";
	const char *got = content(path);
	CHECK(!strcmp(got, want), "the text:\n%s", got);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "world-readable, for node_exporter (%o)",
	      st.st_mode & 0777);

	CHECK(prom_begin(&p) == 0, "begin again");
	prom_single(&p, "w", "gauge", "Never written.", 1);
	prom_abort(&p);
	CHECK(!strcmp(content(path), want), "an abort writes nothing");

	char missing[160];
	snprintf(missing, sizeof(missing), "%s/no/m.prom", dir);
	CHECK(prom_begin(&p) == 0 && prom_commit(&p, missing) == -ENOENT, "a missing folder: -ENOENT");
	unlink(path);
	rmdir(dir);
	return tap_done();
}
