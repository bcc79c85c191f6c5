/* nfsentryctl.c - the client of nfsentry's control socket (protocol: docs/control.md).
 *
 * One request per run: build it with jansson, send it as one line, read one line back
 * (bounded in size and time), print it as JSON or as text. Exit status: 0 done, 1 nfsentry
 * could not be reached or refused the request, 2 the command line is wrong. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "build-config.h"
#include "core/duration.h"

#define CTL_SOCKET_DEFAULT "/run/nfsentry/control.sock"
#define CTL_REQUEST_MAX (64 * 1024)        /* docs/control.md: the server reads no more */
#define CTL_ANSWER_MAX (16 * 1024 * 1024)  /* a sources list of max_sources fits well inside */
#define CTL_TIMEOUT_S 10                   /* the server answers at once; 10 s means it is stuck */
#define CTL_LIMIT_MAX 1000000

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char *prog = "nfsentryctl";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nfsentryctl [-s PATH] [--json] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  status                          version, uptime, queue counters, totals\n"
		"  bans                            active bans and the time they have left\n"
		"  ban ADDRESS [--for DURATION]    ban now (DURATION: 90s, 10m, 1h30m, 7d;\n"
		"                                  default: [ban] duration)\n"
		"  unban ADDRESS                   lift a ban (an IPv6 address: its banned prefix;\n"
		"                                  a prefix as `bans` lists it works too)\n"
		"  allow ADDRESS|CIDR              never ban this network, until the next reload\n"
		"  sources [--limit N]             tracked sources, most closed ports first\n"
		"  flows [--limit N]               connections under inspection, most packets first\n"
		"  evidence TOKEN [--pcap FILE]    the evidence record behind an event: checks it is\n"
		"                                  intact, prints it, writes its packets (root only)\n"
		"  evidence --verify               check every record and the chain that links them\n"
		"  reload                          re-read the configuration (as SIGHUP)\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH   control socket (default %s)\n"
		"      --json          print nfsentry's answer as it came: one JSON object\n"
		"  -h, --help          this help\n"
		"      --version       print the version\n"
		"\n"
		"Exit status: 0 done, 1 not reached or refused (or evidence not intact), 2 bad command line.\n",
		CTL_SOCKET_DEFAULT);
}

/* A complaint about the command line: one line, then how the command is used. */
static int bad_usage(const char *cmd_usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_usage(const char *cmd_usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: nfsentryctl [-s PATH] [--json] %s\n", cmd_usage);
	return EXIT_USAGE;
}

/* --- Checking arguments before anything is sent --- */

/* True if the bits of @a (@len bytes) past @plen are zero; else clears them. */
static bool host_bits_clear(unsigned char *a, size_t len, unsigned plen)
{
	bool clear = true;

	for (size_t i = 0; i < len; i++) {
		unsigned first = (unsigned)i * 8; /* bit number of this byte's top bit */
		unsigned char keep = plen >= first + 8 ? 0xff : plen <= first ? 0 : (unsigned char)(0xff << (8 - (plen - first)));
		if (a[i] & ~keep)
			clear = false;
		a[i] &= keep;
	}
	return clear;
}

/* ADDRESS or ADDRESS/LEN with LEN within the family's bits. Returns 0, -EINVAL, or -EDOM
 * when host bits are set past LEN (the daemon refuses "192.0.2.1/24" too; saying so here
 * names the network meant, written to @net). */
static int parse_network(const char *s, char *net, size_t net_len)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned plen = 0, max;
	const char *p;

	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, buf) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		max = 128;
	else
		return -EINVAL;
	if (!slash)
		return 0;
	p = slash + 1;
	if (!*p || strlen(p) > 3)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		plen = plen * 10 + (unsigned)(*p - '0');
	}
	if (plen > max)
		return -EINVAL;
	if (host_bits_clear(buf, max / 8, plen))
		return 0;
	inet_ntop(max == 32 ? AF_INET : AF_INET6, buf, addr, sizeof(addr));
	snprintf(net, net_len, "%s/%u", addr, plen);
	return -EDOM;
}

/* Checks the target of ban, unban (an address; IPv6 also a prefix, as `bans` lists it) or
 * allow (any network). Returns 0, or prints why not and returns EXIT_USAGE. */
