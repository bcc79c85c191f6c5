/* test-utf8.c - well-formed UTF-8 as RFC 3629 defines it, the only text events and records carry. */
#include "core/utf8.h"
#include "tap.h"

#define LEN(s) utf8_len((const uint8_t *)(s), sizeof(s) - 1)

int main(void)
{
	CHECK_EQ(LEN("a"), 1, "ASCII");
	CHECK_EQ(LEN("\x7f"), 1, "DEL is ASCII");
	CHECK_EQ(LEN("\xc3\xa9"), 2, "U+00E9");
	CHECK_EQ(LEN("\xe2\x82\xac"), 3, "U+20AC");
	CHECK_EQ(LEN("\xf0\x9f\x98\x80"), 4, "U+1F600");
	CHECK_EQ(LEN("\xf4\x8f\xbf\xbf"), 4, "U+10FFFF, the last code point");
	CHECK_EQ(LEN("\x80"), 0, "a lone continuation byte");
	CHECK_EQ(LEN("\xc0\xaf"), 0, "overlong '/' (C0)");
	CHECK_EQ(LEN("\xc1\xbf"), 0, "overlong (C1)");
	CHECK_EQ(LEN("\xe0\x80\xaf"), 0, "overlong three-byte form");
	CHECK_EQ(LEN("\xf0\x80\x80\xaf"), 0, "overlong four-byte form");
	CHECK_EQ(LEN("\xed\xa0\x80"), 0, "a surrogate (U+D800)");
	CHECK_EQ(LEN("\xf4\x90\x80\x80"), 0, "past U+10FFFF");
	CHECK_EQ(LEN("\xf5\x80\x80\x80"), 0, "F5: never a lead byte");
	CHECK_EQ(LEN("\xe2\x82"), 0, "cut short: 2 of 3 bytes");
	CHECK_EQ(LEN("\xe2\x28\xac"), 0, "a bad second byte");
	CHECK_EQ(LEN("\xe2\x82\x28"), 0, "a bad third byte");
	CHECK_EQ(utf8_len((const uint8_t *)"\xc3\xa9", 1), 0, "only 1 of 2 bytes may be read");
	return tap_done();
}
