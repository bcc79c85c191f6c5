/* test-evidence.c - evidence records: the packet rings, the pcap inside a record, and the
 * store's tokens, chain, tamper detection and size bound. */
#include <dirent.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evidence/pktring.h"
#include "evidence/record.h"
#include "evidence/store.h"
#include "tap.h"

static const uint8_t key[16] = "evidenceevidence";

static void test_ring(void)
{
	struct pktring *r;
	struct pktring_key k, k2, k3;
	struct nfs_addr a, b;
	struct pktring_packet p[8];
	uint8_t buf[4 * 64], pkt[200];
	struct timespec t = { 1000, 0 };

	CHECK(pktring_new(&r, 64, 0, 64, key) == -EINVAL, "a ring of 0 packets is refused");
	CHECK(pktring_new(&r, 64, 4, 10, key) == -EINVAL, "a snaplen under 64 is refused");
	CHECK(pktring_new(&r, 64, 4, 64, key) == 0, "a ring of 4 packets of 64 bytes");
	nfs_addr_parse("192.0.2.7", false, &a);
	nfs_addr_parse("198.51.100.1", false, &b);
	pktring_source_key(&k, &a);
	for (int i = 0; i < 10; i++) {
		memset(pkt, i, sizeof(pkt));
		t.tv_sec = 1000 + i;
		pktring_add(r, &k, &t, pkt, i == 9 ? sizeof(pkt) : 40, i == 9 ? 1500 : 40);
	}
	size_t n = pktring_copy(r, &k, p, 8, buf, sizeof(buf));
	CHECK_EQ(n, 4, "a full ring keeps the last 4 packets");
	CHECK(n == 4 && p[0].when.tv_sec == 1006 && p[0].data[0] == 6 && p[3].data[0] == 9, "oldest first");
	CHECK(n == 4 && p[3].caplen == 64 && p[3].wire_len == 1500, "a long packet is cut to snaplen, its length kept");
	pktring_flow_key(&k2, &a, 4444, &b, 22);
	pktring_flow_key(&k3, &b, 22, &a, 4444);
	CHECK(memcmp(&k2, &k3, sizeof(k2)) == 0, "both directions of a connection share one key");
	pktring_add(r, &k2, &t, pkt, 40, 40);
	CHECK_EQ(pktring_copy(r, &k3, p, 8, buf, sizeof(buf)), 1, "the reply direction finds the ring");
	pktring_source_key(&k3, &b);
	CHECK_EQ(pktring_copy(r, &k3, p, 8, buf, sizeof(buf)), 0, "an unknown source has no packets");
	/* Bounded: 64 rings in all (one per shard at this size); the first ones are forgotten. */
	for (int i = 0; i < 5000; i++) {
		struct nfs_addr x = a;
		x.a[2] = (uint8_t)(i >> 8);
		x.a[3] = (uint8_t)i;
		pktring_source_key(&k3, &x);
		pktring_add(r, &k3, &t, pkt, 40, 40);
	}
	struct pktring_stats st;
	pktring_get_stats(r, &st);
	CHECK(st.rings <= 64 && st.evicted > 0, "rings stay bounded (%llu held, %llu evicted)",
	      (unsigned long long)st.rings, (unsigned long long)st.evicted);
	pktring_free(r);
}

