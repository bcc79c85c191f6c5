/* test-cs-creds.c - the credentials file (crowdsec/creds.h): refused when others may read it,
 * read whole otherwise, and no error text ever holds a secret. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "tap.h"

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode) < 0)
		abort();
	close(fd);
}

int main(void)
{
	char dir[] = "/tmp/test-cs-creds.XXXXXX", path[128], err[512];
	struct cs_creds c;
	const char *good = "# secrets\n[machine]\nid = web-01\npassword = S3cret-pw \n\n[bouncer]\napi_key=K3y-abc\n";

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/creds", dir);
	write_file(path, good, 0600);
	CHECK_EQ(cs_creds_load(&c, path, err, sizeof(err)), 0, "mode 0600 is read");
	CHECK_STR(c.machine_id, "web-01", "id");
	CHECK_STR(c.password, "S3cret-pw", "password, trimmed");
	CHECK_STR(c.api_key, "K3y-abc", "api_key");
	write_file(path, good, 0640);
	CHECK_EQ(cs_creds_load(&c, path, err, sizeof(err)), 0, "0640 (the bridge's group) is read");
	write_file(path, good, 0644);
	CHECK_EQ(cs_creds_load(&c, path, err, sizeof(err)), -EPERM, "0644 refused: others may read it");
	CHECK(strstr(err, "0644") != NULL, "the error names the mode: %s", err);
	CHECK(!strstr(err, "S3cret") && !strstr(err, "K3y"), "and no secret");
	write_file(path, good, 0602);
	CHECK_EQ(cs_creds_load(&c, path, err, sizeof(err)), -EPERM, "0602 refused: others may write it");
	write_file(path, good, 0601);
	CHECK_EQ(cs_creds_load(&c, path, err, sizeof(err)), -EPERM, "0601 refused");
	CHECK_EQ(cs_creds_load(&c, "/nonexistent/creds", err, sizeof(err)), -ENOENT, "missing file");
	CHECK_EQ(cs_creds_load(&c, dir, err, sizeof(err)), -EINVAL, "a folder is no credentials file");

	/* Errors name the line, never its value. */
	static const char *const bad[] = {
		"[machine]\nid = x\npasword = S3cret-pw\n",   /* a typo in a key */
		"[machine]\nid = x\n",                         /* a password missing */
		"[other]\napi_key = S3cret-pw\n",
		"api_key = S3cret-pw\n",                       /* outside a section */
		"[bouncer]\nS3cret-pw\n",                      /* no = */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], 0600);
		err[0] = '\0';
		CHECK_EQ(cs_creds_load(&c, path, err, sizeof(err)), -EINVAL, "bad file refused");
		CHECK(*err && !strstr(err, "S3cret"), "its error says what without the secret: %s", err);
	}
	char big[600];
	snprintf(big, sizeof(big), "[bouncer]\napi_key = %0300d\n", 7);
	write_file(path, big, 0600);
	CHECK_EQ(cs_creds_load(&c, path, err, sizeof(err)), -EINVAL, "a key longer than 255 bytes refused");
	CHECK(!strstr(err, "0000000"), "without showing it: %s", err);
	char *huge = malloc(20000);
	memset(huge, '#', 19999);
	huge[19999] = '\0';
	write_file(path, huge, 0600);
	CHECK_EQ(cs_creds_load(&c, path, err, sizeof(err)), -EFBIG, "a file over 8 KiB refused");
	free(huge);
	write_file(path, "[bouncer]\napi_key = k\n", 0600);
	CHECK_EQ(cs_creds_load(&c, path, err, sizeof(err)), 0, "a bouncer alone is fine");
	CHECK(!*c.machine_id && !*c.password, "no machine");
	cs_creds_wipe(&c);
	CHECK(!*c.api_key, "wiped");
	unlink(path);
	rmdir(dir);
	return tap_done();
}
