/* pcap-floor - the floor under `nfsentry replay`: read a capture with libpcap and nothing
 * else. Loops pcap_next_ex() over FILE, touching each packet's first byte so the read is not
 * optimised away, and prints what it read on stderr, as nfsentry replay does. It reads the
 * file through the same 1 MiB stdio buffer as nfsentry's replay (daemon/replay/pcapsrc.c):
 * a bigger buffer there must not count as engine speed against a floor that reads 4 KiB at
 * a time.
 * For bench/engine.sh. Build: cc -O2 -o pcap-floor pcap-floor.c -lpcap
 * Usage: pcap-floor FILE */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define READ_BUFFER (1 << 20)

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	unsigned long long frames = 0, bytes = 0;
	unsigned sum = 0;
	char *iobuf;
	pcap_t *p;
	FILE *f;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: pcap-floor FILE\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	iobuf = malloc(READ_BUFFER);
	if (!f || !iobuf || setvbuf(f, iobuf, _IOFBF, READ_BUFFER) != 0) {
		perror(argv[1]);
		return 1;
	}
	p = pcap_fopen_offline(f, err); /* owns f from here */
	if (!p) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		frames++;
		bytes += h->caplen;
		if (h->caplen)
			sum += data[0];
	}
	if (r == PCAP_ERROR)
		fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(p));
	fprintf(stderr, "%s: %llu frames, %llu bytes (%u)\n", argv[1], frames, bytes, sum & 1);
	pcap_close(p);
	free(iobuf);
	return r == PCAP_ERROR;
}