static void test_pcap(void)
{
	struct pktring_packet p[2];
	uint8_t a[60] = { 0x45, 0, 0, 60 }, b[40] = { 0x60 };
	unsigned char *bin;
	size_t len;
	char err[PCAP_ERRBUF_SIZE];

	p[0] = (struct pktring_packet){ .when = { 1700000000, 123456000 }, .wire_len = 60, .caplen = 60, .data = a };
	p[1] = (struct pktring_packet){ .when = { 1700000001, 0 }, .wire_len = 1280, .caplen = 40, .data = b };
	json_t *j = record_packets(p, 2, 160);
	CHECK(j && json_integer_value(json_object_get(j, "count")) == 2, "two packets in the record");
	CHECK(record_pcap_decode(j, &bin, &len) == 0 && len == 24 + 16 + 60 + 16 + 40, "the pcap decodes (%zu bytes)", len);
	FILE *f = fmemopen(bin, len, "rb");
	pcap_t *pc = f ? pcap_fopen_offline(f, err) : NULL;
	CHECK(pc != NULL, "libpcap opens it");
	if (pc) {
		struct pcap_pkthdr *h;
		const u_char *d;
		CHECK_EQ(pcap_datalink(pc), DLT_RAW, "raw IP link type");
		CHECK(pcap_next_ex(pc, &h, &d) == 1 && h->caplen == 60 && h->ts.tv_usec == 123456 && d[0] == 0x45,
		      "first packet as written");
		CHECK(pcap_next_ex(pc, &h, &d) == 1 && h->caplen == 40 && h->len == 1280, "second packet, cut");
		CHECK(pcap_next_ex(pc, &h, &d) == -2, "and no more");
		pcap_close(pc);
	}
	free(bin);
	json_decref(j);
	json_t *bad = json_pack("{ss}", "pcap", "not base64!");
	CHECK(record_pcap_decode(bad, &bin, &len) == -EINVAL, "garbage is refused");
	json_decref(bad);
	json_t *shorter = json_pack("{ss}", "pcap", "AAAA"); /* 3 bytes: not even a pcap header */
	CHECK(record_pcap_decode(shorter, &bin, &len) == -EBADMSG, "base64 shorter than a pcap header is refused");
	json_decref(shorter);
}

static void record_file(const char *dir, const char *token, char *path, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	path[0] = '\0';
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, token))
			snprintf(path, len, "%s/%s", dir, e->d_name);
	if (d)
		closedir(d);
}

static int64_t append(struct evstore *s, int i, char token[EVSTORE_TOKEN_LEN + 1])
{
	json_t *rec = json_pack("{si ss}", "n", i, "pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	int64_t r = evstore_append(s, rec, token);
	json_decref(rec);
	return r;
}

static int problems(struct evstore *s)
{
	json_t *v = evstore_verify(s);
	int n = v ? (int)json_array_size(json_object_get(v, "problems")) : -1;
	json_decref(v);
	return n;
}

static void test_store(void)
{
	char dir[] = "/tmp/test-evidence.XXXXXX", err[256], tok[5][EVSTORE_TOKEN_LEN + 1], path[4200];
	struct evstore *s;
	struct evstore_check chk;
	struct stat st;
	char *data;
	size_t len;

	CHECK(mkdtemp(dir) != NULL, "a scratch folder");
	chmod(dir, 0755);
	CHECK(evstore_open(&s, dir, 1 << 20, err, sizeof(err)) == 0, "store opens: %s", err);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "the folder is made root-only");
	for (int i = 0; i < 3; i++)
		CHECK(append(s, i, tok[i]) > 0 && strlen(tok[i]) == 64, "record %d saved", i);
	record_file(dir, tok[1], path, sizeof(path));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "records are mode 0600");

	CHECK(evstore_get(s, tok[1], &data, &len, &chk) == 0 && chk.state == EVSTORE_INTACT && !chk.chain[0],
	      "record 1 is intact and linked");
	json_t *j = json_loadb(data, len, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(j, "prev")), tok[0], "record 1 names record 0 as prev");
	CHECK(json_integer_value(json_object_get(j, "seq")) == 2, "and has seq 2");
	json_decref(j);
	free(data);
	CHECK(evstore_get(s, "abc", &data, &len, &chk) == -EINVAL, "a malformed token is refused");
	CHECK(evstore_get(s, "0000000000000000000000000000000000000000000000000000000000000000", &data, &len, &chk) ==
		      -ENOENT, "an unknown token is not found");
	CHECK_EQ(problems(s), 0, "the chain verifies");

	/* Edit one byte of record 1: its hash no longer matches its token. */
	FILE *f = fopen(path, "r+");
	if (f) {
		fseek(f, 10, SEEK_SET);
		fputc('Z', f);
		fclose(f);
	}
	CHECK(evstore_get(s, tok[1], &data, &len, &chk) == 0 && chk.state == EVSTORE_TAMPERED &&
		      strcmp(chk.actual, tok[1]) != 0, "an edited record is reported tampered");
	free(data);
	CHECK_EQ(problems(s), 1, "verify names it");

	/* Delete record 1 and start again: record 2's link shows the gap. */
	unlink(path);
	evstore_close(s);
	CHECK(evstore_open(&s, dir, 1 << 20, err, sizeof(err)) == 0, "the store re-indexes its folder");
	CHECK(evstore_get(s, tok[2], &data, &len, &chk) == 0 && chk.state == EVSTORE_INTACT && chk.chain[0],
	      "the record after a deleted one is intact but its chain is broken: %s", chk.chain);
	free(data);
	CHECK_EQ(problems(s), 1, "verify reports the deletion");
	CHECK(append(s, 3, tok[3]) > 0, "appending goes on after a restart");
	CHECK(evstore_get(s, tok[3], &data, &len, &chk) == 0 && !chk.chain[0], "and links to the last record");
	free(data);

	/* Size bound: each record is ~150 bytes; 400 bytes keep two or three. */
	evstore_set_max(s, 400);
	CHECK(append(s, 4, tok[4]) > 0, "one more record");
	struct evstore_stats es;
	evstore_get_stats(s, &es);
	CHECK(es.bytes <= 400 && es.pruned >= 1, "oldest removed to fit (%llu bytes, %llu removed)",
	      (unsigned long long)es.bytes, (unsigned long long)es.pruned);
	CHECK(evstore_get(s, tok[0], &data, &len, &chk) == -ENOENT, "the oldest is gone");
	CHECK_EQ(problems(s), 0, "the chain verifies from its anchor after pruning");
	evstore_close(s);
	CHECK(evstore_open(&s, dir, 400, err, sizeof(err)) == 0 && problems(s) == 0, "and after a restart (anchor kept)");
	evstore_close(s);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
}

