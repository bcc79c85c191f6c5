/* fuzz-stream.c - the body of GET /v1/decisions/stream (crowdsec/stream.c), as a LAPI, or
 * whatever answers in its place, could send it to nfsentry-crowdsec; then what the bridge does
 * with it (crowdsec/decmap.c): every decision added to a small map, every deleted one removed.
 *
 * Checked besides crashes: a refused body says why; a parsed one holds at most the bound, only
 * hosts under scope Ip and prefixes of valid lengths, new decisions with time left; the map
 * stays within its bound, a value is reported unbanned once (a deleted entry forgets the whole value) and the map's
 * counts add up when everything is deleted again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decmap.h"
#include "fuzz.h"
#include "stream.h"

#define FUZZ_MAX 64 /* small, so that the inputs reach the bound */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz: %s\n", what);
	abort();
}

static void check_decision(const struct cs_decision *d, bool added)
{
	unsigned max = d->addr.family == AF_INET ? 32 : 128;

	if ((d->addr.family != AF_INET && d->addr.family != AF_INET6) || d->addr.plen > max)
		fail("a decision with an address that is none");
	struct nfs_addr p = nfs_addr_prefix(&d->addr, d->addr.plen);
	if (!nfs_addr_equal(&p, &d->addr))
		fail("a prefix with host bits set");
	if (added && d->ms <= 0)
		fail("a new decision without time left");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_stream s;
	struct decmap *m;
	char err[512] = "";
	int r = cs_stream_parse((const char *)data, size, FUZZ_MAX, &s, err, sizeof(err));

	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM)
			fail("an error other than -EINVAL or -ENOMEM");
		if (!*err)
			fail("a refusal without its reason");
		return 0;
	}
	if (s.n_added > FUZZ_MAX || s.n_deleted > FUZZ_MAX)
		fail("more decisions kept than the bound");
	if (decmap_new(&m, FUZZ_MAX / 2) < 0)
		abort();
	size_t added = 0, unbanned = 0;
	for (size_t i = 0; i < s.n_added; i++) {
		check_decision(&s.added[i], true);
		int a = decmap_add(m, &s.added[i].addr, s.added[i].id, s.added[i].ms);
		if (a < 0 && a != -ENOSPC)
			fail("decmap_add failed otherwise than full");
		added += a == 1;
	}
	if (decmap_ids(m) > FUZZ_MAX / 2 || decmap_values(m) > decmap_ids(m))
		fail("the map past its bound");
	for (size_t i = 0; i < s.n_deleted; i++) {
		check_decision(&s.deleted[i], false);
		int d = decmap_del(m, &s.deleted[i].addr);
		if (d < 0 && d != -ENOENT)
			fail("decmap_del failed otherwise than absent");
		unbanned += d == 1;
	}
	/* Deleting the added ones again empties the map, whatever the deleted ones did. */
	for (size_t i = 0; i < s.n_added; i++)
		unbanned += decmap_del(m, &s.added[i].addr) == 1;
	if (decmap_ids(m) || decmap_values(m))
		fail("the map is not empty after deleting every decision");
	if (unbanned > s.n_added)
		fail("more unbans than decisions added");
	(void)added;
	decmap_free(m);
	cs_stream_free(&s);
	return 0;
}
