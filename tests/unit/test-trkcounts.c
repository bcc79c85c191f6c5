/* test-trkcounts.c - a source's attempts per class, as the "scan" events and the control
 * socket's "sources" show them (JSON) and as the ban writer logs them (text): the same
 * classes, in the same order, from one renderer. */
#include "detect/trkcounts.h"
#include "tap.h"

int main(void)
{
	uint32_t none[TRK_CLASSES] = { 0 }, some[TRK_CLASSES] = { 0 };
	char buf[128];
	char *s;

	some[TRK_SYN] = 20;
	some[TRK_FIN] = 5;
	some[TRK_PROTO] = 1;

	json_t *j = trk_counts_json(some);
	s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	CHECK(s && !strcmp(s, "{\"syn\":20,\"fin\":5,\"proto\":1}"), "JSON: nonzero classes in class order (%s)",
	      s ? s : "NULL");
	free(s);
	json_decref(j);
	j = trk_counts_json(none);
	CHECK(json_is_object(j) && json_object_size(j) == 0, "JSON: no counts, an empty object");
	json_decref(j);

	CHECK_EQ(trk_counts_format(some, buf, sizeof(buf)), strlen("syn 20, fin 5, proto 1"), "text: its length");
	CHECK_STR(buf, "syn 20, fin 5, proto 1", "text: the same classes, the same order");
	CHECK_EQ(trk_counts_format(none, buf, sizeof(buf)), 0, "text: no counts, nothing");
	CHECK_STR(buf, "", "text: an empty string");

	/* Cut short: NUL-terminated within the buffer, the whole length returned. */
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(trk_counts_format(some, buf, 10), strlen("syn 20, fin 5, proto 1"), "cut: the whole length");
	CHECK_STR(buf, "syn 20, f", "cut: what fits, terminated");
	CHECK(buf[10] == 'x', "cut: nothing written past the buffer");
	CHECK_EQ(trk_counts_format(some, NULL, 0), strlen("syn 20, fin 5, proto 1"), "no buffer: only measured");
	return tap_done();
}
