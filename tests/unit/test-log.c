/* test-log.c - the log (core/log.h), read back from a pipe in the place of stderr: levels
 * above the set one are discarded, each line carries its prefix ("error: ", "warning: ",
 * "debug: ", none for notice and info) or, under journald (JOURNAL_STREAM set), its "<N>"
 * priority; an overlong message is cut to one line; level names parse, unknown ones do not. */
#define _GNU_SOURCE /* pipe2 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"
#include "tap.h"

static int rd;

/* What was logged since the last call. */
static const char *logged(void)
{
	static char buf[8192];
	ssize_t n = read(rd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

int main(void)
{
	int p[2], saved = dup(STDERR_FILENO);
	enum log_level lvl = LOG_LVL_ERR;

	unsetenv("JOURNAL_STREAM");
	if (pipe2(p, O_NONBLOCK) < 0 || dup2(p[1], STDERR_FILENO) < 0)
		return 1;
	rd = p[0];

	log_set_level(LOG_LVL_NOTICE);
	log_err("e %d", 1);
	log_warn("w");
	log_notice("n");
	log_info("i");
	log_debug("d");
	const char *got = logged();
	CHECK(!strcmp(got, "error: e 1\nwarning: w\nn\n"), "at notice: error, warning, notice, prefixed: [%s]", got);
	log_set_level(LOG_LVL_DEBUG);
	log_info("i");
	log_debug("d");
	got = logged();
	CHECK(!strcmp(got, "i\ndebug: d\n"), "at debug: info and debug too: [%s]", got);

	setenv("JOURNAL_STREAM", "8:1234", 1);
	log_err("e");
	log_notice("n");
	got = logged();
	CHECK(!strcmp(got, "<3>e\n<5>n\n"), "under journald: <priority> prefixes: [%s]", got);
	unsetenv("JOURNAL_STREAM");

	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_notice("%s", big);
	got = logged();
	size_t len = strlen(got);
	CHECK(len > 1000 && len <= 1024 && got[len - 1] == '\n' && !strchr(got, '\n')[1], "an overlong message: one line of %zu bytes", len);

	CHECK(log_level_parse("warning", &lvl) == 0 && lvl == LOG_LVL_WARN, "\"warning\" parses");
	CHECK(log_level_parse("debug", &lvl) == 0 && lvl == LOG_LVL_DEBUG, "\"debug\" parses");
	lvl = LOG_LVL_INFO;
	CHECK(log_level_parse("verbose", &lvl) < 0 && lvl == LOG_LVL_INFO, "\"verbose\" does not; the level is untouched");

	dup2(saved, STDERR_FILENO);
	return tap_done();
}
