/* text.c - see text.h. */
#include "attrib/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

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
