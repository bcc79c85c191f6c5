/* test-event.c - events written through each kind of sink, read back and parsed; one golden
 * line (tests/golden/events/one.json); packet bytes that are not UTF-8; log rotation. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/event.h"
#include "core/log.h"
#include "tap.h"

#define GOLDEN "tests/golden/events/one.json"
#define GOLDEN_REFUSED "tests/golden/events/refused.json"

static char dir[] = "/tmp/test-event-XXXXXX";

static char *tmppath(const char *name)
{
	static char buf[4][256];
	static int k;
	char *p = buf[k++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

/* The whole file, NUL-terminated, or NULL. The caller frees it. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
		}
		size_t k = fread(buf + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* One line: ASCII without control characters (jansson leaves DEL, 0x7f, as it is: it is
 * ASCII, and legal in a JSON string), then exactly one newline at the end. */
static bool one_ascii_line(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || s[n - 1] != '\n')
		return false;
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7f)
			return false;
	return true;
}

/* @s fit for one TAP line: newlines and other bytes outside printable ASCII as \xNN. */
static const char *oneline(const char *s)
{
	static char buf[8][2048];
	static int k;
	char *b = buf[k++ % 8];
	size_t o = 0;

	if (!s)
		return "(none)";
	for (; *s && o + 5 < sizeof(buf[0]); s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f)
			b[o++] = (char)c;
		else
			o += (size_t)snprintf(b + o, 5, "\\x%02x", c);
	}
	b[o] = '\0';
	return b;
}

