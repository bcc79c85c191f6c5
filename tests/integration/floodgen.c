/* floodgen - a spoofed-source TCP SYN flood for test-flood.sh, test-kill9.sh and
 * bench/flood.sh: SYNs to random ports of one IPv4 destination, from random sources of one
 * private prefix, through a raw socket (IP_HDRINCL), in sendmmsg batches.
 *
 * Half the packets come from a small pool of "heavy" sources (drawn from the prefix, plus
 * each -e ADDRESS), so that some sources cross the scan threshold and are banned while the
 * rest churn the daemon's source table. Every packet has TTL 77, for a counting rule.
 *
 * Usage: floodgen DST SRCNET/PLEN [-t SECONDS] [-n COUNT] [-r PPS] [-H HEAVY] [-e ADDR]...
 *                 [-p LO-HI] [-s SEED]
 *   -t  stop after SECONDS (default 10)     -n  stop after COUNT packets (0: no limit)
 *   -r  at most PPS packets a second (0, the default: as fast as this host can)
 *   -H  heavy sources drawn from SRCNET (default 64)   -p  destination ports (1024-65535)
 * Prints one line: "sent N refused M seconds S pps R"; refused packets never left this host
 * (ENOBUFS: the link's queue or the peer's backlog was full). */
#define _GNU_SOURCE /* sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PKT_LEN (sizeof(struct iphdr) + sizeof(struct tcphdr))
#define MAX_EXTRA 16
#define FLOOD_TTL 77

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: plenty for picking addresses and ports */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static void build(uint8_t *pkt, uint32_t src, uint32_t dst, uint16_t dport)
{
	struct iphdr *ip = (struct iphdr *)pkt;
	struct tcphdr *tcp = (struct tcphdr *)(pkt + sizeof(*ip));
	uint32_t sum;

	memset(pkt, 0, PKT_LEN);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(PKT_LEN);
	ip->id = htons((uint16_t)(rnd() | 1)); /* non-zero: the kernel keeps it */
	ip->ttl = FLOOD_TTL;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = src;
	ip->daddr = dst;
	tcp->source = htons((uint16_t)(32768 + rnd() % 28232));
	tcp->dest = htons(dport);
	tcp->seq = htonl((uint32_t)rnd());
	tcp->doff = 5;
	tcp->syn = 1;
	tcp->window = htons(1024);
	/* The checksum over the pseudo-header, so the packets look like any other SYN. */
	sum = csum_add(0, &ip->saddr, 8);
	sum += IPPROTO_TCP + sizeof(*tcp);
	sum = csum_add(sum, tcp, sizeof(*tcp));
	tcp->check = htons(csum_fold(sum));
}

static void usage(void)
{
	fprintf(stderr, "usage: floodgen DST SRCNET/PLEN [-t SECONDS] [-n COUNT] [-r PPS] [-H HEAVY] "
			"[-e ADDR]... [-p LO-HI] [-s SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t pkts[BATCH][PKT_LEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct in_addr net, extra[MAX_EXTRA];
	unsigned nextra = 0, plen, heavy = 64, lo = 1024, hi = 65535;
	double seconds = 10, pps = 0;
	unsigned long long count = 0, sent = 0, refused = 0;
	char *slash;
	int opt, one = 1, fd;

	rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (argc < 3 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1 || !(slash = strchr(argv[2], '/')))
		usage();
	*slash = '\0';
	plen = (unsigned)atoi(slash + 1);
	if (inet_pton(AF_INET, argv[2], &net) != 1 || plen < 8 || plen > 30)
		usage();
	optind = 3;
	while ((opt = getopt(argc, argv, "t:n:r:H:e:p:s:")) != -1) {
		switch (opt) {
		case 't': seconds = atof(optarg); break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'r': pps = atof(optarg); break;
		case 'H': heavy = (unsigned)atoi(optarg); break;
		case 'e':
			if (nextra == MAX_EXTRA || inet_pton(AF_INET, optarg, &extra[nextra++]) != 1)
				usage();
			break;
		case 'p':
			if (sscanf(optarg, "%u-%u", &lo, &hi) != 2 || lo == 0 || hi > 65535 || lo > hi)
				usage();
			break;
		case 's': rng_state = strtoull(optarg, NULL, 10) | 1; break;
		default: usage();
		}
	}
	if (!rng_state)
		rng_state = 1;

	uint32_t base = ntohl(net.s_addr) & ~((1u << (32 - plen)) - 1), span = 1u << (32 - plen);
	unsigned npool = heavy + nextra;
	uint32_t *pool = calloc(npool ? npool : 1, sizeof(*pool));
	if (!pool)
		return 1;
	for (unsigned i = 0; i < heavy; i++)
		pool[i] = htonl(base + 1 + (uint32_t)(rnd() % (span - 2)));
	for (unsigned i = 0; i < nextra; i++)
		pool[heavy + i] = extra[i].s_addr;

	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
		perror("floodgen: raw socket");
		return 1;
	}
	for (unsigned i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = pkts[i], .iov_len = PKT_LEN };
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &dst, .msg_namelen = sizeof(dst), .msg_iov = &iov[i],
						   .msg_iovlen = 1 };
	}

	double t0 = now_s(), t = t0;
	while (t - t0 < seconds && (!count || sent + refused < count)) {
		unsigned n = BATCH;
		if (count && count - sent - refused < n)
			n = (unsigned)(count - sent - refused);
		if (pps > 0) {
			/* Pace by batches: never ahead of the rate, never more than one batch late. */
			double due = t0 + (double)(sent + refused + n) / pps;
			while (t < due) {
				double d = due - t;
				struct timespec ts = { .tv_sec = (time_t)d, .tv_nsec = (long)((d - (double)(time_t)d) * 1e9) };
				nanosleep(&ts, NULL);
				t = now_s();
			}
		}
		for (unsigned i = 0; i < n; i++) {
			uint64_t r = rnd();
			uint32_t src = (npool && (r & 1)) ? pool[(r >> 1) % npool]
							  : htonl(base + 1 + (uint32_t)((r >> 1) % (span - 2)));
			build(pkts[i], src, dst.sin_addr.s_addr, (uint16_t)(lo + (r >> 33) % (hi - lo + 1)));
		}
		/* sendmmsg stops at the first failed message: count it refused and go on after it. */
		for (unsigned i = 0; i < n;) {
			int k = sendmmsg(fd, msgs + i, n - i, 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 && errno != ENOBUFS && errno != EAGAIN) {
				perror("floodgen: sendmmsg");
				return 1;
			}
			if (k < 0)
				k = 0;
			sent += (unsigned)k;
			i += (unsigned)k;
			if (i < n) {
				refused++;
				i++;
			}
		}
		t = now_s();
	}
	double dt = t - t0;
	printf("sent %llu refused %llu seconds %.3f pps %.0f\n", sent, refused, dt, dt > 0 ? (double)sent / dt : 0.0);
	close(fd);
	free(pool);
	return 0;
}
