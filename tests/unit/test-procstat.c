/* test-procstat.c - a queue's line of the kernel's nfnetlink_queue table, and who holds it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "queue/procstat.h"
#include "tap.h"

int main(void)
{
	char path[] = "/tmp/test-procstat.XXXXXX";
	int fd = mkstemp(path);
	struct nfq_procstat ps;

	CHECK(fd >= 0, "a temporary table");
	/* net/netfilter/nfnetlink_queue.c's seq_printf: number, portid, total, mode, range, queue
	 * dropped, user dropped, id sequence, 1. */
	dprintf(fd, "    0 3550282449     3 2   256     7     0    41  1\n"
		    "    1   4242     0 2   256     0     2     9  1\n"
		    "garbage line\n");
	close(fd);
	CHECK_EQ(nfq_procstat_read(path, 0, &ps), 0, "queue 0 is listed");
	CHECK(ps.peer_portid == 3550282449u && ps.waiting == 3 && ps.queue_dropped == 7 && ps.id_sequence == 41,
	      "queue 0: its holder's port ID and counters");
	CHECK_EQ(nfq_procstat_read(path, 1, &ps), 0, "queue 1 is listed");
	CHECK(ps.peer_portid == 4242 && ps.user_dropped == 2, "queue 1: its holder's port ID and counters");
	CHECK_EQ(nfq_procstat_read(path, 2, &ps), -ENOENT, "queue 2 is not bound");
	unlink(path);
	CHECK(nfq_procstat_read(path, 0, &ps) < 0, "a missing table is an error");
	return tap_done();
}
