/* recpcap.h - an evidence record's packets as a pcap file (docs/evidence.md): written into
 * the record by the daemon, read back out of it by `nfsentryctl evidence --pcap`. Needs
 * only jansson and libsodium, so nfsentryctl links it from the evidence layer without the rest. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "evidence/pktring.h" /* struct pktring_packet only: no code of the ring is used */

/* {"count", "list": [{"time", "wire_len", "caplen"}], "pcap": base64 of a pcap file
 * (LINKTYPE_RAW: IPv4 and IPv6 packets without a link header; tcpdump -r reads it)}.
 * New object, or NULL when out of memory. */
json_t *record_packets(const struct pktring_packet *p, size_t n, unsigned snaplen);
/* Decodes a record's "pcap" member into a pcap file's bytes. Returns 0 with a malloc'ed
 * buffer in *@out (the caller frees it) and its length in *@len, or -EINVAL (absent or not
 * base64), -EBADMSG (shorter than a pcap file's header), -ENOMEM. */
int record_pcap_decode(const json_t *packets, unsigned char **out, size_t *len);
