/* log.c - stderr logging with syslog priority prefixes when journald reads us. */
#include "core/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Atomic int log_max = LOG_LVL_INFO;

void log_set_level(enum log_level level)
{
	atomic_store(&log_max, level);
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level lvl; } names[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARN }, { "notice", LOG_LVL_NOTICE },
		{ "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].lvl;
			return 0;
		}
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	/* journald parses "<N>" prefixes (sd-daemon(3)); on a terminal they are noise. */
	static const char *const tag[] = { [LOG_LVL_ERR] = "error: ", [LOG_LVL_WARN] = "warning: ",
					   [LOG_LVL_NOTICE] = "", [LOG_LVL_INFO] = "", [LOG_LVL_DEBUG] = "debug: " };
	char line[1024];
	int n = 0;
	va_list ap;

	if ((int)level > atomic_load(&log_max))
		return;
	if (getenv("JOURNAL_STREAM"))
		n = snprintf(line, sizeof(line), "<%d>", (int)level);
	else
		n = snprintf(line, sizeof(line), "%s", tag[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
