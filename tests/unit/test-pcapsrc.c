/* test-pcapsrc.c - the real traces in tests/traces (Zeek's), then captures written here for the
 * link types, VLAN stacks and damage the traces lack. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay/pcapsrc.h"
#include "tap.h"

#define TRACES "tests/traces"

/* Counted with tcpdump 1.10.3: `tcpdump -nn -r F | wc -l` (every frame), then with the filter
 * 'ip or ip6' (the same numbers: no trace holds a non-IP frame) and 'ip6'. */
static const struct {
	const char *file, *linktype;
	uint64_t ip, ip6;
} traces[] = {
	{ "chksums-ip4-tcp-bad-chksum.pcap", "EN10MB", 1, 0 },
	{ "chksums-ip6-route0-tcp-good-chksum.pcap", "EN10MB", 1, 1 },
	{ "ftp-bruteforce.pcap", "EN10MB", 606, 0 },
	{ "ftp-ipv4.pcap", "EN10MB", 95, 0 },
	{ "ftp-ipv6.pcap", "EN10MB", 136, 136 },
	{ "ftp-retr.pcap", "EN10MB", 67, 0 },
	{ "http-get-to-ssh-server.pcap", "EN10MB", 9, 0 }, /* a nanosecond pcap */
	{ "http-http-to-ssh.pcap", "EN10MB", 13, 0 },
	{ "ipv4-fragmented-syn.pcap", "EN10MB", 2, 0 },
	{ "irc-basic.pcap", "EN10MB", 34, 0 },
	{ "pop3-pop3.pcap", "EN10MB", 125, 0 },
	{ "rfb-vnc-scanner.pcap", "EN10MB", 20, 0 },
	{ "smtp.pcap", "EN10MB", 125, 0 },
	{ "ssh-reverse-ssh.pcap", "EN10MB", 74, 0 },
	{ "ssh-single-conn.pcap", "EN10MB", 94, 0 },
	{ "ssh-ssh-on-port-80.pcap", "EN10MB", 70, 0 },
	{ "ssh-ssh-over-udp.pcap", "NULL", 2, 2 }, /* Darwin: AF_INET6 30, little-endian */
	{ "ssh-ssh1-ssh2-fingerprints.pcap", "EN10MB", 44, 0 },
	{ "ssh-sshguess.pcap", "EN10MB", 431, 0 },
	{ "telnet-auth-missing-name.pcap", "IPV4", 8, 0 },
};
#define NTRACES (sizeof(traces) / sizeof(traces[0]))

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void check_trace(const char *name, size_t i)
{
	char path[512], err[PCAP_ERRBUF_SIZE] = "";
	struct pcapsrc *s = NULL;
	struct pcapsrc_packet p;
	struct pcapsrc_stats st;
	struct timespec prev = { 0 }, first = { 0 };
	uint64_t n = 0, n6 = 0, badver = 0, backwards = 0, badlen = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%s", TRACES, name);
	r = pcapsrc_open(&s, path, err, sizeof(err));
	CHECK(r == 0, "%s opens (%s)", name, r ? err : "ok");
	if (r)
		return;
	CHECK_STR(pcapsrc_linktype(s), traces[i].linktype, name);
	while ((r = pcapsrc_next(s, &p, err, sizeof(err))) == 1) {
		unsigned v = p.caplen ? p.data[0] >> 4 : 0;
		if (v != 4 && v != 6)
			badver++;
		n6 += v == 6;
		if (p.caplen == 0 || p.wirelen < p.caplen || p.ts.tv_nsec < 0 || p.ts.tv_nsec >= 1000000000)
			badlen++;
		if (n && ts_before(&p.ts, &prev))
			backwards++;
		if (!n)
			first = p.ts;
		prev = p.ts;
		n++;
	}
	CHECK(r == 0, "%s: read to the end (%s)", name, r ? err : "ok");
	CHECK(n == traces[i].ip && n6 == traces[i].ip6, "%s: %llu IP packets (%llu IPv6), want %llu (%llu)", name,
	      (unsigned long long)n, (unsigned long long)n6, (unsigned long long)traces[i].ip,
	      (unsigned long long)traces[i].ip6);
	CHECK(badver == 0 && badlen == 0, "%s: every packet starts with version 4 or 6, sane lengths and times", name);
	pcapsrc_get_stats(s, &st);
	CHECK(st.frames == n && st.ip == n && st.skipped == 0, "%s: stats %llu frames, %llu IP, %llu skipped", name,
	      (unsigned long long)st.frames, (unsigned long long)st.ip, (unsigned long long)st.skipped);
	if (!strcmp(name, "ssh-single-conn.pcap")) {
		CHECK(backwards == 0, "%s: timestamps never go backwards", name);
		/* tcpdump -tt --nano: 1150485513.019501000 */
		CHECK(first.tv_sec == 1150485513 && first.tv_nsec == 19501000, "%s: first timestamp %lld.%09ld", name,
		      (long long)first.tv_sec, first.tv_nsec);
	}
	CHECK(pcapsrc_next(s, &p, err, sizeof(err)) == 0, "%s: still at the end", name);
	pcapsrc_close(s);
}

