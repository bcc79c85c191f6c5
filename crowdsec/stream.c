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
	d->ms = 0;
	if (added) {
		if (!dur || godur_parse_ms(dur, &d->ms) < 0)
			return DEC_INVALID;
		if (d->ms <= 0)
			return DEC_EXPIRED;
	}
	return DEC_OK;
}

static int list_read(json_t *arr, bool added, size_t max, struct cs_stream *s)
{
	struct cs_decision **list = added ? &s->added : &s->deleted;
	size_t *n = added ? &s->n_added : &s->n_deleted;
	size_t i, count = json_array_size(arr);
	json_t *o;

	if (!count)
		return 0;
	*list = calloc(count < max ? count : max, sizeof(**list));
	if (!*list)
		return -ENOMEM;
	json_array_foreach(arr, i, o) {
		if (*n >= max) {
			s->over += count - i;
			break;
		}
		switch (decision_read(o, added, &(*list)[*n])) {
		case DEC_OK: (*n)++; break;
		case DEC_TYPE: s->other_type++; break;
		case DEC_SCOPE: s->other_scope++; break;
		case DEC_EXPIRED: s->expired++; break;
		default: s->invalid++; break;
		}
	}
	return 0;
}

int cs_stream_parse(const char *body, size_t len, size_t max, struct cs_stream *out, char *err, size_t errlen)
{
	struct cs_stream s = { 0 };
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	int r = 0;

	if (!root) {
		snprintf(err, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
		return -EINVAL;
	}
	json_t *added = json_object_get(root, "new"), *deleted = json_object_get(root, "deleted");
	if (!json_is_object(root) || (added && !json_is_null(added) && !json_is_array(added)) ||
	    (deleted && !json_is_null(deleted) && !json_is_array(deleted))) {
		snprintf(err, errlen, "not a decision stream: expected {\"new\":[...],\"deleted\":[...]}");
		r = -EINVAL;
		goto done;
	}
	if ((r = list_read(added, true, max, &s)) < 0 || (r = list_read(deleted, false, max, &s)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	*out = s;
	s = (struct cs_stream){ 0 };
done:
	cs_stream_free(&s);
	json_decref(root);
	return r;
}

void cs_stream_free(struct cs_stream *s)
{
	free(s->added);
	free(s->deleted);
	s->added = s->deleted = NULL;
	s->n_added = s->n_deleted = 0;
}
