/* pcapsrc.h - IP packets out of a pcap or pcapng file (libpcap), whatever the link type:
 * Ethernet (with up to two VLAN tags), raw IP (DLT_RAW, LINKTYPE_IPV4/IPV6), Linux cooked
 * (SLL and SLL2), BSD null/loopback. Other link types are refused when the file is opened. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct pcapsrc;

struct pcapsrc_packet {
	const uint8_t *data;   /* the IP header onwards; valid until the next call */
	uint32_t caplen;       /* bytes of it captured */
	uint32_t wirelen;      /* its length on the wire (from the capture header, less L2) */
	struct timespec ts;    /* capture time */
};

struct pcapsrc_stats {
	uint64_t frames, ip, skipped; /* skipped: not IP (ARP, ...) or truncated L2 header */
};

/* Opens @path. Returns 0 and the source in *@out, or -errno with a reason in @err
 * ("unsupported link type 105 (IEEE 802.11)", libpcap's own message for a bad file). */
int pcapsrc_open(struct pcapsrc **out, const char *path, char *err, size_t errlen);
/* Returns 1 with the next IP packet, 0 at the end, or -EIO with a reason in @err for a
 * damaged file (packets before the damage were returned). */
int pcapsrc_next(struct pcapsrc *s, struct pcapsrc_packet *out, char *err, size_t errlen);
const char *pcapsrc_linktype(const struct pcapsrc *s); /* "EN10MB", "RAW", ... */
void pcapsrc_get_stats(const struct pcapsrc *s, struct pcapsrc_stats *out);
void pcapsrc_close(struct pcapsrc *s); /* accepts NULL */