static void test_traces(void)
{
	struct dirent *de;
	DIR *dir = opendir(TRACES);

	CHECK(dir != NULL, "%s is there (tests run from the source root)", TRACES);
	if (!dir)
		return;
	/* A trace added without its counts fails here rather than going unread. */
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name), i;
		if (len < 6 || strcmp(de->d_name + len - 5, ".pcap"))
			continue;
		for (i = 0; i < NTRACES && strcmp(traces[i].file, de->d_name); i++)
			;
		if (i == NTRACES)
			CHECK(0, "%s: no expected counts for it in this test", de->d_name);
	}
	closedir(dir);
	for (size_t i = 0; i < NTRACES; i++)
		check_trace(traces[i].file, i);
}

/* Writing our own captures. */

static char dir[] = "/tmp/test-pcapsrc-XXXXXX";

static const uint8_t ip4[20] = { 0x45, 0, 0, 20, 0, 1, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2 };
static const uint8_t ip6[40] = { 0x60, 0, 0, 0, 0, 0, 59, 64, 0x20, 0x01, 0x0d, 0xb8, [23] = 1,
				 0x20, 0x01, 0x0d, 0xb8, [39] = 2 };
static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };

struct frame {
	uint8_t d[128];
	uint32_t caplen, len; /* len 0: same as caplen */
};

/* A frame of link header @l2 (@l2len bytes) then @body. */
static struct frame mk(const void *l2, size_t l2len, const void *body, size_t blen)
{
	struct frame f = { .caplen = (uint32_t)(l2len + blen) };
	memcpy(f.d, l2, l2len);
	if (blen)
		memcpy(f.d + l2len, body, blen);
	return f;
}

