/* pcapsrc.c - libpcap reads the records; we strip the link header after checking it fits. */
#include "replay/pcapsrc.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

/* Older libpcap headers lack some of these; the numbers are the registered LINKTYPE_ values. */
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#define LINKTYPE_RAW 101 /* libpcap maps it to DLT_RAW (12, or 14 on OpenBSD) when reading */

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define PCAPSRC_READ_BUFFER (1 << 20) /* stdio's buffer for the file: see pcapsrc_open */
#define VLAN_MAX_TAGS 2 /* 802.1ad outer + 802.1Q inner; deeper stacks are not IP we expect */

/* BSD address families as written in DLT_NULL/DLT_LOOP headers. AF_INET6 differs by the OS
 * that wrote the file: NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30. */
#define BSD_AF_INET 2
#define BSD_AF_INET6_BSD 24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30

struct pcapsrc {
	pcap_t *pcap;
	char *iobuf; /* the FILE's buffer (pcapsrc_open), freed after pcap_close */
	int dlt;
	const char *linktype; /* libpcap's static name */
	struct pcapsrc_stats stats;
};

static inline uint32_t bswap32(uint32_t v)
{
	return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool dlt_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_RAW:
	case LINKTYPE_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP:
		return true;
	default:
		return false;
	}
}

static bool is_vlan_tpid(uint16_t t)
{
	/* 0x9100 is the pre-802.1ad QinQ outer tag that older switches still send. */
	return t == 0x8100 || t == 0x88a8 || t == 0x9100;
}

/* The EtherType at @off, looking through up to VLAN_MAX_TAGS tags. Sets *@hlen to where the
 * payload starts. Returns 0 (not IP) when the header does not fit in @caplen. */
static uint16_t ethertype(const uint8_t *d, size_t caplen, size_t off, size_t *hlen)
{
	uint16_t type;

	for (int tags = 0;; tags++) {
		if (off + 2 > caplen)
			return 0;
		type = rd16be(d + off);
		if (!is_vlan_tpid(type) || tags == VLAN_MAX_TAGS)
			break;
		off += 4; /* TCI, then the next type field */
	}
	*hlen = off + 2;
	return type;
}

static unsigned ethertype_version(uint16_t type)
{
	return type == ETHERTYPE_IPV4 ? 4 : type == ETHERTYPE_IPV6 ? 6 : 0;
}

/* The 4-byte family of DLT_NULL (writer's byte order) and DLT_LOOP (network order). Like
 * tcpdump's null_if_print(), accept the other order too: families are small numbers, so
 * anything in the upper half means the file came from a host of the other endianness (or a
 * writer that got LOOP wrong). */
static unsigned family_version(const uint8_t *d, bool network_order)
{
	uint32_t fam;

	if (network_order) {
		fam = rd32be(d);
	} else {
		memcpy(&fam, d, sizeof(fam));
	}
	if (fam & 0xffff0000)
		fam = bswap32(fam);
	switch (fam) {
	case BSD_AF_INET:
		return 4;
	case BSD_AF_INET6_BSD:
	case BSD_AF_INET6_FREEBSD:
	case BSD_AF_INET6_DARWIN:
		return 6;
	default:
		return 0;
	}
}

/* Finds the IP header in a frame of @caplen captured bytes. Returns the link header length,
 * or -1 when the frame is not IP or is too short to tell. The first byte of what follows
 * must carry the IP version the link header announced, so callers can trust data[0] >> 4. */
static long strip_l2(int dlt, const uint8_t *d, size_t caplen)
{
	size_t hlen = 0;
	unsigned want; /* IP version the link header announces; 0: not IP */

	switch (dlt) {
	case DLT_EN10MB:
		want = ethertype_version(ethertype(d, caplen, 12, &hlen));
		break;
	case DLT_LINUX_SLL:
		/* libpcap re-inserts VLAN tags stripped by the kernel at the SLL protocol field
		 * (pcap-linux.c set_vlan_offset()), so look through them as for Ethernet. */
		if (caplen < 16)
			return -1;
		want = ethertype_version(ethertype(d, caplen, 14, &hlen));
		break;
	case DLT_LINUX_SLL2:
		if (caplen < 20)
			return -1;
		want = ethertype_version(rd16be(d));
		hlen = 20;
		break;
	case DLT_NULL:
	case DLT_LOOP:
		if (caplen < 4)
			return -1;
		want = family_version(d, dlt == DLT_LOOP);
		hlen = 4;
		break;
	case DLT_IPV4:
		want = 4;
		break;
	case DLT_IPV6:
		want = 6;
		break;
	default: /* DLT_RAW, LINKTYPE_RAW: the version nibble is all there is */
		if (caplen < 1)
			return -1;
		want = d[0] >> 4;
		if (want != 4 && want != 6)
			return -1;
		break;
	}
	if (want == 0 || caplen <= hlen || (unsigned)(d[hlen] >> 4) != want)
		return -1;
	return (long)hlen;
}

