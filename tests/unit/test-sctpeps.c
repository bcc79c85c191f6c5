/* test-sctpeps.c - which SCTP ports are open, read from the kernel's endpoint table. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "detect/sctpeps.h"
#include "tap.h"

static void write_table(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

int main(void)
{
	char path[] = "/tmp/test-sctpeps.XXXXXX";
	int fd = mkstemp(path);
	struct sctpeps s;
	char longline[2048];

	CHECK(fd >= 0, "a temporary table");
	close(fd);
	/* net/sctp/proc.c's format; the second endpoint has many addresses (one long line). */
	int n = snprintf(longline, sizeof(longline), "0000000000000000 0000000000000000 2   10  17   3868      0 2345");
	for (int i = 0; i < 60 && n < (int)sizeof(longline) - 24; i++)
		n += snprintf(longline + n, sizeof(longline) - (size_t)n, " 2001:db8::%d 9 9 9 9 7 ", i);
	char text[4096];
	snprintf(text, sizeof(text),
		 " ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS\n"
		 "0000000000000000 0000000000000000 2   10  29   2905      0 19226 127.0.0.1 \n"
		 "%s\n"
		 "garbage line\n",
		 longline);
	write_table(path, text);
	sctpeps_init(&s, path);
	CHECK(sctpeps_bound(&s, 2905, 0) && sctpeps_bound(&s, 3868, 1), "bound ports found");
	CHECK(!sctpeps_bound(&s, 9, 2) && !sctpeps_bound(&s, 7, 3) && !sctpeps_bound(&s, 29, 4),
	      "nothing taken from other fields or a long line's continuation");

	write_table(path, " ENDPT     SOCK   STY SST HBKT LPORT   UID INODE LADDRS\n"
			  "0000000000000000 0000000000000000 2   10  29   80      0 1 10.0.0.1 \n");
	CHECK(!sctpeps_bound(&s, 80, 50), "a miss within the retry interval is not read again");
	CHECK(sctpeps_bound(&s, 80, 50 + SCTPEPS_RETRY_MS), "after it, a new endpoint is seen");
	CHECK(!sctpeps_bound(&s, 2905, 50 + SCTPEPS_RETRY_MS + SCTPEPS_REFRESH_MS), "a closed endpoint is gone");

	unlink(path);
	CHECK(!sctpeps_bound(&s, 80, 100000), "no table (no SCTP in the kernel): every port closed");
	sctpeps_deinit(&s);
	return tap_done();
}