static char *tmppath(const char *name)
{
	static char buf[8][256];
	static int k;
	char *p = buf[k++ % 8];
	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

/* Timestamps 1700000000 + i seconds and 123456789 ns (or µs 654321 for a µs file). */
static void write_pcap(const char *path, int dlt, u_int precision, const struct frame *f, size_t n)
{
	pcap_t *p = pcap_open_dead_with_tstamp_precision(dlt, 65535, precision);
	pcap_dumper_t *w = p ? pcap_dump_open(p, path) : NULL;

	if (!w) {
		printf("Bail out! cannot write %s: %s\n", path, p ? pcap_geterr(p) : "pcap_open_dead");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		struct pcap_pkthdr h = { .caplen = f[i].caplen, .len = f[i].len ? f[i].len : f[i].caplen };
		h.ts.tv_sec = 1700000000 + (time_t)i;
		h.ts.tv_usec = precision == PCAP_TSTAMP_PRECISION_NANO ? 123456789 : 654321;
		pcap_dump((u_char *)w, &h, f[i].d);
	}
	pcap_dump_close(w);
	pcap_close(p);
}

struct got {
	int n, rc;
	struct {
		uint8_t d[64];
		uint32_t caplen, wirelen;
		struct timespec ts;
	} p[16];
	struct pcapsrc_stats st;
	char linktype[32], err[PCAP_ERRBUF_SIZE];
};

/* Reads @name in the temporary directory to its end (or error), copying what each packet
 * points to before the next call. */
static int read_all(const char *name, struct got *g)
{
	struct pcapsrc *s = NULL;
	struct pcapsrc_packet p;
	int r;

	memset(g, 0, sizeof(*g));
	r = pcapsrc_open(&s, tmppath(name), g->err, sizeof(g->err));
	CHECK(r == 0, "%s opens (%s)", name, r ? g->err : "ok");
	if (r)
		return r;
	snprintf(g->linktype, sizeof(g->linktype), "%s", pcapsrc_linktype(s));
	while ((r = pcapsrc_next(s, &p, g->err, sizeof(g->err))) == 1 && g->n < 16) {
		size_t c = p.caplen < 64 ? p.caplen : 64;
		memcpy(g->p[g->n].d, p.data, c);
		g->p[g->n].caplen = p.caplen;
		g->p[g->n].wirelen = p.wirelen;
		g->p[g->n].ts = p.ts;
		g->n++;
	}
	g->rc = r;
	pcapsrc_get_stats(s, &g->st);
	pcapsrc_close(s);
	return 0;
}

static bool is(const struct got *g, int i, const uint8_t *ip, size_t len)
{
	return i < g->n && g->p[i].caplen == len && g->p[i].wirelen == len && !memcmp(g->p[i].d, ip, len);
}
#define IS4(g, i) is(g, i, ip4, sizeof(ip4))
#define IS6(g, i) is(g, i, ip6, sizeof(ip6))

static void check_counts(const char *what, const struct got *g, const char *linktype, int ip, int skipped)
{
	CHECK(g->rc == 0, "%s: read to the end (%s)", what, g->rc ? g->err : "ok");
	CHECK_STR(g->linktype, linktype, what);
	CHECK(g->n == ip && g->st.ip == (uint64_t)ip && g->st.skipped == (uint64_t)skipped &&
	      g->st.frames == (uint64_t)(ip + skipped), "%s: %d IP (stats %llu frames, %llu IP, %llu skipped), want %d + %d",
	      what, g->n, (unsigned long long)g->st.frames, (unsigned long long)g->st.ip,
	      (unsigned long long)g->st.skipped, ip, skipped);
}

static void test_ethernet(void)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	uint8_t e4[14], e6[14], earp[14], v1[18], v2[22], v3[26], mism[14];
	struct frame f[11];
	struct got g;
	int n = 0;

#define ETH(buf, ...)                                                              \
	do {                                                                       \
		const uint8_t t_[] = { __VA_ARGS__ };                              \
		memcpy(buf, mac, 12);                                              \
		memcpy(buf + 12, t_, sizeof(t_));                                  \
	} while (0)
	ETH(e4, 0x08, 0x00);
	ETH(e6, 0x86, 0xdd);
	ETH(earp, 0x08, 0x06);
	ETH(v1, 0x81, 0x00, 0x00, 0x0a, 0x86, 0xdd);
	ETH(v2, 0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00);
	ETH(v3, 0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x0b, 0x08, 0x00);
	ETH(mism, 0x08, 0x00);

	f[n++] = mk(e4, 14, ip4, sizeof(ip4));            /* IP */
	f[n++] = mk(v1, 18, ip6, sizeof(ip6));            /* IP: one 802.1Q tag */
	f[n++] = mk(v2, 22, ip4, sizeof(ip4));            /* IP: 802.1ad + 802.1Q */
	f[n++] = mk(v3, 26, ip4, sizeof(ip4));            /* skipped: three tags */
	f[n++] = mk(earp, 14, arp, sizeof(arp));          /* skipped: ARP */
	f[n++] = mk(e4, 10, NULL, 0);                     /* skipped: shorter than Ethernet */
	f[n++] = mk(v1, 16, NULL, 0);                     /* skipped: tag cut short */
	f[n++] = mk(mism, 14, ip6, sizeof(ip6));          /* skipped: says IPv4, holds IPv6 */
	f[n] = mk(e4, 14, ip4, sizeof(ip4));              /* IP: snaplen cut, 1514 on the wire */
	f[n++].len = 1514;
	f[n] = mk(e4, 14, ip4, sizeof(ip4));              /* IP: a header claiming 10 bytes */
	f[n++].len = 10;
	f[n++] = mk(e4, 14, NULL, 0);                     /* skipped: nothing after the header */
	write_pcap(tmppath("eth.pcap"), DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, f, (size_t)n);

	read_all("eth.pcap", &g);
	check_counts("Ethernet", &g, "EN10MB", 5, 6);
	CHECK(IS4(&g, 0), "Ethernet: plain IPv4");
	CHECK(IS6(&g, 1), "Ethernet: IPv6 under one 802.1Q tag");
	CHECK(IS4(&g, 2), "Ethernet: IPv4 under 802.1ad + 802.1Q");
	CHECK(g.n > 3 && g.p[3].caplen == 20 && g.p[3].wirelen == 1500 && !memcmp(g.p[3].d, ip4, 20),
	      "Ethernet: wirelen less the header (1514 - 14), caplen 20");
	CHECK(g.n > 4 && g.p[4].caplen == 20 && g.p[4].wirelen == 20,
	      "Ethernet: a record claiming fewer bytes than captured gives wirelen == caplen");
	/* The first frame was written at 1700000000.123456789 and the snaplen-cut one 8 s later. */
	CHECK(g.p[0].ts.tv_sec == 1700000000 && g.p[0].ts.tv_nsec == 123456789 && g.p[3].ts.tv_sec == 1700000008,
	      "Ethernet: nanosecond timestamps kept (%lld.%09ld)", (long long)g.p[0].ts.tv_sec, g.p[0].ts.tv_nsec);
#undef ETH
}

