/* test-ghost.c - the ghost FIFO of the tracker's probation stage: exactly @cap entries
 * remembered, oldest forgotten first, whatever the hashes; take forgets; entries keep a fold of
 * the hash in 16 bytes. */
#include "detect/ghost.h"
#include "tap.h"

int main(void)
{
	struct ghost g;
	struct ghost_entry e;

	CHECK(ghost_init(&g, 100) == 0, "a ghost of 100");
	ghost_put(&g, 0x1111111100000001ULL, 6, 22, 0, 5);
	CHECK(ghost_take(&g, 0x1111111100000001ULL, &e) && e.port == 22 && e.proto == 6 && e.when == 5,
	      "an entry comes back with its port and time");
	CHECK(!ghost_take(&g, 0x1111111100000001ULL, &e), "and is forgotten once taken");
	/* Entry 0 survives 99 later ones, not 100; the same bucket (equal high halves) for all. */
	for (uint64_t i = 0; i < 100; i++)
		ghost_put(&g, (0xabcdULL << 32) | i, 17, (uint16_t)i, 8, (uint32_t)i);
	CHECK(ghost_take(&g, 0xabcdULL << 32, &e) && e.port == 0 && e.cls == 8, "the oldest of 100 is still there");
	ghost_put(&g, 0xabcdULL << 32, 17, 0, 8, 0); /* back in, now the newest */
	ghost_put(&g, 0xfeedULL << 32, 6, 1, 0, 1);  /* pushes out the oldest: entry 1 */
	CHECK(!ghost_take(&g, (0xabcdULL << 32) | 1, &e), "101 entries later the oldest is gone");
	CHECK(ghost_take(&g, (0xabcdULL << 32) | 2, &e) && e.port == 2, "its successor is not");
	unsigned found = 0;
	for (uint64_t i = 3; i < 100; i++)
		found += ghost_take(&g, (0xabcdULL << 32) | i, &e) && e.port == i;
	CHECK(found == 97, "the rest of the chain is intact (%u of 97)", found);
	/* Entries keep a 32-bit fold of the hash (high half XOR low half): two hashes with the same
	 * fold in other buckets stay apart, and one taken leaves the other. */
	uint64_t h1 = (0x5ULL << 32) | 0x7, h2 = (0x6ULL << 32) | 0x4; /* both fold to 2 */
	ghost_put(&g, h1, 6, 100, 0, 50);
	ghost_put(&g, h2, 6, 200, 0, 51);
	CHECK(ghost_take(&g, h2, &e) && e.port == 200 && ghost_take(&g, h1, &e) && e.port == 100,
	      "equal folds in two buckets are two entries");
	CHECK(sizeof(struct ghost_entry) == 16, "an entry is 16 bytes");
	ghost_deinit(&g);
	return tap_done();
}
