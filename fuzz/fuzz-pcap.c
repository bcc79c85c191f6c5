/* fuzz-pcap.c - `nfsentry replay` (daemon/main.c, cmd_replay): the input is a pcap or pcapng
 * file; libpcap reads it, pcapsrc strips the link header, every packet goes through the
 * engine in capture time, then the end-of-replay evaluation. Each packet is copied to a
 * buffer of exactly its captured length: libpcap's own buffer is larger, and AddressSanitizer
 * would not see a read past the packet there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "replay/pcapsrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcapsrc *src;
	struct pcapsrc_packet pk;
	struct pcapsrc_stats st;
	struct fuzz_engine fe;
	char err[256];
	int r;

	if (pcapsrc_open(&src, fuzz_file(data, size), err, sizeof(err)) < 0)
		return 0;
	if (fuzz_engine_init(&fe, 0) < 0) {
		pcapsrc_close(src);
		return 0;
	}
	while ((r = pcapsrc_next(src, &pk, err, sizeof(err))) > 0) {
		struct engine_meta m = { .when = pk.ts, .origin = ORIGIN_REPLAY, .local = LOCAL_UNKNOWN };
		uint8_t *pkt = malloc(pk.caplen ? pk.caplen : 1);
		if (!pkt)
			break;
		memcpy(pkt, pk.data, pk.caplen);
		engine_packet(&fe.engine, pkt, pk.caplen, pk.wirelen, &m, &fe.cnt);
		free(pkt);
	}
	/* Every frame is an IP packet handed over or one skipped, and the engine saw each. */
	pcapsrc_get_stats(src, &st);
	if (st.frames != st.ip + st.skipped || atomic_load(&fe.cnt.packets) != st.ip) {
		fprintf(stderr, "fuzz: %llu frames, %llu IP, %llu skipped, %llu packets in the engine\n",
			(unsigned long long)st.frames, (unsigned long long)st.ip, (unsigned long long)st.skipped,
			(unsigned long long)atomic_load(&fe.cnt.packets));
		abort();
	}
	fuzz_engine_finish(&fe);
	(void)pcapsrc_linktype(src);
	pcapsrc_close(src);
	return 0;
}
