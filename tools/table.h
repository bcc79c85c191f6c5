/* table.h - the daemon's answers as text: one value as a cell, and rows of cells printed in
 * columns as wide as their widest cell (bans, sources, flows). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TABLE_COLS 8
#define CELL_MAX 160

/* Copies @s into @dst (@len bytes, NUL-terminated), control characters as '?': the server is
 * trusted, but a terminal is not the place for its control characters. */
void fmt_printable(char *dst, size_t len, const char *s);
/* True with *@out set if member @key of @obj is a nonnegative integer. */
bool fmt_get_u64(json_t *obj, const char *key, uint64_t *out);
/* A cell of text: a string as is, a number in decimal, a boolean as yes/no, else "-". */
void fmt_value(char *buf, size_t len, json_t *v);
/* Member @key of @obj, seconds, as "1h30m" and @suffix (NULL: none); "-" if not a number. */
void fmt_duration(char *buf, size_t len, json_t *obj, const char *key, const char *suffix);
/* "192.0.2.1:80", "[2001:db8::1]:80". */
void fmt_endpoint(char *buf, size_t len, json_t *obj, const char *addr_key, const char *port_key);

/* Rows of text cells printed in columns as wide as their widest cell. The caller sets ncols,
 * head and right; the rows are the table's, freed by table_free(). */
struct table {
	size_t ncols, nrows, cap;
	const char *head[TABLE_COLS];
	bool right[TABLE_COLS];  /* numbers align right */
	char (*cells)[TABLE_COLS][CELL_MAX];
};

/* The cell of @row, @col: CELL_MAX bytes to write into. */
char *table_cell(struct table *t, size_t row, size_t col);
/* Returns the new row's index (its cells empty), or -ENOMEM. */
int table_add_row(struct table *t);
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);
/* Fills @t from the array @key of @ans, one row per object in it, with @fill, and prints it
 * on stdout, or @none when it has no rows. Frees @t's rows. Returns 0, or EXIT_FAILED after
 * saying why (no such array, out of memory). */
int table_print_list(json_t *ans, const char *key, struct table *t, const char *none,
		     void (*fill)(struct table *t, size_t row, json_t *e));