static void test_sll(void)
{
	/* SLL: packet type, ARPHRD_ETHER, address length, 8 address bytes, protocol. */
	uint8_t h4[16] = { 0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00 };
	uint8_t h6[16], harp[16], hv[20];
	struct frame f[5];
	struct got g;

	memcpy(h6, h4, 16);
	h6[14] = 0x86, h6[15] = 0xdd;
	memcpy(harp, h4, 16);
	harp[15] = 0x06;
	/* libpcap re-inserts an offloaded VLAN tag at the protocol field. */
	memcpy(hv, h4, 14);
	memcpy(hv + 14, (const uint8_t[]){ 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00 }, 6);
	f[0] = mk(h4, 16, ip4, sizeof(ip4));
	f[1] = mk(h6, 16, ip6, sizeof(ip6));
	f[2] = mk(harp, 16, arp, sizeof(arp));
	f[3] = mk(h4, 15, NULL, 0);
	f[4] = mk(hv, 20, ip4, sizeof(ip4));
	write_pcap(tmppath("sll.pcap"), DLT_LINUX_SLL, PCAP_TSTAMP_PRECISION_NANO, f, 5);
	read_all("sll.pcap", &g);
	check_counts("SLL", &g, "LINUX_SLL", 3, 2);
	CHECK(IS4(&g, 0) && IS6(&g, 1) && IS4(&g, 2), "SLL: IPv4, IPv6, IPv4 under a re-inserted tag");
}

static void test_sll2(void)
{
	/* SLL2: protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address. */
	uint8_t h4[20] = { 0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0 };
	uint8_t h6[20], harp[20];
	struct frame f[4];
	struct got g;

	memcpy(h6, h4, 20);
	h6[0] = 0x86, h6[1] = 0xdd;
	memcpy(harp, h4, 20);
	harp[1] = 0x06;
	f[0] = mk(h6, 20, ip6, sizeof(ip6));
	f[1] = mk(h4, 20, ip4, sizeof(ip4));
	f[2] = mk(harp, 20, arp, sizeof(arp));
	f[3] = mk(h4, 19, NULL, 0);
	write_pcap(tmppath("sll2.pcap"), DLT_LINUX_SLL2, PCAP_TSTAMP_PRECISION_NANO, f, 4);
	read_all("sll2.pcap", &g);
	check_counts("SLL2", &g, "LINUX_SLL2", 2, 2);
	CHECK(IS6(&g, 0) && IS4(&g, 1), "SLL2: IPv6, IPv4");
}

static void test_null_loop(void)
{
	struct frame f[6];
	struct got g;
	uint32_t fam;

	/* LOOP: the family in network order; AF_INET6 as NetBSD/OpenBSD, FreeBSD, Darwin. */
	f[0] = mk((const uint8_t[]){ 0, 0, 0, 2 }, 4, ip4, sizeof(ip4));
	f[1] = mk((const uint8_t[]){ 0, 0, 0, 24 }, 4, ip6, sizeof(ip6));
	f[2] = mk((const uint8_t[]){ 0, 0, 0, 28 }, 4, ip6, sizeof(ip6));
	f[3] = mk((const uint8_t[]){ 0, 0, 0, 30 }, 4, ip6, sizeof(ip6));
	f[4] = mk((const uint8_t[]){ 0, 0, 0, 7 }, 4, ip4, sizeof(ip4)); /* not IP */
	f[5] = mk((const uint8_t[]){ 0, 0, 0 }, 3, NULL, 0);             /* short */
	write_pcap(tmppath("loop.pcap"), DLT_LOOP, PCAP_TSTAMP_PRECISION_NANO, f, 6);
	read_all("loop.pcap", &g);
	check_counts("LOOP", &g, "LOOP", 4, 2);
	CHECK(IS4(&g, 0) && IS6(&g, 1) && IS6(&g, 2) && IS6(&g, 3), "LOOP: AF_INET, AF_INET6 24/28/30");

	/* NULL: the writer's byte order, this host's here, then the other one. */
	fam = 2;
	f[0] = mk(&fam, 4, ip4, sizeof(ip4));
	fam = 30;
	f[1] = mk(&fam, 4, ip6, sizeof(ip6));
	fam = __builtin_bswap32(2);
	f[2] = mk(&fam, 4, ip4, sizeof(ip4));
	f[3] = mk((const uint8_t[]){ 2, 0 }, 2, NULL, 0);
	write_pcap(tmppath("null.pcap"), DLT_NULL, PCAP_TSTAMP_PRECISION_NANO, f, 4);
	read_all("null.pcap", &g);
	check_counts("NULL", &g, "NULL", 3, 1);
	CHECK(IS4(&g, 0) && IS6(&g, 1) && IS4(&g, 2), "NULL: host order, and the other byte order");
}

