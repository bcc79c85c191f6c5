/* recpcap.c - see recpcap.h. */
#include "evidence/recpcap.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define LINKTYPE_RAW 101u
#define PCAP_HEADER_LEN 24

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4); /* host order: the magic number tells readers which */
}

static void put16(unsigned char *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static json_t *time_json(const struct timespec *t)
{
	char buf[64], frac[16];
	struct tm tm;
	time_t s = t->tv_sec;
	if (!gmtime_r(&s, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm))
		return json_null();
	snprintf(frac, sizeof(frac), ".%06uZ", (unsigned)(t->tv_nsec / 1000) % 1000000u);
	strncat(buf, frac, sizeof(buf) - strlen(buf) - 1);
	return json_string(buf);
}

json_t *record_packets(const struct pktring_packet *p, size_t n, unsigned snaplen)
{
	size_t len = PCAP_HEADER_LEN;
	for (size_t i = 0; i < n; i++)
		len += 16 + p[i].caplen;
	unsigned char *pcap = malloc(len);
	size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64len);
	json_t *o = json_object(), *list = json_array();
	if (!pcap || !b64 || !o || !list)
		goto oom;

	put32(pcap, PCAP_MAGIC_US);
	put16(pcap + 4, 2);
	put16(pcap + 6, 4);
	put32(pcap + 8, 0);
	put32(pcap + 12, 0);
	put32(pcap + 16, snaplen);
	put32(pcap + 20, LINKTYPE_RAW);
	size_t off = PCAP_HEADER_LEN;
	for (size_t i = 0; i < n; i++) {
		put32(pcap + off, (uint32_t)p[i].when.tv_sec);
		put32(pcap + off + 4, (uint32_t)(p[i].when.tv_nsec / 1000));
		put32(pcap + off + 8, p[i].caplen);
		put32(pcap + off + 12, p[i].wire_len);
		memcpy(pcap + off + 16, p[i].data, p[i].caplen);
		off += 16 + p[i].caplen;
		json_array_append_new(list, json_pack("{so sI sI}", "time", time_json(&p[i].when), "wire_len",
						      (json_int_t)p[i].wire_len, "caplen", (json_int_t)p[i].caplen));
	}
	sodium_bin2base64(b64, b64len, pcap, len, sodium_base64_VARIANT_ORIGINAL);
	json_object_set_new(o, "count", json_integer((json_int_t)n));
	json_object_set_new(o, "snaplen", json_integer(snaplen));
	json_object_set_new(o, "list", list);
	json_object_set_new(o, "pcap", json_string(b64));
	free(pcap);
	free(b64);
	return o;
oom:
	free(pcap);
	free(b64);
	json_decref(o);
	json_decref(list);
	return NULL;
}

int record_pcap_decode(const json_t *packets, unsigned char **out, size_t *len)
{
	const json_t *s = json_object_get(packets, "pcap");
	if (!json_is_string(s))
		return -EINVAL;
	size_t in = json_string_length(s);
	unsigned char *buf = malloc(in / 4 * 3 + 3);
	if (!buf)
		return -ENOMEM;
	if (sodium_base642bin(buf, in / 4 * 3 + 3, json_string_value(s), in, NULL, len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0) {
		free(buf);
		return -EINVAL;
	}
	if (*len < PCAP_HEADER_LEN) {
		free(buf);
		return -EBADMSG;
	}
	*out = buf;
	return 0;
}