static int check_target(const char *cmd, const char *use, const char *s, bool any_network)
{
	char net[INET6_ADDRSTRLEN + 8];
	int r = parse_network(s, net, sizeof(net));

	if (r == -EDOM)
		return bad_usage(use, "%s: '%s' has host bits set; the network is %s", cmd, s, net);
	if (r < 0)
		return bad_usage(use, "%s: '%s' is not an IPv4 or IPv6 %s", cmd, s,
				 any_network ? "address or network (ADDRESS/LEN)" : "address");
	if (!any_network && strchr(s, '/') && !strchr(s, ':'))
		return bad_usage(use, "%s: '%s': IPv4 bans are single addresses", cmd, s);
	return 0;
}

static bool parse_limit(const char *s, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > CTL_LIMIT_MAX)
		return false;
	*out = v;
	return true;
}

/* --- Building requests --- */

struct ctl_args {
	const char *socket;
	bool json;
	const char *pcap; /* evidence --pcap FILE */
};

/* Takes the value of option @name from "--name VALUE" or "--name=VALUE" at argv[*i]. Returns
 * 1 if argv[*i] is that option (value in *out, NULL if missing), else 0. */
static int take_option(int argc, char **argv, int *i, const char *name, const char **out)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*out = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	*out = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

/* A request is a command name and a few members; every builder returns 0 or EXIT_USAGE. */
typedef int (*build_fn)(int argc, char **argv, struct ctl_args *a, json_t *req);

static int build_plain(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	(void)a;
	(void)req;
	if (argc > 1)
		return bad_usage(argv[0], "%s: unexpected argument '%s'", argv[0], argv[1]);
	return 0;
}

static int build_ban(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	static const char use[] = "ban ADDRESS [--for DURATION]";
	const char *addr = NULL, *dur = NULL;

	for (int i = 1; i < argc; i++) {
		if (take_option(argc, argv, &i, "--for", &dur)) {
			if (!dur)
				return bad_usage(use, "ban: --for needs a DURATION (90s, 10m, 1h30m, 7d)");
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return bad_usage(use, "ban: unknown option '%s'", argv[i]);
		} else if (!addr) {
			addr = argv[i];
		} else {
			return bad_usage(use, "ban: unexpected argument '%s'", argv[i]);
		}
	}
	if (!addr)
		return bad_usage(use, "ban: missing ADDRESS");
	if (check_target("ban", use, addr, false))
		return EXIT_USAGE;
	json_object_set_new(req, "address", json_string(addr));
	if (dur) {
		uint64_t secs;
		int r = duration_parse(dur, &secs);
		if (r == -ERANGE)
			return bad_usage(use, "ban: --for %s: longer than 10 years", dur);
		if (r < 0)
			return bad_usage(use, "ban: --for '%s': not a duration (like 90s, 10m, 1h30m, 7d)", dur);
		if (secs == 0)
			return bad_usage(use, "ban: --for %s: a ban must last at least 1s", dur);
		json_object_set_new(req, "seconds", json_integer((json_int_t)secs));
	}
	return 0;
}

/* unban ADDRESS, allow ADDRESS|CIDR: one positional argument under @key. */
static int build_one_target(int argc, char **argv, const char *use, const char *key, bool cidr,
			    json_t *req)
{
	const char *cmd = argv[0];

	if (argc < 2)
		return bad_usage(use, "%s: missing %s", cmd, cidr ? "ADDRESS or CIDR" : "ADDRESS");
	if (argv[1][0] == '-' && argv[1][1])
		return bad_usage(use, "%s: unknown option '%s'", cmd, argv[1]);
	if (argc > 2)
		return bad_usage(use, "%s: unexpected argument '%s'", cmd, argv[2]);
	if (check_target(cmd, use, argv[1], cidr))
		return EXIT_USAGE;
	json_object_set_new(req, key, json_string(argv[1]));
	return 0;
}

static int build_unban(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	(void)a;
	return build_one_target(argc, argv, "unban ADDRESS", "address", false, req);
}

static int build_allow(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	(void)a;
	return build_one_target(argc, argv, "allow ADDRESS|CIDR", "network", true, req);
}

