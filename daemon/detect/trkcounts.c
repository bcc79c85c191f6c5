/* trkcounts.c - see trkcounts.h. */
#include "detect/trkcounts.h"

#include <stdio.h>

json_t *trk_counts_json(const uint32_t counts[TRK_CLASSES])
{
	json_t *o = json_object();

	for (int i = 0; o && i < TRK_CLASSES; i++)
		if (counts[i] && json_object_set_new(o, trk_class_name(i), json_integer(counts[i])) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

size_t trk_counts_format(const uint32_t counts[TRK_CLASSES], char *buf, size_t len)
{
	size_t o = 0;

	if (len)
		buf[0] = '\0';
	for (int i = 0; i < TRK_CLASSES; i++) {
		if (!counts[i])
			continue;
		/* Past the end, only counted: snprintf(NULL, 0) writes nothing. */
		int n = o < len ? snprintf(buf + o, len - o, "%s%s %u", o ? ", " : "", trk_class_name(i), counts[i])
				: snprintf(NULL, 0, "%s%s %u", o ? ", " : "", trk_class_name(i), counts[i]);
		if (n > 0)
			o += (size_t)n;
	}
	return o;
}
