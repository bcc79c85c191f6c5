/* creds.c - the credentials file: its mode checked before a byte of it is read. */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREDS_MAX 8192

/* Copies the value after "KEY =" of the line, trimmed; 0, or -EINVAL if it does not fit. */
static int value_copy(char *dst, size_t size, const char *v)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	if (n >= size)
		return -EINVAL;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* Line by line by hand rather than through libinih: its handler would see the values, and an
 * error message naming the value would leak a secret. Here an error names the line only. */
int cs_creds_parse(struct cs_creds *out, const char *text, const char *name, char *err, size_t errlen)
{
	struct cs_creds c = { 0 };
	char section[16] = "", line[1024];
	int lineno = 0, r = 0;

	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		char *p = line, *eq;

		lineno++;
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "%s:%d: line too long", name, lineno);
			r = -EINVAL;
			goto done;
		}
		memcpy(line, text, n);
		line[n] = '\0';
		text += n + (nl ? 1 : 0);
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || *p == ';' || *p == '\r')
			continue;
		if (*p == '[') {
			if (!strncmp(p, "[machine]", 9))
				snprintf(section, sizeof(section), "machine");
			else if (!strncmp(p, "[bouncer]", 9))
				snprintf(section, sizeof(section), "bouncer");
			else {
				snprintf(err, errlen, "%s:%d: unknown section (expected [machine] or [bouncer])", name, lineno);
				r = -EINVAL;
				goto done;
			}
			continue;
		}
		eq = strchr(p, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected KEY = VALUE", name, lineno);
			r = -EINVAL;
			goto done;
		}
		*eq = '\0';
		for (char *e = eq - 1; e >= p && (*e == ' ' || *e == '\t'); e--)
			*e = '\0';
		char *dst = NULL;
		size_t size = 0;
		if (!strcmp(section, "machine") && !strcmp(p, "id"))
			dst = c.machine_id, size = sizeof(c.machine_id);
		else if (!strcmp(section, "machine") && !strcmp(p, "password"))
			dst = c.password, size = sizeof(c.password);
		else if (!strcmp(section, "bouncer") && !strcmp(p, "api_key"))
			dst = c.api_key, size = sizeof(c.api_key);
		if (!dst) {
			/* The key's name is no secret; the value is never shown. */
			snprintf(err, errlen, "%s:%d: unknown key \"%.32s\"%s%s%s", name, lineno, p,
				 *section ? " in [" : " outside a section", section, *section ? "]" : "");
			r = -EINVAL;
			goto done;
		}
		if (value_copy(dst, size, eq + 1) < 0) {
			snprintf(err, errlen, "%s:%d: %s: value longer than %zu bytes", name, lineno, p, size - 1);
			r = -EINVAL;
			goto done;
		}
	}
	if (!*c.machine_id != !*c.password) {
		snprintf(err, errlen, "%s: [machine] needs both id and password", name);
		r = -EINVAL;
		goto done;
	}
	*out = c;
done:
	explicit_bzero(line, sizeof(line));
	cs_creds_wipe(&c);
	return r;
}

int cs_creds_load(struct cs_creds *out, const char *path, char *err, size_t errlen)
{
	char buf[CREDS_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int r = 0, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		r = -EINVAL;
		goto done;
	}
	/* Checked on the open file, so a rename between check and read changes nothing. */
	if (st.st_mode & 007) {
		snprintf(err, errlen, "%s: mode %04o lets others read or write it: chmod o-rwx %s", path,
			 (unsigned)(st.st_mode & 07777), path);
		r = -EPERM;
		goto done;
	}
	while (len < CREDS_MAX && (n = read(fd, buf + len, CREDS_MAX - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto done;
		}
		len += (size_t)n;
	}
	if (len == CREDS_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CREDS_MAX - 1);
		r = -EFBIG;
		goto done;
	}
	buf[len] = '\0';
	r = cs_creds_parse(out, buf, path, err, errlen);
done:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}

void cs_creds_wipe(struct cs_creds *c)
{
	explicit_bzero(c, sizeof(*c));
}