static int build_limited(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	char use[64];
	const char *v;
	long limit;

	(void)a;
	snprintf(use, sizeof(use), "%s [--limit N]", argv[0]);
	for (int i = 1; i < argc; i++) {
		if (!take_option(argc, argv, &i, "--limit", &v))
			return bad_usage(use, "%s: unexpected argument '%s'", argv[0], argv[i]);
		if (!v)
			return bad_usage(use, "%s: --limit needs a number", argv[0]);
		if (!parse_limit(v, &limit))
			return bad_usage(use, "%s: --limit '%s': not a number from 1 to %d", argv[0], v, CTL_LIMIT_MAX);
		json_object_set_new(req, "limit", json_integer(limit));
	}
	return 0;
}

static int build_evidence(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	static const char use[] = "evidence TOKEN [--pcap FILE] | evidence --verify";
	const char *token = NULL;
	bool verify = false;
	json_t *t;

	for (int i = 1; i < argc; i++) {
		if (take_option(argc, argv, &i, "--pcap", &a->pcap)) {
			if (!a->pcap || !a->pcap[0])
				return bad_usage(use, "evidence: --pcap needs a FILE");
		} else if (!strcmp(argv[i], "--verify")) {
			verify = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return bad_usage(use, "evidence: unknown option '%s'", argv[i]);
		} else if (!token) {
			token = argv[i];
		} else {
			return bad_usage(use, "evidence: unexpected argument '%s'", argv[i]);
		}
	}
	if (verify) {
		if (token || a->pcap)
			return bad_usage(use, "evidence: --verify takes no TOKEN and no --pcap");
		json_object_set_new(req, "verify", json_true());
		return 0;
	}
	if (!token || !token[0])
		return bad_usage(use, "evidence: missing TOKEN");
	t = json_string(token);
	if (!t)
		return bad_usage(use, "evidence: TOKEN is not valid UTF-8");
	json_object_set_new(req, "token", t);
	return 0;
}

/* --- Talking to the daemon --- */

struct answer {
	char *line;   /* the answer's bytes up to its newline, NUL-terminated */
	size_t len;
	json_t *obj;  /* parsed */
};

static void answer_deinit(struct answer *ans)
{
	free(ans->line);
	json_decref(ans->obj);
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the first newline or the end of the stream. Returns the length read, or
 * -EAGAIN (timeout), -EMSGSIZE (over CTL_ANSWER_MAX), -errno. */
static ssize_t read_line(int fd, char **out)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;
		char *nl;

		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *nb;
			if (ncap > CTL_ANSWER_MAX + 1)
				ncap = CTL_ANSWER_MAX + 1;
			if (ncap <= len + 1) {
				free(buf);
				return -EMSGSIZE;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0) {
			int err = errno == EWOULDBLOCK ? EAGAIN : errno;
			if (err == EINTR)
				continue;
			free(buf);
			return -err;
		}
		if (n == 0)
			break;
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			len = (size_t)(nl - buf);
			break;
		}
	}
	if (!buf)
		buf = malloc(1);
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

/* Sends @req to the daemon at @path and reads its answer. Prints what went wrong and returns
 * EXIT_FAILED, or 0 with @ans filled. */
