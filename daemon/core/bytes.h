/* bytes.h - reading big-endian (network order) integers from byte buffers that may be
 * unaligned: packet headers, capture file headers, protocol openings. The caller has checked
 * that the bytes are there. */
#pragma once

#include <stdint.h>

static inline uint16_t rd16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
