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
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!strchr(line, '\n') && !feof(f)) { /* overlong: skip the rest of it */
			int ch;
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			(*bad)++;
			continue;
		}
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