static int ctl_exchange(const char *path, const char *req, struct answer *ans)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	json_error_t jerr;
	int fd, r, send_err = 0;
	ssize_t n;
	char *line = NULL;

	/* Checked by main() already; kept so this function stands on its own. */
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: %s: socket path too long\n", prog, path);
		return EXIT_FAILED;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return EXIT_FAILED;
	}
	/* SO_SNDTIMEO also bounds connect(2) on a UNIX socket whose backlog is full. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		fprintf(stderr, "%s: setsockopt: %s\n", prog, strerror(errno));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		if (err == EACCES || err == EPERM)
			fprintf(stderr, "%s: cannot reach nfsentry at %s: permission denied "
				"(the socket is for root and [daemon] control_group)\n", prog, path);
		else if (err == EAGAIN)
			fprintf(stderr, "%s: cannot reach nfsentry at %s: no connection within %d s "
				"(is it stuck?)\n", prog, path, CTL_TIMEOUT_S);
		else
			fprintf(stderr, "%s: cannot reach nfsentry at %s: %s (is it running?)\n", prog, path,
				strerror(err));
		goto fail;
	}
	/* A server that refuses at once (permission denied) may close before reading: its
	 * answer is still in our receive queue, so read it even when sending failed. */
	r = send_all(fd, req, strlen(req));
	if (r < 0)
		send_err = -r;
	n = read_line(fd, &line);
	if (n == -EAGAIN) {
		fprintf(stderr, "%s: no answer from nfsentry at %s within %d s\n", prog, path, CTL_TIMEOUT_S);
		goto fail;
	}
	if (n == -EMSGSIZE) {
		fprintf(stderr, "%s: the answer from nfsentry is over %d MiB; giving up\n", prog,
			CTL_ANSWER_MAX >> 20);
		goto fail;
	}
	if (n == -ECONNRESET || n == -EPIPE)
		n = 0; /* closed on us: no answer */
	if (n < 0 && !send_err) {
		fprintf(stderr, "%s: reading the answer from %s: %s\n", prog, path, strerror((int)-n));
		goto fail;
	}
	if (n <= 0) {
		if (send_err)
			fprintf(stderr, "%s: sending to nfsentry at %s: %s\n", prog, path, strerror(send_err));
		else
			fprintf(stderr, "%s: nfsentry at %s closed the connection without an answer\n", prog, path);
		free(line);
		goto fail;
	}
	close(fd);
	ans->obj = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	if (!ans->obj || !json_is_object(ans->obj) || !json_is_boolean(json_object_get(ans->obj, "ok"))) {
		fprintf(stderr, "%s: malformed answer from nfsentry: %s\n", prog,
			ans->obj ? "not an object with \"ok\"" : jerr.text);
		json_decref(ans->obj);
		ans->obj = NULL;
		free(line);
		return EXIT_FAILED;
	}
	ans->line = line;
	ans->len = (size_t)n;
	return 0;
fail:
	close(fd);
	return EXIT_FAILED;
}

/* --- Printing answers --- */

/* The server is trusted, but a terminal is not the place for its control characters. */
static void copy_printable(char *dst, size_t len, const char *s)
{
	size_t i = 0;

	for (; *s && i + 1 < len; s++)
		dst[i++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	dst[i] = '\0';
}

static bool get_u64(json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	return false;
}

/* A cell of text: a string as is, a number in decimal, a boolean as yes/no, else "-". */
static void fmt_value(char *buf, size_t len, json_t *v)
{
	if (json_is_string(v))
		copy_printable(buf, len, json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, len, "-");
}

static void fmt_duration(char *buf, size_t len, json_t *obj, const char *key, const char *suffix)
{
	uint64_t s;

	if (!get_u64(obj, key, &s)) {
		snprintf(buf, len, "-");
		return;
	}
	duration_format(s, buf, len);
	if (suffix)
		strncat(buf, suffix, len - strlen(buf) - 1);
}

/* "192.0.2.1:80", "[2001:db8::1]:80". */
static void fmt_endpoint(char *buf, size_t len, json_t *obj, const char *addr_key, const char *port_key)
{
	char a[128], p[32];

	fmt_value(a, sizeof(a), json_object_get(obj, addr_key));
	fmt_value(p, sizeof(p), json_object_get(obj, port_key));
	snprintf(buf, len, strchr(a, ':') ? "[%s]:%s" : "%s:%s", a, p);
}

#define TABLE_COLS 8
#define CELL_MAX 160

/* Rows of text cells printed in columns as wide as their widest cell. */
struct table {
	size_t ncols, nrows, cap;
	const char *head[TABLE_COLS];
	bool right[TABLE_COLS];  /* numbers align right */
	char (*cells)[TABLE_COLS][CELL_MAX];
};

static char *table_cell(struct table *t, size_t row, size_t col)
{
	return t->cells[row][col];
}

/* Returns the new row's index, or -ENOMEM. */
static int table_add_row(struct table *t)
{
	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;
		void *n = realloc(t->cells, ncap * sizeof(*t->cells));
		if (!n)
			return -ENOMEM;
		t->cells = n;
		t->cap = ncap;
	}
	memset(t->cells[t->nrows], 0, sizeof(*t->cells));
	return (int)t->nrows++;
}

static void table_print(const struct table *t, FILE *f)
{
	size_t w[TABLE_COLS];

	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++)
			if (strlen(t->cells[r][c]) > w[c])
				w[c] = strlen(t->cells[r][c]);
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r ? t->cells[r - 1][c] : t->head[c];
			bool last = c + 1 == t->ncols;
			if (t->right[c])
				fprintf(f, "%*s%s", (int)w[c], s, last ? "" : "  ");
			else
				fprintf(f, "%-*s%s", last ? 0 : (int)w[c], s, last ? "" : "  ");
		}
		fputc('\n', f);
	}
}

