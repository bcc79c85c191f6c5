/* flood - small IPv4 packets as fast as one thread can send them, from many (spoofed) source
 * addresses, for the bench/ scripts: UDP datagrams or TCP SYNs, through an AF_PACKET socket
 * that bypasses the qdisc, in sendmmsg() batches. Packet i comes from source
 * SRC + (i mod NSRC) and goes to port DPORT + ((i / NSRC) mod NPORTS): over NSRC * NPORTS
 * packets every source sends to NPORTS distinct ports once (a scan by each), while NPORTS 1
 * gives one flow per source. Checksums are correct (the receiving kernel checks IPv4's).
 * Only for namespaces a bench script built: it writes raw frames onto IFACE.
 *
 * Build: cc -O2 -o flood flood.c
 * Usage: flood -i IFACE -m DSTMAC -d DST [-s SRC=198.18.0.1] [-n NSRC=1] [-p udp|syn]
 *              [-P DPORT=9] [-k NPORTS=1] [-l PAYLOAD=18] [-c COUNT] [-t SECONDS] [-r RATE]
 * Stops after COUNT packets or SECONDS, whichever comes first (one is needed). RATE paces the
 * sending at that many packets per second (default: as fast as it can). Prints
 * "sent N packets in S s (R packets/s)". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME_MAX 1514

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Builds packet @i into @f; returns its length. */
static size_t build(uint8_t *f, const uint8_t dmac[6], const uint8_t smac[6], uint32_t src0, uint32_t nsrc,
		    uint32_t dst, bool syn, uint16_t dport0, uint32_t nports, size_t payload, uint64_t i)
{
	uint32_t src = src0 + (uint32_t)(i % nsrc);
	uint16_t dport = (uint16_t)(dport0 + (i / nsrc) % nports);
	uint16_t sport = (uint16_t)(40000 + (i / nsrc / nports) % 20000);
	size_t l4len = syn ? 20 : 8 + payload;
	uint8_t *ip = f + 14, *l4 = ip + 20;
	uint32_t sum;

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20 + l4len);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + l4len) >> 8);
	ip[3] = (uint8_t)(20 + l4len);
	ip[4] = (uint8_t)(i >> 8);
	ip[5] = (uint8_t)i;
	ip[8] = 64;
	ip[9] = syn ? IPPROTO_TCP : IPPROTO_UDP;
	uint32_t s = htonl(src), d = htonl(dst);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	uint16_t c = htons(csum_fold(csum_add(0, ip, 20)));
	memcpy(ip + 10, &c, 2);

	l4[0] = (uint8_t)(sport >> 8);
	l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8);
	l4[3] = (uint8_t)dport;
	if (syn) {
		uint32_t seq = (uint32_t)(i * 2654435761u);
		memcpy(l4 + 4, &seq, 4);
		l4[12] = 5 << 4;
		l4[13] = 0x02;          /* SYN */
		l4[14] = 0xfa;          /* window 64240 */
		l4[15] = 0xf0;
	} else {
		l4[4] = (uint8_t)(l4len >> 8);
		l4[5] = (uint8_t)l4len;
		memset(l4 + 8, 'x', payload);
	}
	/* pseudo-header: addresses, protocol, length */
	sum = csum_add(0, ip + 12, 8);
	sum += ip[9] + (uint32_t)l4len;
	c = htons(csum_fold(csum_add(sum, l4, l4len)));
	if (!syn && c == 0)
		c = 0xffff;
	memcpy(l4 + (syn ? 16 : 6), &c, 2);
	return 14 + 20 + l4len;
}

static int parse_mac(const char *s, uint8_t m[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

int main(int argc, char **argv)
{
	const char *ifname = NULL;
	uint8_t dmac[6], smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	bool have_dmac = false, syn = false;
	struct in_addr src0 = { htonl(0xc6120001) }, dst = { 0 };
	uint32_t nsrc = 1, nports = 1;
	uint16_t dport = 9;
	size_t payload = 18;
	uint64_t count = 0;
	double seconds = 0, rate = 0;
	int opt;

	while ((opt = getopt(argc, argv, "i:m:d:s:n:p:P:k:l:c:t:r:")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'm': have_dmac = parse_mac(optarg, dmac) == 0; break;
		case 'd': if (!inet_aton(optarg, &dst)) goto usage; break;
		case 's': if (!inet_aton(optarg, &src0)) goto usage; break;
		case 'n': nsrc = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'p': syn = !strcmp(optarg, "syn"); break;
		case 'P': dport = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'k': nports = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'l': payload = strtoul(optarg, NULL, 0); break;
		case 'c': count = strtoull(optarg, NULL, 0); break;
		case 't': seconds = atof(optarg); break;
		case 'r': rate = atof(optarg); break;
		default: goto usage;
		}
	}
	if (!ifname || !have_dmac || !dst.s_addr || !nsrc || !nports || payload > FRAME_MAX - 42 ||
	    (!count && seconds <= 0))
		goto usage;

	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("socket(AF_PACKET)");
		return 1;
	}
	int one = 1;
	(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = (int)if_nametoindex(ifname), .sll_halen = 6 };
	if (!sll.sll_ifindex) {
		perror(ifname);
		return 1;
	}
	memcpy(sll.sll_addr, dmac, 6);

	static uint8_t frames[BATCH][FRAME_MAX];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	memset(msg, 0, sizeof(msg));
	for (int b = 0; b < BATCH; b++) {
		iov[b].iov_base = frames[b];
		msg[b].msg_hdr.msg_iov = &iov[b];
		msg[b].msg_hdr.msg_iovlen = 1;
		msg[b].msg_hdr.msg_name = &sll;
		msg[b].msg_hdr.msg_namelen = sizeof(sll);
	}

	uint64_t sent = 0, errors = 0;
	uint32_t s0 = ntohl(src0.s_addr), d0 = ntohl(dst.s_addr);
	double t0 = now_s(), end = seconds > 0 ? t0 + seconds : 1e300;
	while ((!count || sent < count) && now_s() < end) {
		unsigned n = BATCH;
		if (rate > 0) {
			/* batches of about a millisecond's packets, each sent when it is due */
			n = rate >= BATCH * 1000.0 ? BATCH : (unsigned)(rate / 1000) + 1;
			double due = t0 + sent / rate, d;
			while ((d = due - now_s()) > 0) /* sleep if due later, catch up if late */
				if (d > 0.0001)
					usleep((useconds_t)(d * 1e6));
		}
		if (count && count - sent < n)
			n = (unsigned)(count - sent);
		for (unsigned b = 0; b < n; b++)
			iov[b].iov_len = build(frames[b], dmac, smac, s0, nsrc, d0, syn, dport, nports, payload, sent + b);
		int r = sendmmsg(fd, msg, n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
				errors++;
				continue;
			}
			perror("sendmmsg");
			return 1;
		}
		sent += (unsigned)r;
	}
	double dt = now_s() - t0;
	printf("sent %llu packets in %.3f s (%.0f packets/s)%s\n", (unsigned long long)sent, dt, sent / dt,
	       errors ? " (send errors retried)" : "");
	return 0;
usage:
	fprintf(stderr, "usage: flood -i IFACE -m DSTMAC -d DST [-s SRC] [-n NSRC] [-p udp|syn] [-P DPORT] "
			"[-k NPORTS] [-l PAYLOAD] [-c COUNT] [-t SECONDS] [-r RATE]\n");
	return 2;
}