static void test_raw(void)
{
	static const uint8_t junk[4] = { 0x00, 1, 2, 3 };
	struct frame f[4];
	struct got g;
	uint8_t hdr[24];
	int fd;

	f[0] = mk(ip4, 0, ip4, sizeof(ip4));
	f[1] = mk(ip6, 0, ip6, sizeof(ip6));
	f[2] = mk(junk, 0, junk, sizeof(junk)); /* version 0 */
	f[3] = mk(junk, 0, NULL, 0);            /* empty */
	write_pcap(tmppath("raw.pcap"), DLT_RAW, PCAP_TSTAMP_PRECISION_NANO, f, 4);
	/* libpcap writes DLT_RAW as LINKTYPE_RAW (101) and maps it back when reading. */
	fd = open(tmppath("raw.pcap"), O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, hdr, sizeof(hdr)) == sizeof(hdr) && ((hdr[20] == 101 && !hdr[21] && !hdr[23]) || (hdr[23] == 101 && !hdr[20] && !hdr[21])) &&
	      !hdr[22], "raw capture has LINKTYPE_RAW (101) in its file header");
	if (fd >= 0)
		close(fd);
	read_all("raw.pcap", &g);
	check_counts("RAW", &g, "RAW", 2, 2);
	CHECK(IS4(&g, 0) && IS6(&g, 1), "RAW: IPv4, IPv6");

	f[0] = mk(ip4, 0, ip4, sizeof(ip4));
	f[1] = mk(ip6, 0, ip6, sizeof(ip6)); /* wrong version for LINKTYPE_IPV4 */
	write_pcap(tmppath("ipv4.pcap"), DLT_IPV4, PCAP_TSTAMP_PRECISION_NANO, f, 2);
	read_all("ipv4.pcap", &g);
	check_counts("IPV4", &g, "IPV4", 1, 1);
	CHECK(IS4(&g, 0), "IPV4: the IPv4 packet");

	f[0] = mk(ip4, 0, ip4, sizeof(ip4)); /* wrong version for LINKTYPE_IPV6 */
	f[1] = mk(ip6, 0, ip6, sizeof(ip6));
	write_pcap(tmppath("ipv6.pcap"), DLT_IPV6, PCAP_TSTAMP_PRECISION_NANO, f, 2);
	read_all("ipv6.pcap", &g);
	check_counts("IPV6", &g, "IPV6", 1, 1);
	CHECK(IS6(&g, 0), "IPV6: the IPv6 packet");
}