static void table_free(struct table *t)
{
	free(t->cells);
}

/* Fills a table from the array @key of @ans, one row per element, with @fill. */
static int print_list(json_t *ans, const char *key, struct table *t, const char *none,
		      void (*fill)(struct table *t, size_t row, json_t *e))
{
	json_t *list = json_object_get(ans, key), *e;
	size_t i;

	if (!json_is_array(list)) {
		fprintf(stderr, "%s: malformed answer from nfsentry: no \"%s\" list\n", prog, key);
		return EXIT_FAILED;
	}
	json_array_foreach(list, i, e) {
		int row;
		if (!json_is_object(e))
			continue;
		row = table_add_row(t);
		if (row < 0) {
			fprintf(stderr, "%s: out of memory\n", prog);
			table_free(t);
			return EXIT_FAILED;
		}
		fill(t, (size_t)row, e);
	}
	if (t->nrows)
		table_print(t, stdout);
	else
		printf("%s\n", none);
	table_free(t);
	return 0;
}

static void fill_ban(struct table *t, size_t row, json_t *e)
{
	fmt_value(table_cell(t, row, 0), CELL_MAX, json_object_get(e, "address"));
	fmt_value(table_cell(t, row, 1), CELL_MAX, json_object_get(e, "detector"));
	fmt_value(table_cell(t, row, 2), CELL_MAX, json_object_get(e, "offence"));
	fmt_duration(table_cell(t, row, 3), CELL_MAX, e, "seconds_left", NULL);
	fmt_duration(table_cell(t, row, 4), CELL_MAX, e, "timeout", NULL);
}

