/* scan.c - see scan.h. */
#include "detect/scan.h"

const char *scan_class(const struct trk_report *r)
{
	static const struct { enum trk_class c; const char *name; } kinds[] = {
		{ TRK_SYN, "syn" }, { TRK_FIN, "fin" }, { TRK_NULL, "null" }, { TRK_XMAS, "xmas" },
		{ TRK_ACK, "ack" }, { TRK_UDP, "udp" }, { TRK_SCTP, "sctp" }, { TRK_PROTO, "proto" },
	};
	uint64_t total = 0;

	/* Probes only: backscatter classes are not part of a scan. */
	for (int i = 0; i < TRK_CLASSES; i++)
		if (i != TRK_SYNACK && i != TRK_RST)
			total += r->counts[i];
	if (total == 0)
		return "mixed";
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		uint64_t n = r->counts[kinds[k].c];
		if (n * 10 >= total * 9) {
			if (kinds[k].c == TRK_SYN && (uint64_t)r->connect_syns * 2 > n)
				return "connect";
			return kinds[k].name;
		}
	}
	return "mixed";
}

const char *scan_backscatter_tool(uint32_t ack)
{
	switch (ack) {
	case 674719802: return "synk4";
	case 674711610: return "synflood-674711609";
	default: return NULL;
	}
}