static void test_timestamps(void)
{
	struct frame f[1] = { mk(ip4, 0, ip4, sizeof(ip4)) };
	struct got g;

	write_pcap(tmppath("usec.pcap"), DLT_RAW, PCAP_TSTAMP_PRECISION_MICRO, f, 1);
	int ra = read_all("usec.pcap", &g); /* it CHECKs too: never inside another CHECK */
	CHECK(ra == 0 && g.n == 1 && g.p[0].ts.tv_sec == 1700000000 &&
	      g.p[0].ts.tv_nsec == 654321000, "microsecond pcap: 654321 us read as 654321000 ns");

	/* pcapng (libpcap 1.10 cannot write it): SHB, IDB for LINKTYPE_RAW with if_tsresol 9,
	 * one EPB at 1700000000.987654321 s, little-endian. */
	static const uint8_t ng[] = {
		0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0,
		1, 0, 0, 0, 32, 0, 0, 0, 101, 0, 0, 0, 0xff, 0xff, 0, 0,
		9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0,
		6, 0, 0, 0, 52, 0, 0, 0, 0, 0, 0, 0,
		/* 1700000000987654321 ns = 0x17979cfe 710868b1, high word first */
		0xfe, 0x9c, 0x97, 0x17, 0xb1, 0x68, 0x08, 0x71, 20, 0, 0, 0, 20, 0, 0, 0,
		0x45, 0, 0, 20, 0, 1, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
		52, 0, 0, 0,
	};
	FILE *out = fopen(tmppath("ns.pcapng"), "we");
	CHECK(out && fwrite(ng, 1, sizeof(ng), out) == sizeof(ng), "pcapng written");
	if (out)
		fclose(out);
	read_all("ns.pcapng", &g);
	check_counts("pcapng", &g, "RAW", 1, 0);
	CHECK(IS4(&g, 0) && g.p[0].ts.tv_sec == 1700000000 && g.p[0].ts.tv_nsec == 987654321,
	      "pcapng: nanoseconds kept (%lld.%09ld)", (long long)g.p[0].ts.tv_sec, g.p[0].ts.tv_nsec);
}

static void test_truncated(void)
{
	struct frame f[3] = { mk(ip4, 0, ip4, sizeof(ip4)), mk(ip6, 0, ip6, sizeof(ip6)), mk(ip4, 0, ip4, sizeof(ip4)) };
	/* 24-byte file header, 16-byte record headers. */
	const off_t third = 24 + (16 + 20) + (16 + 40);
	struct got g;

	write_pcap(tmppath("cut.pcap"), DLT_RAW, PCAP_TSTAMP_PRECISION_NANO, f, 3);
	CHECK(truncate(tmppath("cut.pcap"), third + 16 + 7) == 0, "cut in the middle of the third packet");
	read_all("cut.pcap", &g);
	CHECK(g.n == 2 && IS4(&g, 0) && IS6(&g, 1), "the two complete packets come first");
	CHECK(g.rc == -EIO && strstr(g.err, "truncated"), "then -EIO: \"%s\"", g.err);

	write_pcap(tmppath("cut2.pcap"), DLT_RAW, PCAP_TSTAMP_PRECISION_NANO, f, 3);
	CHECK(truncate(tmppath("cut2.pcap"), third + 9) == 0, "cut in the middle of a record header");
	int ra = read_all("cut2.pcap", &g);
	CHECK(ra == 0 && g.n == 2 && g.rc == -EIO && g.err[0],
	      "two packets, then -EIO: \"%s\"", g.err);
}

static void test_refused(void)
{
	struct frame f[1] = { mk(ip4, 0, ip4, sizeof(ip4)) };
	struct pcapsrc *s = (struct pcapsrc *)&f; /* must stay untouched */
	char err[PCAP_ERRBUF_SIZE] = "";
	int r;

	write_pcap(tmppath("wifi.pcap"), DLT_IEEE802_11, PCAP_TSTAMP_PRECISION_NANO, f, 1);
	r = pcapsrc_open(&s, tmppath("wifi.pcap"), err, sizeof(err));
	CHECK(r == -EPROTONOSUPPORT && strstr(err, "105") && strstr(err, "IEEE802_11") && s == (struct pcapsrc *)&f,
	      "802.11 refused at open: %d \"%s\"", r, err);

	err[0] = '\0';
	r = pcapsrc_open(&s, tmppath("nonexistent.pcap"), err, sizeof(err));
	CHECK(r == -ENOENT && strstr(err, "No such file") && s == (struct pcapsrc *)&f, "nonexistent file: %d \"%s\"", r,
	      err);

	FILE *out = fopen(tmppath("text.pcap"), "we");
	if (out) {
		fputs("this is not a capture file\n", out);
		fclose(out);
	}
	err[0] = '\0';
	r = pcapsrc_open(&s, tmppath("text.pcap"), err, sizeof(err));
	CHECK(r == -EINVAL && err[0] && s == (struct pcapsrc *)&f, "not a capture: %d \"%s\"", r, err);

	pcapsrc_close(NULL);
	CHECK(1, "pcapsrc_close(NULL)");
}

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] != '.')
			unlink(tmppath(de->d_name));
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int main(void)
{
	test_traces();

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_ethernet();
	test_sll();
	test_sll2();
	test_null_loop();
	test_raw();
	test_timestamps();
	test_truncated();
	test_refused();
	cleanup();
	return tap_done();
}