/* The newest record has no successor to name it: the head file does, so that deleting it
 * while the daemon is stopped shows, and keeps showing once records follow. */
static void test_store_head(void)
{
	char dir[] = "/tmp/test-evidence.XXXXXX", err[256], tok[4][EVSTORE_TOKEN_LEN + 1], path[4200];
	struct evstore *s;
	struct evstore_check chk;
	char *data;
	size_t len;

	CHECK(mkdtemp(dir) != NULL, "a scratch folder");
	CHECK(evstore_open(&s, dir, 1 << 20, err, sizeof(err)) == 0, "store opens: %s", err);
	for (int i = 0; i < 3; i++)
		CHECK(append(s, i, tok[i]) > 0, "record %d saved", i);
	evstore_close(s);

	/* A stop between a record and its head line leaves the head one behind: not a loss. */
	snprintf(path, sizeof(path), "%s/head", dir);
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "2 %s\n", tok[1]);
		fclose(f);
	}
	CHECK(evstore_open(&s, dir, 1 << 20, err, sizeof(err)) == 0 && problems(s) == 0,
	      "a head naming the record before the newest is no problem");
	evstore_close(s);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "3 %s\n", tok[2]);
		fclose(f);
	}

	record_file(dir, tok[2], path, sizeof(path));
	CHECK(unlink(path) == 0, "the newest record deleted while stopped");
	CHECK(evstore_open(&s, dir, 1 << 20, err, sizeof(err)) == 0, "the store opens");
	CHECK_EQ(problems(s), 1, "verify reports the newest record gone");
	CHECK(append(s, 3, tok[3]) > 0, "a record after the loss");
	CHECK(evstore_get(s, tok[3], &data, &len, &chk) == 0 && chk.state == EVSTORE_INTACT && chk.chain[0],
	      "it names the lost record, so its chain shows the gap: %s", chk.chain);
	json_t *j = json_loadb(data, len, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(j, "prev")), tok[2], "its prev is the lost record");
	CHECK(json_integer_value(json_object_get(j, "seq")) == 4, "and its number follows the lost one's");
	json_decref(j);
	free(data);
	CHECK_EQ(problems(s), 1, "one problem, now the link");
	evstore_close(s);
	CHECK(evstore_open(&s, dir, 1 << 20, err, sizeof(err)) == 0 && problems(s) == 1,
	      "and it is still reported after another restart");
	evstore_close(s);

	/* A head file that is not "SEQ TOKEN" is ignored with a warning, not trusted. */
	snprintf(path, sizeof(path), "%s/head", dir);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "-3 %s\n", tok[2]); /* sscanf's %llu would take -3 as 2^64 - 3 */
		fclose(f);
	}
	CHECK(evstore_open(&s, dir, 1 << 20, err, sizeof(err)) == 0 && problems(s) == 1, "a bad head is ignored");
	evstore_close(s);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
}

int main(void)
{
	test_ring();
	test_pcap();
	test_store();
	test_store_head();
	return tap_done();
}
