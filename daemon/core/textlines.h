/* textlines.h - read a state file of short text lines: comments (#) and blank lines skipped,
 * overlong lines skipped and counted, every other line handed to a parser. */
#pragma once

/* Line outcomes a parser returns. */
enum textline_result { TEXTLINE_OK = 0, TEXTLINE_BAD = 1, TEXTLINE_STOP = 2 };

#define TEXTLINE_MAX 255 /* bytes, newline included; longer lines are bad */

/* Calls @parse(line, data) on every line of @path. Lines it calls TEXTLINE_BAD, and overlong
 * ones, are counted in @bad; TEXTLINE_STOP ends the read. Returns the lines parsed OK, 0 for a
 * missing file, or -errno. */
int textlines_read(const char *path, int (*parse)(const char *line, void *data), void *data, unsigned *bad);
