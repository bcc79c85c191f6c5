/* test-cs-config.c - crowdsec.conf (crowdsec/config.h): the shipped file parses to the
 * defaults; typos, bad values and unknown keys are errors with their line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tap.h"

static int parse(const char *text, struct cs_config *c, char *err)
{
	cs_config_defaults(c);
	return cs_config_parse(c, text, "t.conf", err, 512);
}

int main(void)
{
	struct cs_config d, c;
	char err[512];

	cs_config_defaults(&d);
	cs_config_defaults(&c);
	CHECK_EQ(cs_config_load(&c, SRCDIR "/etc/crowdsec.conf", err, sizeof(err)), 0, "etc/crowdsec.conf loads");
	CHECK(!memcmp(&c, &d, sizeof(c)), "and is the defaults (every key commented)");
	/* Each default the file shows commented is the program's: uncommented, nothing changes. */
	FILE *f = fopen(SRCDIR "/etc/crowdsec.conf", "re");
	char line[512], text[16384] = "";
	size_t len = 0, keys = 0;
	while (f && fgets(line, sizeof(line), f) && len < sizeof(text) - sizeof(line)) {
		bool key = line[0] == ';' && strstr(line, " =");
		keys += key;
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", key ? line + 1 : line);
	}
	if (f)
		fclose(f);
	CHECK_EQ(keys, 16, "16 keys shown commented");
	CHECK_EQ(parse(text, &c, err), 0, "the file with every key uncommented loads");
	CHECK(!memcmp(&c, &d, sizeof(c)), "to the defaults: the file shows the program's defaults");
	CHECK_STR(d.url, "http://127.0.0.1:8080", "url");
	CHECK_EQ(d.update_frequency, 10, "update_frequency 10s");
	CHECK_EQ(d.batch, 1, "batch 1s");
	CHECK_EQ(d.queue_max, 10000, "queue_max");
	CHECK_EQ(d.max_decisions, 200000, "max_decisions");
	CHECK(d.publish && d.apply, "both on");

	CHECK_EQ(parse("[lapi]\nurl = https://lapi.example:8080/\ntimeout = 30s\n[apply]\nupdate_frequency = 1m\n"
		       "[publish]\nenabled = no\n", &c, err), 0, "values");
	CHECK_STR(c.url, "https://lapi.example:8080", "the trailing / dropped");
	CHECK_EQ(c.timeout, 30, "timeout");
	CHECK_EQ(c.update_frequency, 60, "update_frequency");
	CHECK(!c.publish, "publish off");
	CHECK_EQ(parse("[lapi]\nurl = ftp://x\n", &c, err), -EINVAL, "ftp refused");
	CHECK(strstr(err, "t.conf:2:") != NULL, "the line: %s", err);
	CHECK_EQ(parse("[lapi]\nurl = file:///etc/shadow\n", &c, err), -EINVAL, "file:// refused");
	CHECK_EQ(parse("[lapi]\nurll = http://x\n", &c, err), -EINVAL, "a typo in a key");
	CHECK(strstr(err, "unknown key") != NULL, "%s", err);
	CHECK_EQ(parse("[lpai]\nurl = http://x\n", &c, err), -EINVAL, "a typo in a section");
	CHECK(strstr(err, "unknown section [lpai]") != NULL, "%s", err);
	CHECK_EQ(parse("[apply]\nupdate_frequency = 0\n", &c, err), -EINVAL, "update_frequency 0 refused");
	CHECK_EQ(parse("[apply]\nmax_decisions = -1\n", &c, err), -EINVAL, "a negative number");
	CHECK_EQ(parse("[apply]\nmax_decisions = 18446744073709551617\n", &c, err), -EINVAL, "an overflowing number");
	CHECK_EQ(parse("[publish]\nenabled = maybe\n", &c, err), -EINVAL, "not a boolean");
	CHECK_EQ(parse("[daemon]\nlog_level = loud\n", &c, err), -EINVAL, "not a level");
	CHECK_EQ(parse("[daemon]\nstate_dir =\n", &c, err), -EINVAL, "an empty state_dir");
	CHECK_EQ(parse("[lapi]\ncert_file = /x.pem\n", &c, err), -EINVAL, "a cert without its key");
	CHECK_EQ(parse("[daemon]\ncontrol_socket = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		       &c, err), -EINVAL, "a socket path over 107 bytes");
	CHECK_EQ(parse("garbage line\n", &c, err), -EINVAL, "not INI");
	return tap_done();
}
