/* test-cs-stream.c - the decision stream parser (crowdsec/stream.h) on what crowdsec 1.4.6
 * sends and on what a forged or broken LAPI could send. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "tap.h"

static int parse(const char *body, size_t max, struct cs_stream *s)
{
	char err[256] = "";
	int r = cs_stream_parse(body, strlen(body), max, s, err, sizeof(err));
	if (r < 0 && !*err)
		return -999; /* an error without its reason */
	return r;
}

static const char *fmt(const struct nfs_addr *a)
{
	static char buf[NFS_ADDR_STRLEN];
	return nfs_addr_format(a, buf, sizeof(buf));
}

int main(void)
{
	struct cs_stream s;

	/* As crowdsec 1.4.6 answers startup=true. */
	CHECK_EQ(parse("{\"deleted\":null,\"new\":[{\"duration\":\"59m59.63568882s\",\"id\":1,\"origin\":\"nfsentry\","
		       "\"scenario\":\"nfsentry/scan\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.7\"},"
		       "{\"duration\":\"4h\",\"id\":2,\"origin\":\"cscli\",\"scenario\":\"x\",\"scope\":\"Range\","
		       "\"type\":\"ban\",\"value\":\"2001:db8:5::/64\"},"
		       "{\"duration\":\"4h\",\"id\":3,\"origin\":\"cscli\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"2001:db8::7\"},"
		       "{\"duration\":\"4h\",\"id\":4,\"origin\":\"cscli\",\"scope\":\"Ip\",\"type\":\"captcha\",\"value\":\"192.0.2.8\"},"
		       "{\"duration\":\"4h\",\"id\":5,\"origin\":\"cscli\",\"scope\":\"Country\",\"type\":\"ban\",\"value\":\"FR\"},"
		       "{\"duration\":\"4h\",\"id\":6,\"origin\":\"cscli\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"198.51.100.77/24\"}"
		       "]}", 100, &s), 0, "a start-up body");
	CHECK_EQ(s.n_added, 4, "Ip and Range bans, IPv4 and IPv6");
	CHECK_EQ(s.n_deleted, 0, "deleted: null");
	CHECK_EQ(s.other_type, 1, "a captcha counted and ignored");
	CHECK_EQ(s.other_scope, 1, "a Country counted and ignored");
	CHECK_STR(fmt(&s.added[0].addr), "192.0.2.7", "an Ip");
	CHECK_EQ(s.added[0].id, 1, "its id");
	CHECK_EQ(s.added[0].ms, 3599635, "its remaining duration");
	CHECK(s.added[0].nfsentry && !s.added[1].nfsentry, "origin nfsentry told apart");
	CHECK_STR(fmt(&s.added[1].addr), "2001:db8:5::/64", "an IPv6 Range");
	CHECK_STR(fmt(&s.added[2].addr), "2001:db8::7", "an IPv6 Ip, a /128");
	CHECK_EQ(s.added[2].addr.plen, 128, "/128");
	CHECK_STR(fmt(&s.added[3].addr), "198.51.100.0/24", "a Range with host bits: the prefix it names");
	cs_stream_free(&s);

	CHECK_EQ(parse("{\"deleted\":[{\"duration\":\"-160.760779ms\",\"id\":1,\"scope\":\"Ip\",\"type\":\"ban\","
		       "\"value\":\"192.0.2.7\"}],\"new\":null}", 100, &s), 0, "a deletion, negative duration");
	CHECK_EQ(s.n_deleted, 1, "deleted read");
	CHECK_EQ(s.deleted[0].id, 1, "its id");
	CHECK_EQ(s.n_added, 0, "new: null");
	cs_stream_free(&s);

	CHECK_EQ(parse("{\"deleted\":null,\"new\":null}", 100, &s), 0, "nothing changed");
	CHECK_EQ(s.n_added + s.n_deleted, 0, "nothing");
	cs_stream_free(&s);
	CHECK_EQ(parse("{}", 100, &s), 0, "no keys at all is nothing");
	cs_stream_free(&s);

	/* Forged or broken decisions: counted invalid, the others still read. */
	CHECK_EQ(parse("{\"new\":["
		       "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.1\"},"           /* no id */
		       "{\"duration\":\"1h\",\"id\":\"7\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.1\"},"  /* id a string */
		       "{\"duration\":\"1h\",\"id\":8,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.0/24\"},"   /* Ip with a prefix */
		       "{\"duration\":\"1h\",\"id\":9,\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"192.0.2.1\"},"   /* Range without one */
		       "{\"duration\":\"1h\",\"id\":10,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"not-an-ip\"},"
		       "{\"duration\":\"1h\",\"id\":11,\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"10.0.0.0/33\"},"
		       "{\"duration\":\"forever\",\"id\":12,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.2\"},"
		       "{\"id\":13,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.3\"},"                          /* no duration */
		       "{\"duration\":\"1h\",\"id\":14,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":7},"
		       "{\"duration\":\"-1s\",\"id\":15,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.4\"},"   /* expired */
		       "\"a string\", 42, null, [],"
		       "{\"duration\":\"1h\",\"id\":16,\"scope\":\"ip\",\"type\":\"BAN\",\"value\":\"192.0.2.5\"}"    /* case */
		       "]}", 100, &s), 0, "a body of broken decisions");
	CHECK_EQ(s.n_added, 1, "only the good one is kept");
	CHECK_EQ(s.invalid, 13, "the others are invalid");
	CHECK_EQ(s.expired, 1, "a new one already over is expired");
	CHECK_STR(s.n_added ? fmt(&s.added[0].addr) : "", "192.0.2.5", "scope and type compare without case");
	cs_stream_free(&s);

	/* Whitespace anywhere JSON allows it, keys in any order, a key of a newer LAPI ignored. */
	CHECK_EQ(parse(" \n{ \"extra\" : {\"a\":[1,\"]\"]} ,\r\n \"deleted\" :\tnull , \"new\" : [ {\"duration\":\"1h\","
		       "\"id\":1,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.1\",\"scenario\":\"a \\\"]}\"} ,"
		       "{\"duration\":\"1h\",\"id\":2,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.2\"} ] } \n", 100, &s),
		 0, "whitespace, an unknown key, brackets and quotes inside strings");
	CHECK_EQ(s.n_added, 2, "both read");
	cs_stream_free(&s);

	/* Not a stream at all. */
	CHECK_EQ(parse("{\"new\":[{\"id\":1}", 100, &s), -EINVAL, "an array not closed");
	CHECK_EQ(parse("{\"new\":[{\"id\":1},]}", 100, &s), -EINVAL, "a trailing comma");
	CHECK_EQ(parse("{\"new\":[{\"id\":1} {\"id\":2}]}", 100, &s), -EINVAL, "a missing comma");
	CHECK_EQ(parse("{\"new\":[{\"id\":1,\"id\":2}]}", 100, &s), -EINVAL, "a key twice inside a decision");
	CHECK_EQ(parse("{\"new\":[{\"id\":\"unterminated}]}", 100, &s), -EINVAL, "a string not closed");
	CHECK_EQ(parse("{\"new\":[]} x", 100, &s), -EINVAL, "bytes after the object");
	CHECK_EQ(parse("{\"new\" []}", 100, &s), -EINVAL, "no colon");
	CHECK_EQ(parse("{new:[]}", 100, &s), -EINVAL, "a key without quotes");
	CHECK_EQ(parse("{\"new\":nul}", 100, &s), -EINVAL, "nul");
	CHECK_EQ(parse("", 100, &s), -EINVAL, "empty body");
	CHECK_EQ(parse("[]", 100, &s), -EINVAL, "an array");
	CHECK_EQ(parse("{\"new\":{}}", 100, &s), -EINVAL, "new an object");
	CHECK_EQ(parse("{\"new\":\"x\"}", 100, &s), -EINVAL, "new a string");
	CHECK_EQ(parse("{\"new\":[],\"new\":[]}", 100, &s), -EINVAL, "a key twice");
	CHECK_EQ(parse("{\"new\":[", 100, &s), -EINVAL, "cut short");
	CHECK_EQ(cs_stream_parse("{\"new\":[]}\0garbage", 18, 100, &s, (char[64]){ 0 }, 64), -EINVAL,
		 "a NUL inside the body");

	/* A flood: more decisions than the map may hold are counted, not stored. */
	size_t n = 5000, len = 0, cap = n * 120 + 64;
	char *big = malloc(cap);
	len += (size_t)snprintf(big + len, cap - len, "{\"new\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(big + len, cap - len, "%s{\"duration\":\"1h\",\"id\":%zu,\"scope\":\"Ip\",\"type\":\"ban\","
					"\"value\":\"10.%zu.%zu.1\"}", i ? "," : "", i, i / 256, i % 256);
	len += (size_t)snprintf(big + len, cap - len, "],\"deleted\":null}");
	CHECK_EQ(parse(big, 1000, &s), 0, "5000 decisions, 1000 allowed");
	CHECK_EQ(s.n_added, 1000, "1000 kept");
	CHECK_EQ(s.over, 4000, "4000 counted over");
	cs_stream_free(&s);
	free(big);

	/* A hostile body of a million tiny values: read one at a time, counted invalid (a whole
	 * tree of them would take twenty times the bytes). */
	n = 1000000;
	big = malloc(n * 3 + 64);
	len = (size_t)sprintf(big, "{\"new\":[");
	for (size_t i = 0; i < n; i++) {
		memcpy(big + len, i ? ",[]" : "[]", i ? 3 : 2);
		len += i ? 3 : 2;
	}
	len += (size_t)sprintf(big + len, "]}");
	CHECK_EQ(parse(big, 2000000, &s), 0, "a million empty arrays");
	CHECK_EQ(s.invalid, 1000000, "all invalid");
	CHECK(s.added == NULL, "nothing kept");
	cs_stream_free(&s);
	free(big);

	/* Deeply nested JSON: jansson's depth limit, not the stack. */
	char *deep = malloc(200002);
	memset(deep, '[', 100000);
	memset(deep + 100000, ']', 100000);
	deep[200000] = '\0';
	CHECK_EQ(parse(deep, 100, &s), -EINVAL, "100000 nested arrays refused");
	memcpy(deep, "{\"new\":", 7);
	deep[199999] = '}';
	CHECK_EQ(parse(deep, 100, &s), -EINVAL, "100000 nested arrays in new refused");
	free(deep);
	return tap_done();
}
