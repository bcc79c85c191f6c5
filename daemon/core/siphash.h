/* siphash.h - SipHash (Aumasson & Bernstein, "SipHash: a fast short-input PRF", INDOCRYPT
 * 2012) for the keyed tables, in the round counts the tables use.
 *
 * The tables' keys are short and fixed (20 bytes for a source, 44 for a connection), and
 * every packet hashes one: libsodium's crypto_shorthash() (SipHash-2-4 through a generic
 * entry point) was 5% of the replay's instructions. The tables use SipHash-1-3, the variant
 * Rust's HashMap and CPython (since 3.11, bpo-29410) use for hash-flooding resistance: a
 * random 128-bit secret still makes the buckets unpredictable, with 1 compression and 3
 * finalization rounds instead of 2 and 4 (docs/security.md, "Hash flooding"). SipHash-2-4 is
 * the same code with more rounds; the unit test checks it against libsodium's. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* SipHash-1-3 and SipHash-2-4 of @len bytes at @in under the 16-byte @key (little-endian words,
 * as the reference). */
uint64_t siphash13(const uint8_t key[16], const void *in, size_t len);
uint64_t siphash24(const uint8_t key[16], const void *in, size_t len);
