/* addrhash.h - an address's hash under a secret key (SipHash, libsodium's shorthash), for the
 * bridge's tables whose keys come from outside (a scanner's address, a fleet's decision):
 * without the key nobody can choose values that collide. */
#pragma once

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "core/addr.h"

#define ADDRHASH_KEYBYTES crypto_shorthash_KEYBYTES

static inline uint64_t addrhash(const uint8_t key[ADDRHASH_KEYBYTES], const struct nfs_addr *a)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const uint8_t *)a, sizeof(*a), key);
	memcpy(&v, h, sizeof(v));
	return v;
}
