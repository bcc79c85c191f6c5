/* tcp4.h - an IPv4 TCP packet for the engine tests (test-threads, test-engine). */
#pragma once

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

/* Writes into @b an IPv4 TCP packet from 10.0.@src.1:@sport to 192.0.2.1:@dport with @flags
 * and @payload (NULL: none). Returns its length. @b must hold 40 bytes and the payload. */
static inline size_t tcp4(uint8_t *b, unsigned src, uint16_t sport, uint16_t dport, uint8_t flags,
			  const char *payload)
{
	size_t plen = payload ? strlen(payload) : 0, len = 40 + plen;

	memset(b, 0, 40);
	b[0] = 0x45;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[8] = 64;
	b[9] = IPPROTO_TCP;
	b[12] = 10, b[14] = (uint8_t)src, b[15] = 1;
	b[16] = 192, b[18] = 2, b[19] = 1;
	b[20] = (uint8_t)(sport >> 8), b[21] = (uint8_t)sport;
	b[22] = (uint8_t)(dport >> 8), b[23] = (uint8_t)dport;
	b[32] = 5 << 4;
	b[33] = flags;
	if (plen)
		memcpy(b + 40, payload, plen);
	return len;
}
