/* pcap-floor - the floor under `nfsentry replay`: read a capture with libpcap and nothing
 * else. Loops pcap_next_ex() over FILE, touching each packet's first byte so the read is not
 * optimised away, and prints what it read on stderr, as nfsentry replay does.
 * For bench/engine.sh. Build: cc -O2 -o pcap-floor pcap-floor.c -lpcap
 * Usage: pcap-floor FILE */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	unsigned long long frames = 0, bytes = 0;
	unsigned sum = 0;
	pcap_t *p;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: pcap-floor FILE\n");
		return 2;
	}
	p = pcap_open_offline(argv[1], err);
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
	return r == PCAP_ERROR;
}
