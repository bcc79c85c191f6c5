/* cmdline.c - see ctl.h: the request line, and the helpers every command's builder uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/protocol.h"
#include "ctl.h"

int ctl_bad_usage(const char *cmd_usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", CTL_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: nfsentryctl [-s PATH] [--json] %s\n", cmd_usage);
	return EXIT_USAGE;
}

int ctl_take_option(int argc, char **argv, int *i, const char *name, const char **out)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*out = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	*out = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

int ctl_build_plain(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	(void)a;
	(void)req;
	if (argc > 1)
		return ctl_bad_usage(argv[0], "%s: unexpected argument '%s'", argv[0], argv[1]);
	return 0;
}

int ctl_build_origin(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	char use[64];
	const char *v;

	(void)a;
	snprintf(use, sizeof(use), "%s [--origin NAME[,NAME...]]", argv[0]);
	for (int i = 1; i < argc; i++) {
		if (!ctl_take_option(argc, argv, &i, "--origin", &v))
			return ctl_bad_usage(use, "%s: unexpected argument '%s'", argv[0], argv[i]);
		if (!v || !*v)
			return ctl_bad_usage(use, "%s: --origin needs nfsentry, manual or crowdsec", argv[0]);
		/* The names are the daemon's to check: it says which it knows. */
		json_t *list = json_array();
		for (const char *p = v; list && p;) {
			const char *comma = strchr(p, ',');
			json_array_append_new(list, json_stringn(p, comma ? (size_t)(comma - p) : strlen(p)));
			p = comma ? comma + 1 : NULL;
		}
		json_object_set_new(req, "origin", list);
	}
	return 0;
}

int ctl_request_build(const struct ctl_command *cmd, int argc, char **argv, struct ctl_args *a, char **out)
{
	json_t *req = json_object();
	char *s;
	size_t len;
	int r;

	if (!req || json_object_set_new(req, "command", json_string(cmd->name))) {
		json_decref(req);
		fprintf(stderr, "%s: out of memory\n", CTL_PROG);
		return EXIT_FAILED;
	}
	r = cmd->build(argc, argv, a, req);
	if (r) {
		json_decref(req);
		return r;
	}
	s = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	if (!s) {
		fprintf(stderr, "%s: out of memory\n", CTL_PROG);
		return EXIT_FAILED;
	}
	len = strlen(s);
	if (len + 1 > CTL_REQUEST_MAX) {
		free(s);
		fprintf(stderr, "%s: %s: the request is over %d KiB\n", CTL_PROG, cmd->name, CTL_REQUEST_MAX / 1024);
		return EXIT_USAGE;
	}
	*out = realloc(s, len + 2);
	if (!*out) {
		free(s);
		fprintf(stderr, "%s: out of memory\n", CTL_PROG);
		return EXIT_FAILED;
	}
	memcpy(*out + len, "\n", 2);
	return 0;
}
