/* procstat.c - one line per bound queue: queue_number peer_portid queue_total copy_mode
 * copy_range queue_dropped user_dropped id_sequence 1 (net/netfilter/nfnetlink_queue.c). */
#include "queue/procstat.h"

#include <errno.h>
#include <stdio.h>

int nfq_procstat_read(const char *path, uint16_t queue, struct nfq_procstat *out)
{
	FILE *f = fopen(path ? path : "/proc/net/netfilter/nfnetlink_queue", "re");
	char line[256];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned qn, portid, mode, range;
		unsigned long long total, qdrop, udrop, seq;
		if (sscanf(line, "%u %u %llu %u %u %llu %llu %llu", &qn, &portid, &total, &mode, &range, &qdrop, &udrop,
			   &seq) != 8 || qn != queue)
			continue;
		*out = (struct nfq_procstat){ .waiting = total, .queue_dropped = qdrop, .user_dropped = udrop,
					      .id_sequence = seq, .peer_portid = portid };
		r = 0;
		break;
	}
	fclose(f);
	return r;
}