/* Per-class counts: an object of name -> number (nonzero ones printed), or a bare list. */
static void fmt_counts(char *buf, size_t len, json_t *v)
{
	size_t off = 0;

	buf[0] = '\0';
	if (json_is_object(v)) {
		const char *k;
		json_t *n;
		json_object_foreach(v, k, n) {
			char name[32];
			if (!json_is_integer(n) || json_integer_value(n) == 0 || off >= len)
				continue;
			copy_printable(name, sizeof(name), k);
			off += (size_t)snprintf(buf + off, len - off, "%s%s %" JSON_INTEGER_FORMAT, off ? ", " : "",
						name, json_integer_value(n));
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *n;
		json_array_foreach(v, i, n) {
			char cell[32];
			if (off >= len)
				break;
			fmt_value(cell, sizeof(cell), n);
			off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", cell);
		}
	} else {
		fmt_value(buf, len, v);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void fill_source(struct table *t, size_t row, json_t *e)
{
	fmt_value(table_cell(t, row, 0), CELL_MAX, json_object_get(e, "address"));
	fmt_value(table_cell(t, row, 1), CELL_MAX, json_object_get(e, "ports"));
	fmt_duration(table_cell(t, row, 2), CELL_MAX, e, "seconds_since_first", " ago");
	fmt_duration(table_cell(t, row, 3), CELL_MAX, e, "seconds_since_last", " ago");
	fmt_counts(table_cell(t, row, 4), CELL_MAX, json_object_get(e, "counts"));
}

static void fill_flow(struct table *t, size_t row, json_t *e)
{
	json_t *known = json_object_get(e, "initiator_known");

	fmt_endpoint(table_cell(t, row, 0), CELL_MAX, e, "client", "cport");
	fmt_endpoint(table_cell(t, row, 1), CELL_MAX, e, "server", "sport");
	fmt_value(table_cell(t, row, 2), CELL_MAX, json_object_get(e, "packets"));
	snprintf(table_cell(t, row, 3), CELL_MAX, "%s",
		 !json_is_boolean(known) ? "-" : json_is_true(known) ? "known" : "guessed");
	fmt_value(table_cell(t, row, 4), CELL_MAX, json_object_get(e, "drop"));
}

static int print_bans(json_t *ans, const struct ctl_args *args)
{
	struct table t = { .ncols = 5, .head = { "ADDRESS", "DETECTOR", "OFFENCE", "REMAINING", "TIMEOUT" },
			   .right = { [2] = true } };
	return print_list(ans, "bans", &t, "no active bans", fill_ban);
}

static int print_sources(json_t *ans, const struct ctl_args *args)
{
	struct table t = { .ncols = 5, .head = { "ADDRESS", "PORTS", "FIRST", "LAST", "COUNTS" },
			   .right = { [1] = true } };
	return print_list(ans, "sources", &t, "no sources tracked", fill_source);
}

static int print_flows(json_t *ans, const struct ctl_args *args)
{
	struct table t = { .ncols = 5, .head = { "CLIENT", "SERVER", "PACKETS", "INITIATOR", "DROP" },
			   .right = { [2] = true } };
	return print_list(ans, "flows", &t, "no connections under inspection", fill_flow);
}

#define STATUS_KEY_W 10 /* "version", "queue 10"... then the value */

static int print_status(json_t *ans, const struct ctl_args *args)
{
	static const char *const counters[] = { "packets", "accepted", "dropped", "malformed", "enobufs", "id_gaps" };
	enum { NCOUNTERS = sizeof(counters) / sizeof(counters[0]) };
	json_t *queues = json_object_get(ans, "queues"), *q;
	int w[NCOUNTERS] = { 0 }, kind_w = 0;
	char v[CELL_MAX], key[32];
	uint64_t up, n;
	size_t i;

	fmt_value(v, sizeof(v), json_object_get(ans, "version"));
	printf("%-*s%s\n", STATUS_KEY_W, "version", v);
	if (get_u64(ans, "uptime", &up))
		duration_format(up, v, sizeof(v));
	else
		snprintf(v, sizeof(v), "-");
	printf("%-*s%s\n", STATUS_KEY_W, "uptime", v);

	/* Counters line up across queues: widths first. */
	json_array_foreach(queues, i, q) {
		fmt_value(v, sizeof(v), json_object_get(q, "kind"));
		if ((int)strlen(v) > kind_w)
			kind_w = (int)strlen(v);
		for (size_t c = 0; c < NCOUNTERS; c++) {
			fmt_value(v, sizeof(v), json_object_get(q, counters[c]));
			if ((int)strlen(v) > w[c])
				w[c] = (int)strlen(v);
		}
	}
	json_array_foreach(queues, i, q) {
		fmt_value(v, sizeof(v), json_object_get(q, "queue"));
		snprintf(key, sizeof(key), "queue %s", v);
		fmt_value(v, sizeof(v), json_object_get(q, "kind"));
		printf("%-*s%-*s", STATUS_KEY_W, key, kind_w, v);
		for (size_t c = 0; c < NCOUNTERS; c++) {
			fmt_value(v, sizeof(v), json_object_get(q, counters[c]));
			printf("  %s %*s", counters[c], w[c], v);
		}
		putchar('\n');
	}

	fmt_value(v, sizeof(v), json_object_get(ans, "sources"));
	printf("%-*s%s\n", STATUS_KEY_W, "sources", v);
	fmt_value(v, sizeof(v), json_object_get(ans, "flows"));
	printf("%-*s%s\n", STATUS_KEY_W, "flows", v);
	fmt_value(v, sizeof(v), json_object_get(ans, "bans"));
	printf("%-*s%s active", STATUS_KEY_W, "bans", v);
	if (get_u64(ans, "bans_added", &n))
		printf(", %" PRIu64 " added since start", n);
	putchar('\n');
	if (get_u64(ans, "evidence_records", &n)) {
		uint64_t bytes = 0;
		get_u64(ans, "evidence_bytes", &bytes);
		printf("%-*s%" PRIu64 " records, %" PRIu64 " KiB\n", STATUS_KEY_W, "evidence", n, (bytes + 1023) / 1024);
	}
	return 0;
}

static int print_ban(json_t *ans, const struct ctl_args *args)
{
	char a[CELL_MAX], d[32];

	fmt_value(a, sizeof(a), json_object_get(ans, "address"));
	fmt_duration(d, sizeof(d), ans, "seconds", NULL);
	printf("banned %s for %s\n", a, d);
	return 0;
}

static int print_unban(json_t *ans, const struct ctl_args *args)
{
	char a[CELL_MAX];

	fmt_value(a, sizeof(a), json_object_get(ans, "address"));
	printf("unbanned %s\n", a);
	return 0;
}

static int print_allow(json_t *ans, const struct ctl_args *args)
{
	char a[CELL_MAX];

	fmt_value(a, sizeof(a), json_object_get(ans, "network"));
	printf("allowed %s until the next reload (bans already made stay)\n", a);
	return 0;
}

static int print_reload(json_t *ans, const struct ctl_args *args)
{
	(void)ans;
	printf("reload requested (as on SIGHUP; nfsentry logs the outcome)\n");
	return 0;
}

/* The packets of a record (base64 of a pcap file, docs/evidence.md) into @path, mode 0600:
 * they are the attacker's bytes and this host's, not for everyone. */
static int write_pcap(json_t *record, const char *path)
{
	json_t *b64 = json_object_get(json_object_get(record, "packets"), "pcap");
	size_t in = json_string_length(b64), len = 0;
	unsigned char *bin;
	int fd, r = 0;

	if (!json_is_string(b64)) {
		fprintf(stderr, "%s: the record holds no packets; %s not written\n", prog, path);
		return EXIT_FAILED;
	}
	bin = malloc(in / 4 * 3 + 3);
	if (!bin || sodium_base642bin(bin, in / 4 * 3 + 3, json_string_value(b64), in, NULL, &len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) < 0) {
		free(bin);
		fprintf(stderr, "%s: the record's packets are not base64; %s not written\n", prog, path);
		return EXIT_FAILED;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, bin, len) != (ssize_t)len || close(fd) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		r = EXIT_FAILED;
	} else {
		fprintf(stderr, "%s: wrote %zu bytes of packets to %s\n", prog, len, path);
	}
	free(bin);
	return r;
}

static int print_verify(json_t *ans)
{
	json_t *problems = json_object_get(ans, "problems"), *p;
	uint64_t n = 0, bytes = 0;
	char a[CELL_MAX];
	size_t i;

	get_u64(ans, "records", &n);
	get_u64(ans, "bytes", &bytes);
	fmt_value(a, sizeof(a), json_object_get(ans, "anchor"));
	printf("%" PRIu64 " records, %" PRIu64 " bytes; the chain starts after %s\n", n, bytes,
	       json_is_null(json_object_get(ans, "anchor")) ? "nothing (no record was removed)" : a);
	json_array_foreach(problems, i, p) {
		char tok[CELL_MAX], why[512];
		fmt_value(tok, sizeof(tok), json_object_get(p, "token"));
		copy_printable(why, sizeof(why), json_string_value(json_object_get(p, "problem")));
		printf("seq %" PRIu64 "  %s  %s\n", (uint64_t)json_integer_value(json_object_get(p, "seq")), tok, why);
	}
	printf("%s\n", json_array_size(problems) ? "NOT INTACT" : "intact");
	return json_array_size(problems) ? EXIT_FAILED : 0;
}

static int print_evidence(json_t *ans, const struct ctl_args *args)
{
	json_t *rec = json_object_get(ans, "record"), *chain = json_object_get(ans, "chain");
	bool intact = json_is_true(json_object_get(ans, "intact"));
	char v[CELL_MAX];
	int r = intact ? 0 : EXIT_FAILED;

	if (json_object_get(ans, "problems"))
		return print_verify(ans);
	fmt_value(v, sizeof(v), json_object_get(ans, "token"));
	printf("token     %s\n", v);
	fmt_value(v, sizeof(v), json_object_get(ans, "state"));
	printf("record    %s", v);
	if (json_is_string(json_object_get(ans, "actual"))) {
		fmt_value(v, sizeof(v), json_object_get(ans, "actual"));
		printf(": its bytes now hash to %s", v);
	}
	putchar('\n');
	if (json_is_string(chain)) {
		char why[512];
		copy_printable(why, sizeof(why), json_string_value(chain));
		printf("chain     BROKEN: %s\n", why);
	} else {
		printf("chain     linked to the records before and after it\n");
	}
	printf("verdict   %s\n\n", intact ? "intact" : "NOT INTACT: do not trust this record");
	if (args->pcap && r == 0)
		r = write_pcap(rec, args->pcap);
	else if (args->pcap && write_pcap(rec, args->pcap) == 0)
		fprintf(stderr, "%s: %s holds the packets of a record that is not intact\n", prog, args->pcap);
	/* The record, without the base64 of its packets (that is what --pcap is for). */
	json_t *shown = json_deep_copy(rec);
	json_t *pk = json_object_get(shown, "packets");
	if (json_is_object(pk) && json_object_get(pk, "pcap"))
		json_object_set_new(pk, "pcap", json_string("(base64 pcap: use --pcap FILE)"));
	char *s = json_dumps(shown ? shown : rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(shown);
	if (!s) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_FAILED;
	}
	printf("%s\n", s);
	free(s);
	return r;
}

/* --- Main --- */

struct ctl_command {
	const char *name;
	build_fn build;
	int (*print)(json_t *ans, const struct ctl_args *a);
};

static const struct ctl_command commands[] = {
	{ "status", build_plain, print_status },
	{ "bans", build_plain, print_bans },
	{ "ban", build_ban, print_ban },
	{ "unban", build_unban, print_unban },
	{ "allow", build_allow, print_allow },
	{ "sources", build_limited, print_sources },
	{ "flows", build_limited, print_flows },
	{ "evidence", build_evidence, print_evidence },
	{ "reload", build_plain, print_reload },
};

/* Builds the request line ("{...}\n") for argv[0] and its arguments. Returns 0 or EXIT_*. */
static int build_request(const struct ctl_command *cmd, int argc, char **argv, struct ctl_args *a, char **out)
{
	json_t *req = json_object();
	char *s;
	size_t len;
	int r;

	if (!req || json_object_set_new(req, "command", json_string(cmd->name))) {
		json_decref(req);
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_FAILED;
	}
	r = cmd->build(argc, argv, a, req);
	if (r) {
		json_decref(req);
		return r;
	}
	s = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	if (!s) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_FAILED;
	}
	len = strlen(s);
	if (len + 1 > CTL_REQUEST_MAX) {
		free(s);
		fprintf(stderr, "%s: %s: the request is over %d KiB\n", prog, cmd->name, CTL_REQUEST_MAX / 1024);
		return EXIT_USAGE;
	}
	*out = realloc(s, len + 2);
	if (!*out) {
		free(s);
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_FAILED;
	}
	memcpy(*out + len, "\n", 2);
	return 0;
}

/* Drops "--json" wherever it appears after the command (it is a global option, but
 * `nfsentryctl bans --json` is what people type). Returns the new argc. */
static int strip_json_flag(int argc, char **argv, struct ctl_args *a)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = true;
		else
			argv[n++] = argv[i];
	}
	return n;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_VERSION };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct ctl_args a = { .socket = CTL_SOCKET_DEFAULT };
	const struct ctl_command *cmd = NULL;
	struct answer ans = { 0 };
	char *req = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': a.socket = optarg; break;
		case OPT_JSON: a.json = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: printf("nfsentryctl %s\n", NFSENTRY_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no command given\n", prog);
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[optind], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!a.socket[0] || strlen(a.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "%s: -s '%s': a socket path must have 1 to %zu bytes\n", prog, a.socket,
			sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return EXIT_USAGE;
	}
	argc = strip_json_flag(argc - optind, argv + optind, &a);
	argv += optind;
	r = build_request(cmd, argc, argv, &a, &req);
	if (r)
		return r;

	signal(SIGPIPE, SIG_IGN); /* MSG_NOSIGNAL covers send(); this covers a closed stdout */
	r = ctl_exchange(a.socket, req, &ans);
	free(req);
	if (r)
		return r;

	if (a.json) {
		/* As it came; the exit status still says whether it was ok. */
		fwrite(ans.line, 1, ans.len, stdout);
		putchar('\n');
		r = json_is_true(json_object_get(ans.obj, "ok")) ? 0 : EXIT_FAILED;
		/* Evidence that is not intact fails a script as loudly as a refusal. */
		if (json_is_false(json_object_get(ans.obj, "intact")))
			r = EXIT_FAILED;
		if (!r && a.pcap)
			r = write_pcap(json_object_get(ans.obj, "record"), a.pcap);
	} else if (!json_is_true(json_object_get(ans.obj, "ok"))) {
		json_t *err = json_object_get(ans.obj, "error");
		char msg[1024];
		copy_printable(msg, sizeof(msg), json_is_string(err) ? json_string_value(err) : "request refused (no reason given)");
		fprintf(stderr, "%s: %s\n", prog, msg);
		r = EXIT_FAILED;
	} else {
		r = cmd->print(ans.obj, &a);
	}
	answer_deinit(&ans);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: writing the output: %s\n", prog, strerror(errno));
		return EXIT_FAILED;
	}
	return r;
}
