/* text.c - see text.h. */
#include "attrib/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at @p (no overlong forms, no surrogates, nothing
 * past U+10FFFF: what jansson accepts), or 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

json_t *attrib_text_json(const void *p, size_t len, size_t max, bool *cut)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = p;
	size_t n = len < max ? len : max, i = 0, o = 0;
	char *buf = malloc(n * 4 + 1); /* each input byte gives at most 4 output bytes */
	json_t *j;

	if (!buf)
		return NULL;
	while (i < n) {
		/* Measured against the whole input, so a character is kept whole or not at all. */
		size_t l = s[i] ? utf8_len(s + i, len - i) : 0;
		if (l && i + l > n)
			break;
		if (l) {
			memcpy(buf + o, s + i, l);
			o += l;
			i += l;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[s[i] >> 4];
			buf[o++] = hex[s[i] & 0xf];
			i++;
		}
	}
	if (cut)
		*cut = i < len;
	j = json_stringn_nocheck(buf, o);
	free(buf);
	return j;
}
