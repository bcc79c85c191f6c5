/* config.c - crowdsec.conf through libinih and one key table, like the daemon's config.c. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "core/duration.h"

enum cs_key_type { CK_PATH, CK_OPTPATH, CK_UINT, CK_DURATION, CK_BOOL, CK_LOGLEVEL, CK_URL };

struct cs_key {
	const char *section, *name;
	enum cs_key_type type;
	size_t off, size;
	uint64_t min, max;
	const char *defval;
};

#define F(f) offsetof(struct cs_config, f), sizeof(((struct cs_config *)0)->f)
static const struct cs_key keys[] = {
	{ "lapi", "url", CK_URL, F(url), 0, 0, "http://127.0.0.1:8080" },
	{ "lapi", "ca_file", CK_OPTPATH, F(ca_file), 0, 0, "" },
	{ "lapi", "cert_file", CK_OPTPATH, F(cert_file), 0, 0, "" },
	{ "lapi", "key_file", CK_OPTPATH, F(key_file), 0, 0, "" },
	{ "lapi", "credentials", CK_PATH, F(credentials), 0, 0, NFSENTRY_SYSCONFDIR "/crowdsec.credentials" },
	{ "lapi", "timeout", CK_DURATION, F(timeout), 1, 300, "10s" },
	{ "publish", "enabled", CK_BOOL, F(publish), 0, 0, "yes" },
	{ "publish", "batch", CK_DURATION, F(batch), 0, 60, "1s" },
	{ "publish", "max_alerts", CK_UINT, F(max_alerts), 1, 1000, "100" },
	{ "publish", "queue_max", CK_UINT, F(queue_max), 1, 1000000, "10000" },
	{ "apply", "enabled", CK_BOOL, F(apply), 0, 0, "yes" },
	{ "apply", "update_frequency", CK_DURATION, F(update_frequency), 1, 3600, "10s" },
	{ "apply", "max_decisions", CK_UINT, F(max_decisions), 1, 10000000, "200000" },
	{ "daemon", "control_socket", CK_PATH, F(control_socket), 0, 0, NFSENTRY_CONTROL_SOCKET },
	{ "daemon", "state_dir", CK_PATH, F(state_dir), 0, 0, "/var/lib/nfsentry-crowdsec" },
	{ "daemon", "log_level", CK_LOGLEVEL, F(log_level), 0, 0, "info" },
};

static int key_set(struct cs_config *c, const struct cs_key *k, const char *v, char *err, size_t errlen)
{
	char *p = (char *)c + k->off;
	uint64_t u;
	char *end;

	switch (k->type) {
	case CK_URL:
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
			snprintf(err, errlen, "%s: \"%s\" is not an http:// or https:// URL", k->name, v);
			return -EINVAL;
		}
		/* fall through */
	case CK_PATH:
	case CK_OPTPATH:
		if (k->type == CK_PATH && !*v) {
			snprintf(err, errlen, "%s: must not be empty", k->name);
			return -EINVAL;
		}
		if (strlen(v) >= k->size) {
			snprintf(err, errlen, "%s: longer than %zu bytes", k->name, k->size - 1);
			return -EINVAL;
		}
		snprintf(p, k->size, "%s", v);
		if (k->type == CK_URL) {
			size_t n = strlen(p);
			while (n > 0 && p[n - 1] == '/')
				p[--n] = '\0';
		}
		return 0;
	case CK_UINT:
		errno = 0;
		u = strtoull(v, &end, 10);
		if (!*v || *end || errno || *v == '-' || u < k->min || u > k->max) {
			snprintf(err, errlen, "%s: expected a number from %llu to %llu, got \"%s\"", k->name,
				 (unsigned long long)k->min, (unsigned long long)k->max, v);
			return -EINVAL;
		}
		*(uint64_t *)p = u;
		return 0;
	case CK_DURATION:
		if (duration_parse(v, &u) < 0 || u < k->min || u > k->max) {
			snprintf(err, errlen, "%s: expected a duration from %llus to %llus, got \"%s\"", k->name,
				 (unsigned long long)k->min, (unsigned long long)k->max, v);
			return -EINVAL;
		}
		*(uint64_t *)p = u;
		return 0;
	case CK_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
			*(bool *)p = true;
		else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
			*(bool *)p = false;
		else {
			snprintf(err, errlen, "%s: expected yes or no, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		return 0;
	case CK_LOGLEVEL:
		if (log_level_parse(v, (enum log_level *)p) < 0) {
			snprintf(err, errlen, "%s: expected error, warning, notice, info or debug, got \"%s\"", k->name, v);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

void cs_config_defaults(struct cs_config *c)
{
	char err[64];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (key_set(c, &keys[i], keys[i].defval, err, sizeof(err)) < 0)
			abort(); /* a default that does not parse is a bug of this table */
}

struct parse_state {
	struct cs_config *c;
	const char *name;
	char *err;
	size_t errlen;
	int line, rc;
	const char *text; /* the rest of the text, fed line by line */
};

/* libinih does not say on which line a value was: we feed it lines and count them. */
static char *read_line(char *buf, int size, void *arg)
{
	struct parse_state *st = arg;
	const char *nl;
	size_t n;

	if (!*st->text)
		return NULL;
	nl = strchr(st->text, '\n');
	n = nl ? (size_t)(nl - st->text) + 1 : strlen(st->text);
	if (n >= (size_t)size)
		n = (size_t)size - 1; /* libinih reads the rest of a long line as the next one: an error below */
	memcpy(buf, st->text, n);
	buf[n] = '\0';
	st->text += n;
	st->line++;
	return buf;
}

static int on_value(void *arg, const char *section, const char *name, const char *value)
{
	struct parse_state *st = arg;
	char why[512];

	if (st->rc)
		return 0;
	if (!name) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(keys[i].section, section))
				return 1;
		snprintf(st->err, st->errlen, "%s:%d: unknown section [%s]", st->name, st->line, section);
		st->rc = -EINVAL;
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) || strcmp(keys[i].name, name))
			continue;
		if (key_set(st->c, &keys[i], value, why, sizeof(why)) < 0) {
			snprintf(st->err, st->errlen, "%s:%d: %s", st->name, st->line, why);
			st->rc = -EINVAL;
			return 0;
		}
		return 1;
	}
	bool known = false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		known |= !strcmp(keys[i].section, section);
	if (!known)
		snprintf(st->err, st->errlen, "%s:%d: unknown section [%s]", st->name, st->line, section);
	else
		snprintf(st->err, st->errlen, "%s:%d: unknown key \"%s\" in [%s]", st->name, st->line, name, section);
	st->rc = -EINVAL;
	return 0;
}

int cs_config_parse(struct cs_config *c, const char *text, const char *name, char *err, size_t errlen)
{
	struct parse_state st = { .c = c, .name = name, .err = err, .errlen = errlen, .text = text };
	int r = ini_parse_stream(read_line, &st, on_value, &st);

	if (st.rc)
		return st.rc;
	if (r != 0) {
		snprintf(err, errlen, "%s:%d: not a line of an INI file", name, r > 0 ? r : st.line);
		return -EINVAL;
	}
	if (!*c->key_file != !*c->cert_file) {
		snprintf(err, errlen, "%s: cert_file and key_file go together", name);
		return -EINVAL;
	}
	return 0;
}

int cs_config_load(struct cs_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0 && len < (1 << 20))
		fwrite(buf, 1, n, mem);
	fclose(f);
	if (!mem || fclose(mem) != 0 || !text) {
		free(text);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	r = cs_config_parse(c, text, path, err, errlen);
	free(text);
	return r;
}
