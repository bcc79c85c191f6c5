/* test-siphash.c - core/siphash.h: SipHash-2-4 gives libsodium's crypto_shorthash() for every
 * length up to 64 bytes and any key (the same rounds, loads and final block), and SipHash-1-3,
 * the same code with fewer rounds, gives the published outputs of other implementations. */
#include <sodium.h>
#include <string.h>

#include "core/siphash.h"
#include "tap.h"

/* Output bytes (little-endian) as a number, as crypto_shorthash() writes them. */
static uint64_t le_bytes(const uint8_t out[8])
{
	uint64_t h = 0;
	for (int i = 7; i >= 0; i--)
		h = h << 8 | out[i];
	return h;
}

int main(void)
{
	uint8_t key[16], msg[64], out[crypto_shorthash_BYTES];
	unsigned same = 0, differ = 0;

	CHECK(sodium_init() >= 0, "libsodium");
	for (int round = 0; round < 32; round++) {
		randombytes_buf(key, sizeof(key));
		randombytes_buf(msg, sizeof(msg));
		for (size_t len = 0; len <= sizeof(msg); len++) {
			crypto_shorthash(out, msg, len, key);
			same += siphash24(key, msg, len) == le_bytes(out);
			differ += siphash13(key, msg, len) != le_bytes(out);
		}
	}
	CHECK(same == 32 * 65, "SipHash-2-4 is libsodium's for 32 keys x lengths 0..64 (%u of %u)", same, 32 * 65);
	CHECK(differ == 32 * 65, "and SipHash-1-3 is another function (%u of %u differ)", differ, 32 * 65);

	/* The reference key 00..0f over 00..(len-1): the reference's vectors.h, first entries. */
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	CHECK(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL && siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL,
	      "SipHash-2-4 of the reference's test vectors");
	/* SipHash-1-3 under the zero key, as the tests of Rust's digest-sip-hash crate publish it
	 * (the 64-bit result in hex). */
	memset(key, 0, sizeof(key));
	CHECK(siphash13(key, "", 0) == 0xd1fba762150c532cULL, "SipHash-1-3 of \"\" under the zero key");
	CHECK(siphash13(key, "siphash", 7) == 0x8264ceeccb16bcbeULL, "SipHash-1-3 of \"siphash\" under the zero key");
	return tap_done();
}