int pcapsrc_open(struct pcapsrc **out, const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct pcapsrc *s;
	pcap_t *p;
	FILE *f;
	char *iobuf;
	int dlt;

	/* Our own fopen rather than pcap_open_offline_with_tstamp_precision(): same reader, but
	 * errno survives (ENOENT vs EACCES) and the descriptor is close-on-exec. libpcap closes
	 * @f with the handle (never stdin), not when it refuses the file. "-" is standard input,
	 * as for libpcap and tcpdump -r. */
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rbe");
	if (!f) {
		int e = errno;
		seterr(err, errlen, "%s", strerror(e));
		return -e;
	}
	/* libpcap reads each record with two freads: stdio's default buffer (st_blksize, 4 KiB)
	 * makes that a read(2) every few packets; 1 MiB makes it one every few thousand. glibc
	 * ignores the size of a buffer it would allocate itself, so it is ours, freed after the
	 * FILE is closed; not stdin's, which outlives the source. Without it the default stays. */
	iobuf = f != stdin ? malloc(PCAPSRC_READ_BUFFER) : NULL;
	if (iobuf && setvbuf(f, iobuf, _IOFBF, PCAPSRC_READ_BUFFER) != 0) {
		free(iobuf);
		iobuf = NULL;
	}
	/* Nanoseconds: pcapng and nanosecond pcap files keep their precision; microsecond files
	 * are scaled by libpcap. */
	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!p) {
		if (f != stdin)
			fclose(f);
		free(iobuf);
		seterr(err, errlen, "%s", ebuf);
		return -EINVAL;
	}
	dlt = pcap_datalink(p);
	if (!dlt_supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);
		if (name)
			seterr(err, errlen, "unsupported link type %d (%s)", dlt, name);
		else
			seterr(err, errlen, "unsupported link type %d", dlt);
		pcap_close(p);
		free(iobuf);
		return -EPROTONOSUPPORT;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		pcap_close(p);
		free(iobuf);
		seterr(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	s->pcap = p;
	s->iobuf = iobuf;
	s->dlt = dlt;
	s->linktype = pcap_datalink_val_to_name(dlt);
	if (!s->linktype) /* an old libpcap without names for the newer types */
		s->linktype = dlt == DLT_IPV4 ? "IPV4" : dlt == DLT_IPV6 ? "IPV6" :
			      dlt == DLT_LINUX_SLL2 ? "LINUX_SLL2" : "RAW";
	*out = s;
	return 0;
}

int pcapsrc_next(struct pcapsrc *s, struct pcapsrc_packet *out, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *d;

	for (;;) {
		int r = pcap_next_ex(s->pcap, &h, &d);
		if (r == PCAP_ERROR_BREAK)
			return 0;
		if (r < 0) {
			seterr(err, errlen, "%s", pcap_geterr(s->pcap));
			return -EIO;
		}
		if (r == 0) /* a live capture's timeout; a file never returns it */
			return 0;
		s->stats.frames++;

		long hlen = strip_l2(s->dlt, d, h->caplen);
		if (hlen < 0) {
			s->stats.skipped++;
			continue;
		}
		uint32_t caplen = h->caplen - (uint32_t)hlen;
		/* The header's length is the file writer's claim: it may be short of caplen (or even
		 * of the link header), and the decoder needs wire >= captured. */
		uint32_t wirelen = h->len > (uint32_t)hlen ? h->len - (uint32_t)hlen : 0;
		if (wirelen < caplen)
			wirelen = caplen;

		/* With nanosecond precision tv_usec holds nanoseconds. A damaged record can hold
		 * more than a second's worth; carry it rather than hand out an invalid timespec. */
		long long ns = (long long)h->ts.tv_usec;
		struct timespec ts = { .tv_sec = h->ts.tv_sec, .tv_nsec = 0 };
		if (ns > 0 && ns < 1000000000) { /* the common case, without dividing */
			ts.tv_nsec = (long)ns;
		} else if (ns > 0) {
			ts.tv_sec += (time_t)(ns / 1000000000);
			ts.tv_nsec = (long)(ns % 1000000000);
		}

		s->stats.ip++;
		*out = (struct pcapsrc_packet){ .data = d + hlen, .caplen = caplen, .wirelen = wirelen, .ts = ts };
		return 1;
	}
}

const char *pcapsrc_linktype(const struct pcapsrc *s)
{
	return s->linktype;
}

void pcapsrc_get_stats(const struct pcapsrc *s, struct pcapsrc_stats *out)
{
	*out = s->stats;
}

void pcapsrc_close(struct pcapsrc *s)
{
	if (!s)
		return;
	pcap_close(s->pcap); /* closes the FILE too */
	free(s->iobuf);
	free(s);
}
