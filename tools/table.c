/* table.c - see table.h. */
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "ctl.h"

void fmt_printable(char *dst, size_t len, const char *s)
{
	size_t i = 0;

	for (; *s && i + 1 < len; s++)
		dst[i++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	dst[i] = '\0';
}

bool fmt_get_u64(json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	return false;
}

void fmt_value(char *buf, size_t len, json_t *v)
{
	if (json_is_string(v))
		fmt_printable(buf, len, json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, len, "-");
}

void fmt_duration(char *buf, size_t len, json_t *obj, const char *key, const char *suffix)
{
	uint64_t s;

	if (!fmt_get_u64(obj, key, &s)) {
		snprintf(buf, len, "-");
		return;
	}
	duration_format(s, buf, len);
	if (suffix)
		strncat(buf, suffix, len - strlen(buf) - 1);
}

void fmt_endpoint(char *buf, size_t len, json_t *obj, const char *addr_key, const char *port_key)
{
	char a[128], p[32];

	fmt_value(a, sizeof(a), json_object_get(obj, addr_key));
	fmt_value(p, sizeof(p), json_object_get(obj, port_key));
	snprintf(buf, len, strchr(a, ':') ? "[%s]:%s" : "%s:%s", a, p);
}

char *table_cell(struct table *t, size_t row, size_t col)
{
	return t->cells[row][col];
}

int table_add_row(struct table *t)
{
	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;
		void *n = realloc(t->cells, ncap * sizeof(*t->cells));
		if (!n)
			return -ENOMEM;
		t->cells = n;
		t->cap = ncap;
	}
	memset(t->cells[t->nrows], 0, sizeof(*t->cells));
	return (int)t->nrows++;
}

void table_print(const struct table *t, FILE *f)
{
	size_t w[TABLE_COLS];

	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++)
			if (strlen(t->cells[r][c]) > w[c])
				w[c] = strlen(t->cells[r][c]);
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r ? t->cells[r - 1][c] : t->head[c];
			bool last = c + 1 == t->ncols;
			if (t->right[c])
				fprintf(f, "%*s%s", (int)w[c], s, last ? "" : "  ");
			else
				fprintf(f, "%-*s%s", last ? 0 : (int)w[c], s, last ? "" : "  ");
		}
		fputc('\n', f);
	}
}

void table_free(struct table *t)
{
	free(t->cells);
}

int table_print_list(json_t *ans, const char *key, struct table *t, const char *none,
		      void (*fill)(struct table *t, size_t row, json_t *e))
{
	json_t *list = json_object_get(ans, key), *e;
	size_t i;

	if (!json_is_array(list)) {
		fprintf(stderr, "%s: malformed answer from nfsentry: no \"%s\" list\n", CTL_PROG, key);
		return EXIT_FAILED;
	}
	json_array_foreach(list, i, e) {
		int row;
		if (!json_is_object(e))
			continue;
		row = table_add_row(t);
		if (row < 0) {
			fprintf(stderr, "%s: out of memory\n", CTL_PROG);
			table_free(t);
			return EXIT_FAILED;
		}
		fill(t, (size_t)row, e);
	}
	if (t->nrows)
		table_print(t, stdout);
	else
		printf("%s\n", none);
	table_free(t);
	return 0;
}
