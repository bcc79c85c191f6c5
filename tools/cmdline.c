/* cmdline.c - see ctl.h: the helpers every command's builder uses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
