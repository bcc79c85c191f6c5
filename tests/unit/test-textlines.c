/* test-textlines.c - reading a state file of short lines (core/textlines.h): comments and
 * blank lines skipped, overlong lines skipped and counted bad (the rest of such a line is not
 * taken for a line of its own), a parser's BAD counted, STOP ends the read, a missing file is
 * no lines, an unreadable one an error (as a user: root reads anything). */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/textlines.h"
#include "tap.h"

struct seen {
	int n;
	char first[8][16];
};

static int parse(const char *line, void *data)
{
	struct seen *s = data;
	if (s->n < 8)
		snprintf(s->first[s->n], sizeof(s->first[0]), "%.*s", (int)strcspn(line, "\n"), line);
	s->n++;
	if (!strncmp(line, "bad", 3))
		return TEXTLINE_BAD;
	if (!strncmp(line, "stop", 4))
		return TEXTLINE_STOP;
	return TEXTLINE_OK;
}

static int read_text(const char *dir, const char *text, struct seen *s, unsigned *bad)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/state", dir);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	memset(s, 0, sizeof(*s));
	return textlines_read(path, parse, s, bad);
}

int main(void)
{
	char dir[] = "/tmp/nfsentry-textlines-XXXXXX", path[128], text[2048];
	struct seen s;
	unsigned bad = 99;
	int r;

	CHECK(mkdtemp(dir) != NULL, "a folder");
	snprintf(path, sizeof(path), "%s/missing", dir);
	r = textlines_read(path, parse, &s, &bad);
	CHECK(r == 0 && bad == 0, "a missing file: no lines (%d)", r);

	r = read_text(dir, "# header\n\none\nbad line\ntwo\nlast without newline", &s, &bad);
	CHECK(r == 3 && bad == 1 && s.n == 4, "3 parsed, 1 bad, comments and blanks skipped (%d, %u, %d)", r, bad, s.n);
	CHECK(!strcmp(s.first[0], "one") && !strcmp(s.first[2], "two") && !strcmp(s.first[3], "last without ne"),
	      "in order, the last line without its newline too");

	/* Overlong lines: a data line and a comment line of 300 bytes. */
	char longx[301];
	memset(longx, 'x', 300);
	longx[300] = '\0';
	snprintf(text, sizeof(text), "a\n%s\n#%s\nb\n", longx, longx);
	r = read_text(dir, text, &s, &bad);
	CHECK(r == 2 && bad == 1 && s.n == 2 && !strcmp(s.first[0], "a") && !strcmp(s.first[1], "b"),
	      "an overlong line is skipped whole and counted; an overlong comment is a comment (%d, %u, %d)", r, bad, s.n);

	r = read_text(dir, "one\nstop\nnever\n", &s, &bad);
	CHECK(r == 1 && s.n == 2, "STOP ends the read (%d, %d calls)", r, s.n);

	snprintf(path, sizeof(path), "%s/state", dir);
	if (geteuid() != 0) { /* root reads anything */
		chmod(path, 0);
		r = textlines_read(path, parse, &s, &bad);
		CHECK(r == -EACCES, "an unreadable file: -EACCES (%d)", r);
	}
	unlink(path);
	rmdir(dir);
	return tap_done();
}
