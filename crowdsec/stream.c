/* stream.c - the decision stream's JSON, read with jansson and checked field by field. */
#include "stream.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "godur.h"

enum { DEC_OK, DEC_TYPE, DEC_SCOPE, DEC_INVALID, DEC_EXPIRED };

/* One element of "new" or "deleted" into @d. A deleted decision's duration is not needed
 * (it may well be negative: expired ones are reported as deleted). */
static int decision_read(json_t *o, bool added, struct cs_decision *d)
{
	json_t *id = json_object_get(o, "id");
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *scope = json_string_value(json_object_get(o, "scope"));
	const char *value = json_string_value(json_object_get(o, "value"));
	const char *dur = json_string_value(json_object_get(o, "duration"));
	bool range;

	if (!json_is_object(o) || !json_is_integer(id) || !type || !scope || !value)
		return DEC_INVALID;
	if (strcasecmp(type, "ban"))
		return DEC_TYPE;
	if (!strcasecmp(scope, "ip"))
		range = false;
	else if (!strcasecmp(scope, "range"))
		range = true;
	else
		return DEC_SCOPE;
	/* An Ip is a host, never a prefix; a Range is a prefix whose host bits the fleet may have
	 * left set (cleared: the prefix is what the decision names). */
	if ((!range && strchr(value, '/')) || (range && !strchr(value, '/')) ||
	    nfs_addr_parse(value, range, &d->addr) < 0)
		return DEC_INVALID;
	d->id = json_integer_value(id);
	const char *origin = json_string_value(json_object_get(o, "origin"));
	d->nfsentry = origin && !strcmp(origin, "nfsentry");
	d->ms = 0;
	if (added) {
		if (!dur || godur_parse_ms(dur, &d->ms) < 0)
			return DEC_INVALID;
		if (d->ms <= 0)
			return DEC_EXPIRED;
	}
	return DEC_OK;
}

/* The body is read one decision at a time: the top-level object and its two arrays by hand,
 * each element by jansson on its own bytes. A whole-body json_loadb() would hold a tree of
 * every decision at once (about 1.5 KB each: 150 MB for 100,000), and a hostile LAPI could
 * send a body of tiny nested values whose tree is twenty times the bytes. Here the memory is
 * the body (bounded by the caller) and one element. */

static size_t skip_ws(const char *p, size_t i, size_t n)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i;
}

/* The end of the JSON value at p[0..n): past its closing bracket or quote, or at the first
 * byte that cannot belong to a scalar. 0 when it runs past @n (cut short). jansson checks
 * the value itself afterwards; this only finds where it ends. */
static size_t value_end(const char *p, size_t n)
{
	size_t depth = 0;
	bool str = false;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"') {
				str = false;
				if (!depth)
					return i + 1;
			}
		} else if (c == '"')
			str = true;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			if (!depth)
				return i; /* a scalar ends at its container's end */
			if (!--depth)
				return i + 1;
		} else if (!depth && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':'))
			return i;
	}
	return depth || str ? 0 : n;
}

/* One value of p[*i..n) into a new jansson value (caller frees), *i moved past it; NULL when
 * it is not JSON. */
static json_t *value_load(const char *p, size_t *i, size_t n)
{
	size_t len = value_end(p + *i, n - *i);
	json_t *v = len ? json_loadb(p + *i, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL) : NULL;

	if (v)
		*i += len;
	return v;
}

/* The array (or null) at p[*i..n), element by element. */
static int list_read(const char *p, size_t *i, size_t n, bool added, size_t max, struct cs_stream *s)
{
	struct cs_decision **list = added ? &s->added : &s->deleted;
	size_t *count = added ? &s->n_added : &s->n_deleted, cap = 0;

	if (n - *i >= 4 && !memcmp(p + *i, "null", 4)) {
		*i += 4;
		return 0;
	}
	if (*i >= n || p[*i] != '[')
		return -EINVAL;
	*i = skip_ws(p, *i + 1, n);
	if (*i < n && p[*i] == ']') {
		(*i)++;
		return 0;
	}
	for (;;) {
		json_t *o = value_load(p, i, n);
		if (!o)
			return -EINVAL;
		struct cs_decision d;
		switch (*count >= max ? -1 : decision_read(o, added, &d)) {
		case -1: s->over++; break;
		case DEC_OK:
			if (*count == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct cs_decision *nl = realloc(*list, (ncap < max ? ncap : max) * sizeof(**list));
				if (!nl) {
					json_decref(o);
					return -ENOMEM;
				}
				*list = nl;
				cap = ncap < max ? ncap : max;
			}
			(*list)[(*count)++] = d;
			break;
		case DEC_TYPE: s->other_type++; break;
		case DEC_SCOPE: s->other_scope++; break;
		case DEC_EXPIRED: s->expired++; break;
		default: s->invalid++; break;
		}
		json_decref(o);
		*i = skip_ws(p, *i, n);
		if (*i < n && p[*i] == ',') {
			*i = skip_ws(p, *i + 1, n);
			continue;
		}
		if (*i < n && p[*i] == ']') {
			(*i)++;
			return 0;
		}
		return -EINVAL;
	}
}

int cs_stream_parse(const char *body, size_t len, size_t max, struct cs_stream *out, char *err, size_t errlen)
{
	struct cs_stream s = { 0 };
	bool seen_new = false, seen_deleted = false;
	size_t i = skip_ws(body, 0, len);
	int r = -EINVAL;

	if (i >= len || body[i] != '{')
		goto bad;
	i = skip_ws(body, i + 1, len);
	if (i < len && body[i] == '}')
		i++;
	else
		for (;;) {
			json_t *key = value_load(body, &i, len);
			const char *k = json_string_value(key);
			bool is_new = k && !strcmp(k, "new"), is_deleted = k && !strcmp(k, "deleted");
			if (!k || (is_new && seen_new) || (is_deleted && seen_deleted)) {
				json_decref(key);
				goto bad;
			}
			json_decref(key);
			i = skip_ws(body, i, len);
			if (i >= len || body[i] != ':')
				goto bad;
			i = skip_ws(body, i + 1, len);
			if (is_new || is_deleted) {
				seen_new |= is_new;
				seen_deleted |= is_deleted;
				if ((r = list_read(body, &i, len, is_new, max, &s)) < 0)
					goto bad;
			} else {
				json_t *other = value_load(body, &i, len); /* a newer LAPI's key: checked, ignored */
				if (!other)
					goto bad;
				json_decref(other);
			}
			i = skip_ws(body, i, len);
			if (i < len && body[i] == ',') {
				i = skip_ws(body, i + 1, len);
				continue;
			}
			if (i < len && body[i] == '}') {
				i++;
				break;
			}
			goto bad;
		}
	if (skip_ws(body, i, len) != len)
		goto bad;
	*out = s;
	return 0;
bad:
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else {
		r = -EINVAL;
		snprintf(err, errlen, "not a decision stream at byte %zu: expected {\"new\":[...],\"deleted\":[...]}", i);
	}
	cs_stream_free(&s);
	return r;
}

void cs_stream_free(struct cs_stream *s)
{
	free(s->added);
	free(s->deleted);
	s->added = s->deleted = NULL;
	s->n_added = s->n_deleted = 0;
}
