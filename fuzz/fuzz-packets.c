/* fuzz-packets.c - the decoder and every detector, fed a stream of packets.
 *
 * Input: one knob byte (fuzz.h, FUZZ_KNOB_*), then records of
 *   kind (1) | time step (1) | length (2, big-endian) | the packet, from its IP header
 * kind bits 0-1: the queue (0 closed-port, 1 inspection, 2 replay, 3 inspection); bits 2-3:
 * which side is this host (0 unknown, 1 destination, 2 source, 3 unknown); bit 4: captured
 * short of the wire (copy_range), and on the closed-port queue the ruleset's tag in the mark
 * too (a TCP SYN to port = the record's length: decode/marktag.h); bit 5: a wire length past
 * 64 KiB (BIG TCP GSO).
 * A length past the end takes what is left. Each packet is copied to a buffer of exactly its
 * length, so AddressSanitizer sees a read past it. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "decode/marktag.h"
#include "fuzz.h"

/* Steps that cover keystroke timing (ms), RTTs and the scan window (s). */
static void step(struct timespec *t, uint8_t v)
{
	long long ns;

	if (v < 64)
		ns = v * 1000000LL;
	else if (v < 192)
		ns = (v - 64) * 10000000LL;
	else
		ns = (v - 192) * 10000000000LL;
	ns += t->tv_nsec;
	t->tv_sec += (time_t)(ns / 1000000000);
	t->tv_nsec = (long)(ns % 1000000000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum engine_origin origins[4] = { ORIGIN_CLOSED_PORT, ORIGIN_INSPECT, ORIGIN_REPLAY, ORIGIN_INSPECT };
	static const enum engine_local locals[4] = { LOCAL_UNKNOWN, LOCAL_DST, LOCAL_SRC, LOCAL_UNKNOWN };
	struct timespec now = { .tv_sec = FUZZ_EPOCH };
	struct fuzz_engine fe;
	size_t off = 1;

	if (size < 1 || fuzz_engine_init(&fe, data[0]) < 0)
		return 0;
	while (size - off >= 4) {
		uint8_t kind = data[off];
		size_t len = (size_t)data[off + 2] << 8 | data[off + 3];
		step(&now, data[off + 1]);
		off += 4;
		if (len > size - off)
			len = size - off;
		size_t wire = len + (kind & 0x10 ? 1500 : 0) + (kind & 0x20 ? 65536 : 0);
		struct engine_meta m = { .when = now, .queue = kind >> 6, .origin = origins[kind & 3],
					 .local = locals[(kind >> 2) & 3] };
		if ((kind & 0x10) && m.origin == ORIGIN_CLOSED_PORT)
			m.mark = ntohl((uint32_t)MARKTAG_MAGIC << 24 | (uint32_t)MARKTAG_TCP_SYN << 16 | (uint32_t)len);
		uint8_t *pkt = malloc(len ? len : 1);
		if (!pkt)
			break;
		memcpy(pkt, data + off, len);
		engine_packet(&fe.engine, pkt, len, wire, &m, &fe.cnt);
		free(pkt);
		off += len;
	}
	fuzz_engine_finish(&fe);
	return 0;
}
