/* fuzz-config.c - config_load() on a file holding the input (nfsentry -c FILE, --check, a
 * reload). A refused file must say "FILE:LINE: what"; an accepted one must survive
 * --dump-config: its dump loads again, to the same dump. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* The dump of @c (malloc'd, NUL-terminated); aborts if it cannot be made. */
static char *dump(const struct nfs_config *c, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		abort();
	config_dump(c, f);
	if (fclose(f) != 0)
		abort();
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfs_config *c = NULL, *again = NULL;
	char err[1024] = "";
	const char *path = fuzz_file(data, size);
	size_t plen = strlen(path), len1, len2;

	if (config_load(&c, path, err, sizeof(err)) < 0) {
		if (strncmp(err, path, plen) || err[plen] != ':' || !strchr(err + plen + 1, ':')) {
			fprintf(stderr, "fuzz: refused without FILE:LINE: \"%s\"\n", err);
			abort();
		}
		return 0;
	}
	char *text1 = dump(c, &len1);
	if (config_load(&again, fuzz_file((const uint8_t *)text1, len1), err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz: the dump of an accepted file is refused: %s\n--- dump:\n%s", err, text1);
		abort();
	}
	char *text2 = dump(again, &len2);
	if (len1 != len2 || memcmp(text1, text2, len1)) {
		fprintf(stderr, "fuzz: the dump changes when loaded again\n--- first:\n%s--- second:\n%s", text1, text2);
		abort();
	}
	free(text1);
	free(text2);
	config_free(again);
	config_free(c);
	return 0;
}
