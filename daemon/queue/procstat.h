/* procstat.h - the kernel's own counters of a queue, from /proc/net/netfilter/nfnetlink_queue. */
#pragma once

#include <stdint.h>

struct nfq_procstat {
	uint64_t waiting;      /* packets in the queue now (queue_total) */
	uint64_t queue_dropped; /* dropped by the kernel: queue full */
	uint64_t user_dropped;  /* dropped by the kernel: netlink send to us failed */
	uint64_t id_sequence;   /* last packet id handed out */
	uint32_t peer_portid;   /* the netlink port bound to the queue (its holder's PID, if its first socket) */
};

/* Reads queue @queue's line of @path (NULL: the /proc file). Returns 0, -ENOENT when the
 * queue is not listed, or -errno. */
int nfq_procstat_read(const char *path, uint16_t queue, struct nfq_procstat *out);
