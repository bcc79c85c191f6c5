/* record.h - the parts of an evidence record (docs/evidence.md) that are not the event:
 * the packets as a pcap file, and the configuration that applied. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "core/config.h"
#include "evidence/pktring.h"

/* {"count", "list": [{"time", "wire_len", "caplen"}], "pcap": base64 of a pcap file
 * (LINKTYPE_RAW: IPv4 and IPv6 packets without a link header; tcpdump -r reads it)}.
 * New object, or NULL when out of memory. */
json_t *record_packets(const struct pktring_packet *p, size_t n, unsigned snaplen);
/* Decodes a record's "pcap" member into a pcap file's bytes. Returns 0 with a malloc'ed
 * buffer in *@out, or -EINVAL (absent or not base64), -ENOMEM. */
int record_pcap_decode(const json_t *packets, unsigned char **out, size_t *len);
/* The settings the detectors and the ban writer used: [scan], [ban], and every detector's
 * action. New object, or NULL. */
json_t *record_config(const struct nfs_config *c);
