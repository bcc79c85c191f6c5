/* siphash.c - see siphash.h. Follows the reference implementation (github.com/veorq/SipHash,
 * siphash.c): the same word loads, rounds and final block. */
#include "core/siphash.h"

#include <endian.h>
#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                         \
	do {                                                                                             \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                               \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                   \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                   \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                               \
	} while (0)

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return le64toh(w);
}

/* Inlined into each variant below, so the round loops unroll to constants. */
static inline __attribute__((always_inline)) uint64_t sip(const uint8_t key[16], const void *in, size_t len,
							   unsigned c, unsigned d)
{
	const uint8_t *p = in, *end = p + (len & ~(size_t)7);
	uint64_t k0 = load64(key), k1 = load64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;

	for (; p != end; p += 8) {
		m = load64(p);
		v3 ^= m;
		for (unsigned i = 0; i < c; i++)
			SIPROUND;
		v0 ^= m;
	}
	/* The last 0-7 bytes, little-endian, under the length's low byte (unrolled, as the
	 * reference does: the tables' keys end in 4 of them). */
	switch (len & 7) {
	case 7: b |= (uint64_t)p[6] << 48; /* fall through */
	case 6: b |= (uint64_t)p[5] << 40; /* fall through */
	case 5: b |= (uint64_t)p[4] << 32; /* fall through */
	case 4: b |= (uint64_t)p[3] << 24; /* fall through */
	case 3: b |= (uint64_t)p[2] << 16; /* fall through */
	case 2: b |= (uint64_t)p[1] << 8;  /* fall through */
	case 1: b |= (uint64_t)p[0];       /* fall through */
	case 0: break;
	}
	v3 ^= b;
	for (unsigned i = 0; i < c; i++)
		SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (unsigned i = 0; i < d; i++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t siphash13(const uint8_t key[16], const void *in, size_t len)
{
	return sip(key, in, len, 1, 3);
}

uint64_t siphash24(const uint8_t key[16], const void *in, size_t len)
{
	return sip(key, in, len, 2, 4);
}