static json_t *parse(const char *line)
{
	json_error_t e;
	json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		printf("# parse error: %s: %s\n", e.text, oneline(line));
	return j;
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "(missing)";
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* stderr into a file for a while, to see what was logged. */
static int saved_stderr = -1;
static char logpath[300];

static void capture_begin(void)
{
	snprintf(logpath, sizeof(logpath), "%s", tmppath("stderr"));
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *capture_end(void)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	return slurp(logpath, NULL);
}

/* CHECK_EQ would evaluate its argument twice. */
static void emit_ok(struct event_sink *s, json_t *ev, const char *what)
{
	int r = event_emit(s, ev);
	CHECK(r == 0, "%s: %d", what, r);
}

static struct nfs_addr addr(const char *s)
{
	struct nfs_addr a = { 0 };
	if (nfs_addr_parse(s, false, &a))
		printf("Bail out! bad address %s\n", s);
	return a;
}

static void test_full_event(void)
{
	struct nfs_addr src = addr("192.0.2.7"), dst = addr("198.51.100.9");
	struct event_head h = {
		.time = { 1795316753, 123456789 }, .event = "backdoor", .detector = "ssh-sig", .class_ = "ssh",
		.src = &src, .dst = &dst, .sport = 40022, .dport = 2222, .proto = IPPROTO_TCP, .action = "ban",
	};
	struct event_sink *s = NULL;
	json_t *ev, *j;
	char *text;
	int r;

	r = event_sink_open(&s, tmppath("full.json"), NULL);
	CHECK(r == 0, "sink on a new file: %d", r);
	if (r)
		return;
	ev = event_new(&h);
	CHECK(ev != NULL, "event_new");
	json_object_set_new(ev, "banner", json_string("SSH-2.0-OpenSSH_9.6"));
	emit_ok(s, ev, "event_emit to a file");
	event_sink_close(s);

	struct stat st;
	CHECK(stat(tmppath("full.json"), &st) == 0 && (st.st_mode & 0777) == 0640, "file created 0640 (umask 022): %o",
	      (unsigned)(st.st_mode & 0777));
	text = slurp(tmppath("full.json"), NULL);
	CHECK(text && one_ascii_line(text), "one line of ASCII: %s", oneline(text));
	j = text ? parse(text) : NULL;
	CHECK(j != NULL, "the line parses");
	if (j) {
		CHECK_STR(str(j, "time"), "2026-11-22T03:05:53.123456Z", "time");
		CHECK_STR(str(j, "event"), "backdoor", "event");
		CHECK_STR(str(j, "detector"), "ssh-sig", "detector");
		CHECK_STR(str(j, "class"), "ssh", "class");
		CHECK_STR(str(j, "src"), "192.0.2.7", "src");
		CHECK_STR(str(j, "dst"), "198.51.100.9", "dst");
		CHECK_EQ(num(j, "sport"), 40022, "sport is a number");
		CHECK_EQ(num(j, "dport"), 2222, "dport is a number");
		CHECK_STR(str(j, "proto"), "tcp", "proto");
		CHECK_STR(str(j, "action"), "ban", "action");
		CHECK_STR(str(j, "banner"), "SSH-2.0-OpenSSH_9.6", "evidence field");
		CHECK_EQ(json_object_size(j), 11, "no other fields");
	}
	/* The order on the line is the documented one, evidence last. */
	CHECK(text && !strncmp(text, "{\"time\":", 8) && strstr(text, "\"event\":") < strstr(text, "\"detector\":") &&
	      strstr(text, "\"dport\":") < strstr(text, "\"proto\":") &&
	      strstr(text, "\"action\":") < strstr(text, "\"banner\":"), "fields in order");
	json_decref(j);
	free(text);
}

/* Emits @h (with no sink) into a stream and parses it back. */
static json_t *roundtrip(const struct event_head *h, json_t *evidence_into(json_t *))
{
	struct event_sink *s = NULL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	json_t *ev, *j = NULL;

	if (!f || event_sink_open(&s, NULL, f))
		return NULL;
	ev = event_new(h);
	if (evidence_into)
		ev = evidence_into(ev);
	if (event_emit(s, ev) == 0 && one_ascii_line(buf))
		j = parse(buf);
	else
		printf("# not one ASCII line: %s\n", oneline(buf));
	event_sink_close(s);
	fclose(f);
	free(buf);
	return j;
}

static void test_fields(void)
{
	struct nfs_addr net6 = addr("2001:db8::/64"), host6 = addr("2001:db8::1");
	struct event_head h = { .time = { 0, 999999999 }, .event = "scan", .detector = "scan", .class_ = NULL,
				.src = &net6, .dst = NULL, .sport = 53, .dport = 33434, .proto = IPPROTO_UDP,
				.action = "alert" };
	json_t *j;

	j = roundtrip(&h, NULL);
	CHECK(j != NULL, "IPv6 prefix event parses");
	CHECK_STR(str(j, "src"), "2001:db8::/64", "src as a prefix");
	CHECK(!json_object_get(j, "dst") && !json_object_get(j, "class"), "no dst, no class when NULL");
	CHECK(num(j, "sport") == 53 && num(j, "dport") == 33434 && !strcmp(str(j, "proto"), "udp"), "UDP ports and proto");
	CHECK_STR(str(j, "time"), "1970-01-01T00:00:00.999999Z", "microseconds truncated, not rounded");
	json_decref(j);

	h.src = &host6;
	h.dst = &net6;
	h.proto = IPPROTO_ICMPV6;
	j = roundtrip(&h, NULL);
	CHECK(j && !strcmp(str(j, "src"), "2001:db8::1") && !strcmp(str(j, "dst"), "2001:db8::/64") &&
	      !strcmp(str(j, "proto"), "icmpv6") && !json_object_get(j, "sport") && !json_object_get(j, "dport"),
	      "ICMPv6: no ports");
	json_decref(j);

	h.proto = IPPROTO_ICMP;
	j = roundtrip(&h, NULL);
	CHECK(j && !strcmp(str(j, "proto"), "icmp"), "proto icmp");
	json_decref(j);

	h.proto = 132; /* SCTP: a number, with its ports (nmap -sY) */
	j = roundtrip(&h, NULL);
	CHECK(j && num(j, "proto") == 132 && num(j, "sport") == 53 && num(j, "dport") == 33434, "SCTP as a number, with ports");
	json_decref(j);

	h.proto = 47; /* GRE, say: no ports */
	j = roundtrip(&h, NULL);
	CHECK(j && num(j, "proto") == 47 && !json_object_get(j, "sport"), "other protocols as a number, no ports");
	json_decref(j);

	h.proto = 0;
	h.event = "unban";
	h.detector = NULL;
	j = roundtrip(&h, NULL);
	CHECK(j && !json_object_get(j, "proto") && !json_object_get(j, "sport") && !json_object_get(j, "detector") &&
	      !strcmp(str(j, "event"), "unban"), "proto 0: no proto field");
	json_decref(j);
}

static const char junk[] = "SSH-2.0-\xff\n\"x";

static json_t *add_junk(json_t *ev)
{
	char all[255];
	for (int i = 0; i < 255; i++)
		all[i] = (char)(i + 1); /* every byte but NUL */
	/* What a detector does with bytes from a packet: no UTF-8 check (json_string() would
	 * refuse them and drop the field). */
	json_object_set_new(ev, "banner", json_stringn_nocheck(junk, sizeof(junk) - 1));
	json_object_set_new(ev, "bytes", json_stringn_nocheck(all, sizeof(all)));
	json_object_set_new(ev, "utf8", json_string("caf\xc3\xa9 \xe2\x82\xac"));
	json_t *arr = json_array();
	json_array_append_new(arr, json_stringn_nocheck("\xc0\xaf\xed\xa0\x80", 5)); /* overlong, surrogate */
	json_object_set_new(ev, "nested", arr);
	return ev;
}

static void test_junk(void)
{
	struct nfs_addr src = addr("203.0.113.5");
	struct event_head h = { .time = { 1795316753, 0 }, .event = "backdoor", .detector = "ssh-sig", .class_ = "ssh",
				.src = &src, .proto = IPPROTO_TCP, .sport = 22, .dport = 2222, .action = "alert" };
	json_t *j = roundtrip(&h, add_junk);

	CHECK(j != NULL, "binary evidence: still one ASCII JSON line that parses");
	CHECK(!strcmp(str(j, "banner"), "SSH-2.0-\\xff\n\"x"), "the bad byte as \\xff, newline and quote kept: %s",
	      oneline(str(j, "banner")));
	CHECK(!strcmp(str(j, "utf8"), "caf\xc3\xa9 \xe2\x82\xac"), "valid UTF-8 kept (as \\u escapes on the line): %s",
	      oneline(str(j, "utf8")));
	CHECK_STR(json_string_value(json_array_get(json_object_get(j, "nested"), 0)) ? json_string_value(json_array_get(json_object_get(j, "nested"), 0)) : "(missing)",
		  "\\xc0\\xaf\\xed\\xa0\\x80", "overlong and surrogate forms escaped, inside an array too");
	const char *b = str(j, "bytes");
	CHECK(strlen(b) == 127 + 128 * 4 && !strncmp(b + 127, "\\x80\\x81", 8), "all 255 bytes: ASCII kept, the rest \\xNN");
	CHECK_STR(str(j, "src"), "203.0.113.5", "common fields untouched");
	json_decref(j);
}

/* The event of @h with two evidence fields, written and compared with the file @path. */
static void golden(const struct event_head *h, const char *path)
{
	struct event_sink *s = NULL;
	json_t *ev;
	char *got, *want;

	CHECK(event_sink_open(&s, tmppath("golden.json"), NULL) == 0, "sink for the golden event");
	if (!s)
		return;
	ev = event_new(h);
	json_object_set_new(ev, "ports", json_integer(25));
	json_object_set_new(ev, "window", json_integer(300));
	emit_ok(s, ev, "golden event written");
	event_sink_close(s);
	got = slurp(tmppath("golden.json"), NULL);
	want = slurp(path, NULL);
	CHECK(got && want && !strcmp(got, want), "matches %s%s%s", path, want ? "" : " (missing)",
	      got && want && strcmp(got, want) ? oneline(got) : "");
	free(got);
	free(want);
	unlink(tmppath("golden.json"));
}

static void test_golden(void)
{
	struct nfs_addr src = addr("192.0.2.7"), dst = addr("198.51.100.9");
	struct event_head h = {
		.time = { 1795316753, 123456789 }, .event = "scan", .detector = "scan", .class_ = "syn",
		.src = &src, .dst = &dst, .sport = 61000, .dport = 22, .proto = IPPROTO_TCP, .action = "ban",
	};

	golden(&h, GOLDEN);
	/* A ban the writer refused: the reason right after the action (docs/events.md). */
	h.action = "refused";
	h.reason = "active peer";
	golden(&h, GOLDEN_REFUSED);
}

static void test_reopen(void)
{
	struct nfs_addr src = addr("192.0.2.1");
	struct event_head h = { .time = { 1795316753, 0 }, .event = "ban", .src = &src, .action = "ban" };
	struct event_sink *s = NULL;
	char *a, *b;

	CHECK(event_sink_open(&s, tmppath("events.json"), NULL) == 0, "sink for rotation");
	if (!s)
		return;
	emit_ok(s, event_new(&h), "first event");
	CHECK(rename(tmppath("events.json"), tmppath("events.json.1")) == 0, "logrotate renames the file");
	emit_ok(s, event_new(&h), "second event, before SIGHUP: still the old file");
	int r = event_sink_reopen(s);
	CHECK(r == 0, "event_sink_reopen: %d", r);
	CHECK(access(tmppath("events.json"), F_OK) == 0, "a new file was created");
	h.event = "unban";
	h.action = "ignore";
	emit_ok(s, event_new(&h), "third event");
	event_sink_close(s);
	a = slurp(tmppath("events.json.1"), NULL);
	b = slurp(tmppath("events.json"), NULL);
	CHECK(a && count_lines(a) == 2 && !strstr(a, "unban"), "rotated file holds the first two");
	CHECK(b && count_lines(b) == 1 && strstr(b, "\"event\":\"unban\""), "new file holds the third: %s", oneline(b));
	free(a);
	free(b);

	/* A sink without a file has nothing to reopen. */
	CHECK(event_sink_open(&s, NULL, NULL) == 0 && event_sink_reopen(s) == 0, "reopen without a file");
	event_sink_close(s);
}

static void test_stream_and_log(void)
{
	struct nfs_addr src = addr("192.0.2.1");
	struct event_head h = { .time = { 1795316753, 0 }, .event = "probe", .detector = "telnet-sig",
				.src = &src, .proto = IPPROTO_TCP, .sport = 1, .dport = 23, .action = "alert" };
	struct event_sink *s = NULL;
	char *buf = NULL, *log;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	CHECK(event_sink_open(&s, NULL, f) == 0, "sink on a stream");
	emit_ok(s, event_new(&h), "to the stream");
	emit_ok(s, event_new(&h), "to the stream again");
	event_sink_close(s); /* the stream stays the caller's */
	CHECK(fputs("", f) >= 0 && fflush(f) == 0, "the stream is still open");
	CHECK(buf && count_lines(buf) == 2 && !strncmp(buf, "{\"time\":\"2026-11-22T03:05:53.000000Z\",", 38),
	      "two lines on the stream: %s", oneline(buf));
	fclose(f);
	free(buf);

	/* Neither file nor stream: logged only. */
	CHECK(event_sink_open(&s, NULL, NULL) == 0, "sink with neither");
	capture_begin();
	int r1 = event_emit(s, event_new(&h));
	int r2 = event_emit(NULL, event_new(&h));
	log = capture_end();
	event_sink_close(s);
	CHECK(r1 == 0 && r2 == 0, "logged only, returns 0 (and for a NULL sink)");
	CHECK(log && count_lines(log) == 2 && !strncmp(log, "event: {\"time\":", 15) && strstr(log, "\"telnet-sig\""),
	      "logged at notice: %s", oneline(log));
	free(log);

	/* A write that fails returns -errno, and the line is in the log all the same. */
	if (access("/dev/full", W_OK) == 0) {
		CHECK(event_sink_open(&s, "/dev/full", NULL) == 0, "sink on /dev/full");
		capture_begin();
		int r = s ? event_emit(s, event_new(&h)) : 0;
		log = capture_end();
		uint64_t lost = event_sink_lost(s);
		event_sink_close(s);
		CHECK(r == -ENOSPC && log && strstr(log, "event: {"), "full disk: %d, still logged", r);
		CHECK(lost == 1 && log && strstr(log, "error: /dev/full: cannot write events: No space left on device; 1 lost"),
		      "full disk: counted (%llu) and said: %s", (unsigned long long)lost, log ? oneline(log) : "");
		free(log);

		f = fopen("/dev/full", "we");
		CHECK(f && event_sink_open(&s, NULL, f) == 0, "sink on a stream to /dev/full");
		capture_begin();
		int ra = s ? event_emit(s, event_new(&h)) : 0;
		int rb = s ? event_emit(s, event_new(&h)) : 0;
		log = capture_end();
		lost = event_sink_lost(s);
		event_sink_close(s);
		if (f)
			fclose(f);
		/* Two events logged, and one line about both failures: at most one a minute. */
		CHECK(ra == -ENOSPC && rb == -ENOSPC && log && count_lines(log) == 3 &&
		      strstr(log, "cannot write events: No space left on device; 1 lost") && lost == 2,
		      "stream: %d, %d, both logged, both counted (%llu), said once", ra, rb, (unsigned long long)lost);
		free(log);
	} else {
		CHECK(1, "# SKIP no /dev/full");
	}

	s = (struct event_sink *)&h;
	CHECK(event_sink_open(&s, "/nonexistent/dir/events.json", NULL) == -ENOENT && s == (struct event_sink *)&h,
	      "missing directory: -ENOENT, out untouched");
	/* A key that is not UTF-8 is the detector's bug, not packet data: refused, but said. */
	json_t *bad = event_new(&h);
	json_object_set_new_nocheck(bad, "\xff", json_integer(1));
	capture_begin();
	int rbad = event_emit(NULL, bad);
	log = capture_end();
	CHECK(rbad == -EINVAL && log && strstr(log, "cannot encode probe event from telnet-sig"), "bad key: %d, %s", rbad,
	      oneline(log));
	free(log);

	capture_begin();
	int r = event_emit(NULL, NULL);
	log = capture_end();
	CHECK(r == -ENOMEM && log && strstr(log, "event: lost"), "event_emit(NULL): -ENOMEM, said so");
	free(log);
	event_sink_close(NULL);
}

/* Writers race each other and a reopen loop; every line must come out whole. */
#define THREADS 4
#define PER_THREAD 250

static struct event_sink *shared;

static void *writer(void *arg)
{
	struct nfs_addr src = addr("2001:db8::42");
	struct event_head h = { .time = { 1795316753, 0 }, .event = "flood", .detector = "scan", .src = &src,
				.proto = IPPROTO_TCP, .sport = 1, .dport = 80, .action = "drop" };
	long id = (long)(intptr_t)arg, fails = 0;

	for (int i = 0; i < PER_THREAD; i++) {
		json_t *ev = event_new(&h);
		json_object_set_new(ev, "writer", json_integer(id));
		json_object_set_new(ev, "seq", json_integer(i));
		json_object_set_new(ev, "pad", json_string("................................................................"));
		fails += event_emit(shared, ev) != 0;
	}
	return (void *)(intptr_t)fails;
}

static void test_threads(void)
{
	pthread_t t[THREADS];
	long fails = 0;
	size_t good = 0, lines = 0;
	char *text, *line, *save = NULL;

	log_set_level(LOG_LVL_WARN); /* a thousand notices would bury the TAP output */
	CHECK(event_sink_open(&shared, tmppath("threads.json"), NULL) == 0, "shared sink");
	if (!shared)
		return;
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i);
	for (int i = 0; i < 50; i++)
		event_sink_reopen(shared); /* same path: swaps the descriptor under the writers */
	for (int i = 0; i < THREADS; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		fails += (long)(intptr_t)ret;
	}
	event_sink_close(shared);
	log_set_level(LOG_LVL_INFO);

	text = slurp(tmppath("threads.json"), NULL);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		good += j && json_object_size(j) == 11;
		json_decref(j);
		lines++;
	}
	CHECK(fails == 0 && lines == THREADS * PER_THREAD && good == lines, "%d threads: %zu lines, %zu whole, %ld failed",
	      THREADS, lines, good, fails);
	free(text);
}

static void cleanup(void)
{
	static const char *const names[] = { "full.json", "golden.json", "events.json", "events.json.1", "threads.json",
					     "stderr" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(tmppath(names[i]));
	rmdir(dir);
}

int main(void)
{
	umask(022);
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_full_event();
	test_fields();
	test_junk();
	test_golden();
	test_reopen();
	test_stream_and_log();
	test_threads();
	cleanup();
	return tap_done();
}
