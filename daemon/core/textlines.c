/* textlines.c - see textlines.h. */
#include "core/textlines.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int textlines_read(const char *path, int (*parse)(const char *line, void *data), void *data, unsigned *bad)
{
	FILE *f = fopen(path, "re");
	char line[TEXTLINE_MAX + 1];
	int ok = 0;

	*bad = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		/* Overlong: skip the rest of it first, or its rest would be read as a line of its
		 * own. A comment stays a comment, whatever its length. */
		if (!strchr(line, '\n') && !feof(f)) {
			int ch;
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			if (line[0] != '#')
				(*bad)++;
			continue;
		}
		if (line[0] == '#' || line[0] == '\n')
			continue;
		int r = parse(line, data);
		if (r == TEXTLINE_STOP)
			break;
		if (r == TEXTLINE_BAD)
			(*bad)++;
		else
			ok++;
	}
	fclose(f);
	return ok;
}
