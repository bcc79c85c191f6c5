/* pktring.h - the last few packets of each tracked source and of each inspected connection,
 * for evidence records (docs/evidence.md): a small ring per key, in a sharded map bounded by
 * [evidence] max_rings (least recently touched forgotten first). Workers add on the packet
 * path (one lock, one copy of at most snaplen bytes); the evidence saver copies a ring out.
 * Thread-safe. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/addr.h"

#define PKTRING_MAX_PACKETS 64
#define PKTRING_MAX_SNAPLEN 1500

enum pktring_kind { PKTRING_SOURCE = 1, PKTRING_FLOW = 2 };

/* A source (IPv4 host or IPv6 prefix, as the tracker keys it) or a connection (either
 * direction: pktring_flow_key() orders the ends). Compared as bytes: build it with the
 * helpers below, which zero the padding. */
struct pktring_key {
	uint8_t kind;
	uint8_t pad;
	uint16_t port_a, port_b;
	uint8_t pad2[2];
	struct nfs_addr a, b;
};

void pktring_source_key(struct pktring_key *k, const struct nfs_addr *src);
void pktring_flow_key(struct pktring_key *k, const struct nfs_addr *x, uint16_t xport, const struct nfs_addr *y,
		      uint16_t yport);

/* One packet copied out: at most the ring's snaplen bytes of an IP packet of wire_len. */
struct pktring_packet {
	struct timespec when; /* CLOCK_REALTIME */
	uint32_t wire_len, caplen;
	uint8_t *data;        /* points into the buffer given to pktring_copy() */
};

struct pktring_stats {
	uint64_t rings, evicted, bytes; /* bytes: what the rings hold allocated */
};

struct pktring;

/* @packets per ring (1..PKTRING_MAX_PACKETS), @snaplen bytes kept of each (64..
 * PKTRING_MAX_SNAPLEN), @max_rings keys. Returns 0 or -EINVAL/-ENOMEM. */
int pktring_new(struct pktring **out, uint32_t max_rings, unsigned packets, unsigned snaplen, const uint8_t key16[16]);
void pktring_free(struct pktring *r); /* accepts NULL */
/* Appends a packet to @k's ring (created on first use, evicting the least recently touched
 * ring when full; the oldest packet of a full ring is overwritten). Out of memory: nothing
 * kept, nothing said (evidence is best effort; counted in pktring_stats). */
void pktring_add(struct pktring *r, const struct pktring_key *k, const struct timespec *when, const uint8_t *data,
		 size_t caplen, size_t wire_len);
/* Copies @k's packets, oldest first, into @out (at most @max) with their bytes in @buf of
 * @buflen (pktring_buf_size() is always enough for a whole ring). Returns how many. */
size_t pktring_copy(struct pktring *r, const struct pktring_key *k, struct pktring_packet *out, size_t max,
		    uint8_t *buf, size_t buflen);
size_t pktring_buf_size(const struct pktring *r);
unsigned pktring_packets(const struct pktring *r);
void pktring_get_stats(struct pktring *r, struct pktring_stats *out);
