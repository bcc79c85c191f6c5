/* test-attrib.c - process attribution against processes of the test's own making: a loopback
 * TCP connection held by this process, a child joined to it by a pipe, a socketpair and a
 * second loopback connection, a child joined by nothing, and the parent chain up from here.
 * Then the limits, a socket that does not exist, the listener fallback, IPv6; and offline,
 * the parsers and the text and time helpers. Needs no root: all processes are our own. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attrib/attrib.h"
#include "attrib/clock.h"
#include "attrib/procinfo.h"
#include "attrib/sockdiag.h"
#include "attrib/text.h"
#include "tap.h"

/* What the child calls itself: not UTF-8, with a ')' and a '(' to trip a naive stat parser. */
#define CHILD_NAME "atr\xff)ch ("
#define CHILD_NAME_JSON "atr\\xff)ch ("

static void bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static json_int_t ino_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		bail("fstat");
	return (json_int_t)st.st_ino;
}

static void to_addr(const struct sockaddr_storage *ss, struct nfs_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		a->plen = 32;
		memcpy(a->a, &s->sin_addr, 4);
		*port = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
		a->plen = 128;
		memcpy(a->a, &s->sin6_addr, 16);
		*port = ntohs(s->sin6_port);
	}
}

/* The 4-tuple of connected socket @fd, as this host sees it. */
static struct attrib_socket_key key_of(int fd)
{
	struct sockaddr_storage l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	struct attrib_socket_key k;

	if (getsockname(fd, (struct sockaddr *)&l, &ll) < 0 || getpeername(fd, (struct sockaddr *)&r, &rl) < 0)
		bail("getsockname/getpeername");
	to_addr(&l, &k.local, &k.lport);
	to_addr(&r, &k.remote, &k.rport);
	return k;
}

/* A listener on loopback of @family, its port in *@port. */
static int listen_on(int family, uint16_t *port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	struct nfs_addr a;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	to_addr(&ss, &a, port);
	return fd;
}

static int connect_to(int family, uint16_t port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		bail("socket");
	if (family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		bail("connect");
	return fd;
}

static json_t *proc_of(json_t *res, json_int_t pid)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(res, "processes"), i, p)
		if (json_integer_value(json_object_get(p, "pid")) == pid)
			return p;
	return NULL;
}

static json_t *entry_of(json_t *proc, const char *list, json_int_t ino)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(proc, list), i, e)
		if (json_integer_value(json_object_get(e, "inode")) == ino)
			return e;
	return NULL;
}

static bool has_int(json_t *arr, json_int_t v)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e)
		if (json_integer_value(e) == v)
			return true;
	return false;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(none)";
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && !strcmp(s + n - m, tail);
}

/* "2026-11-22T03:05:53.120Z" to seconds since the epoch, or -1. */
static double parse_time(const char *s)
{
	struct tm tm = { 0 };
	int ms;

	if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec, &ms) != 7 || strlen(s) != 24)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + ms / 1000.0;
}

static void dump_on_failure(json_t *res, int failed_before)
{
	if (tap_failed == failed_before || !res)
		return;
	char *s = json_dumps(res, JSON_INDENT(1));
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
		printf("# %s\n", line);
	free(s);
}

static void test_text(void)
{
	bool cut = true;
	json_t *j = attrib_text_json("caf\xc3\xa9", 5, 64, &cut);
	CHECK(j && !strcmp(json_string_value(j), "caf\xc3\xa9") && !cut, "valid UTF-8 kept");
	json_decref(j);
	j = attrib_text_json("a\xff\xc0\xafz", 5, 64, &cut);
	CHECK(j && !strcmp(json_string_value(j), "a\\xff\\xc0\\xafz") && !cut, "bad bytes and overlong as \\xNN: %s",
	      json_string_value(j));
	json_decref(j);
	j = attrib_text_json("ab\xc3\xa9", 4, 3, &cut);
	CHECK(j && !strcmp(json_string_value(j), "ab") && cut, "cut at a character boundary, not inside é");
	json_decref(j);
	j = attrib_text_json("a\0b", 3, 64, NULL);
	CHECK(j && json_string_length(j) == 6 && !strcmp(json_string_value(j), "a\\x00b"), "NUL as \\x00");
	json_decref(j);
	j = attrib_text_json("\xed\xa0\x80", 3, 64, NULL); /* a UTF-16 surrogate */
	CHECK(j && !strcmp(json_string_value(j), "\\xed\\xa0\\x80"), "surrogate refused");
	json_decref(j);
}

static void test_stat_parse(void)
{
	/* A name holding ") " and "(": the last ')' ends it. */
	static const char line[] = "4321 (a) S 9 (b) S 77 4321 4321 34819 4321 4194560 1 0 0 0 3 4 0 0 30 10 1 0 "
				   "987654321 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0";
	struct procinfo pi;
	char buf[32];

	CHECK(procinfo_parse_stat(line, sizeof(line) - 1, &pi) == 0, "stat parses");
	CHECK(pi.pid == 4321 && pi.ppid == 77 && pi.state == 'S', "pid %d ppid %d state %c", pi.pid, pi.ppid, pi.state);
	CHECK(pi.comm_len == 9 && !memcmp(pi.comm, "a) S 9 (b", 9), "name up to the last ')': %.*s", (int)pi.comm_len,
	      pi.comm);
	CHECK(pi.priority == 30 && pi.nice == 10 && pi.starttime == 987654321ULL, "priority %ld nice %ld start %llu",
	      pi.priority, pi.nice, pi.starttime);
	CHECK(pi.tty_nr == 34819, "tty_nr");
	CHECK(procinfo_parse_stat("12 (x", 5, &pi) == -EINVAL, "no ')': refused");
	CHECK(procinfo_parse_stat("12 (x) S", 8, &pi) == -EINVAL, "too few fields: refused");
	CHECK_STR(procinfo_tty_name(34819, buf, sizeof(buf)), "pts/3", "tty 136:3");
	CHECK_STR(procinfo_tty_name((136 << 8) | 0x2c | (0x100 << 12), buf, sizeof(buf)), "pts/300", "tty 136:300");
	CHECK_STR(procinfo_tty_name((4 << 8) | 1, buf, sizeof(buf)), "tty1", "tty 4:1");
	CHECK_STR(procinfo_tty_name((4 << 8) | 65, buf, sizeof(buf)), "ttyS1", "tty 4:65");
	CHECK_STR(procinfo_tty_name((5 << 8) | 1, buf, sizeof(buf)), "console", "tty 5:1");
	CHECK_STR(procinfo_tty_name((188 << 8) | 2, buf, sizeof(buf)), "188:2", "other ttys as major:minor");
	CHECK(procinfo_tty_name(0, buf, sizeof(buf)) == NULL, "no tty");
}

/* Replies built by hand, as the kernel would send them. */
static void test_diag_parse(void)
{
	char buf[512] __attribute__((aligned(4)));
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct sockdiag_tcp t;
	struct sockdiag_unix u;
	const char *name;

	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	struct inet_diag_msg *m = mnl_nlmsg_put_extra_header(h, sizeof(*m));
	m->idiag_family = AF_INET;
	m->idiag_state = 1;
	m->idiag_inode = 4242;
	m->idiag_uid = 1000;
	m->id.idiag_sport = htons(80);
	m->id.idiag_dport = htons(5555);
	m->id.idiag_src[0] = htonl(0x7f000001);
	m->id.idiag_dst[0] = htonl(0xc0000207);
	CHECK(sockdiag_tcp_parse(h, &t) == 0 && t.ino == 4242 && t.uid == 1000 && t.lport == 80 && t.rport == 5555,
	      "inet_diag reply parsed");
	char ep[SOCKDIAG_ENDPOINT_STRLEN];
	CHECK_STR(sockdiag_endpoint_format(t.family, t.remote, t.rport, ep, sizeof(ep)), "192.0.2.7:5555",
		  "endpoint v4");
	CHECK_STR(sockdiag_tcp_state_name(t.state), "established", "state name");
	CHECK_STR(sockdiag_tcp_state_name(200), "unknown", "state past the table");
	h->nlmsg_len -= 1;
	CHECK(sockdiag_tcp_parse(h, &t) == -EINVAL, "short inet_diag reply refused");

	h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	struct unix_diag_msg *um = mnl_nlmsg_put_extra_header(h, sizeof(*um));
	um->udiag_family = AF_UNIX;
	um->udiag_type = SOCK_STREAM;
	um->udiag_ino = 77;
	mnl_attr_put(h, UNIX_DIAG_NAME, 10, "/run/x.s\0\0");
	mnl_attr_put_u32(h, UNIX_DIAG_PEER, 78);
	CHECK(sockdiag_unix_parse(h, &u, &name) == 0 && u.ino == 77 && u.peer == 78 && u.name_len == 8 &&
	      !memcmp(name, "/run/x.s", 8), "unix_diag reply parsed, path without its NULs");
	h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	um = mnl_nlmsg_put_extra_header(h, sizeof(*um));
	um->udiag_family = AF_UNIX;
	um->udiag_ino = 79;
	mnl_attr_put(h, UNIX_DIAG_NAME, 4, "\0a\0b");
	CHECK(sockdiag_unix_parse(h, &u, &name) == 0 && u.name_len == 4 && u.peer == 0, "abstract name keeps its NULs");
	char big[200] = { '/' };
	h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	um = mnl_nlmsg_put_extra_header(h, sizeof(*um));
	um->udiag_family = AF_UNIX;
	mnl_attr_put(h, UNIX_DIAG_NAME, sizeof(big), big);
	CHECK(sockdiag_unix_parse(h, &u, &name) == -EINVAL, "name longer than sun_path refused");
	h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	um = mnl_nlmsg_put_extra_header(h, sizeof(*um));
	um->udiag_family = AF_UNIX;
	mnl_attr_put_u16(h, UNIX_DIAG_PEER, 5);
	CHECK(sockdiag_unix_parse(h, &u, &name) == -EINVAL, "peer of the wrong size refused");
}

static void test_clock_host(void)
{
	char buf[ATTRIB_TIME_STRLEN], host[256] = "";
	CHECK_STR(attrib_clock_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z", "epoch");
	CHECK_STR(attrib_clock_format(1763780753123456789LL, buf, sizeof(buf)), "2025-11-22T03:05:53.123Z",
		  "milliseconds, truncated");
	int64_t boot = attrib_clock_boot_ns();
	CHECK(boot > 0 && boot < (int64_t)time(NULL) * 1000000000LL, "boot time in the past");
	CHECK(attrib_clock_after_boot(boot, 250) - boot == 2500000000LL || sysconf(_SC_CLK_TCK) != 100,
	      "250 ticks at 100 Hz are 2.5 s");

	json_t *h = attrib_host();
	gethostname(host, sizeof(host) - 1);
	CHECK(h && !strcmp(str(h, "hostname"), host), "host name %s", str(h, "hostname"));
	CHECK(h && parse_time(str(h, "boot_time")) > 0, "boot time %s", str(h, "boot_time"));
	CHECK(h && !strncmp(str(h, "kernel"), "Linux ", 6), "kernel %s", str(h, "kernel"));
	json_decref(h);
}

/* A child with nothing of ours: stdio on /dev/null, every other descriptor closed. */
static pid_t spawn_unrelated(void)
{
	int sync[2];
	char c = 0;
	pid_t pid;

	if (pipe(sync) < 0)
		bail("pipe");
	fflush(stdout); /* the child must not print our buffered TAP lines again */
	pid = fork();
	if (pid < 0)
		bail("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		for (int fd = 3; fd < 1024; fd++)
			if (fd != sync[1])
				close(fd);
		(void)!write(sync[1], &c, 1);
		close(sync[1]);
		pause();
		_exit(0);
	}
	close(sync[1]);
	if (read(sync[0], &c, 1) != 1)
		bail("sync");
	close(sync[0]);
	return pid;
}

int main(void)
{
	time_t t_start = time(NULL);
	struct attrib_limits lim = { .max_processes = 4096, .budget_ms = 20000 };
	int p[2], sp[2], failed;
	uint16_t port, port2;
	char comm[64] = "", c = 0, expect[64];
	json_t *res = NULL, *me, *e;
	pid_t child, other;

	signal(SIGPIPE, SIG_IGN);
	test_text();
	test_stat_parse();
	test_diag_parse();
	test_clock_host();

	/* The scene. */
	int lfd = listen_on(AF_INET, &port);
	if (lfd < 0)
		bail("listen on 127.0.0.1");
	int cfd = connect_to(AF_INET, port);
	int afd = accept(lfd, NULL, NULL);
	int cfd2 = connect_to(AF_INET, port);
	int afd2 = accept(lfd, NULL, NULL); /* handed to the child */
	if (afd < 0 || afd2 < 0 || pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		bail("accept/pipe/socketpair");
	json_int_t pipe_ino = ino_of(p[1]), sp_mine = ino_of(sp[0]), sp_child = ino_of(sp[1]);
	json_int_t tcp2_child = ino_of(afd2), tcp2_mine = ino_of(cfd2);
	fflush(stdout);
	child = fork();
	if (child < 0)
		bail("fork");
	if (child == 0) {
		close(lfd);
		close(cfd);
		close(afd);
		close(cfd2);
		close(p[1]);
		close(sp[0]);
		prctl(PR_SET_NAME, CHILD_NAME);
		(void)!write(sp[1], &c, 1);
		while (read(p[0], &c, 1) > 0) /* until the parent closes its end */
			;
		_exit(0);
	}
	close(p[0]);
	close(sp[1]);
	close(afd2);
	if (read(sp[0], &c, 1) != 1) /* the child has closed what is not its own */
		bail("child sync");
	other = spawn_unrelated();

	{
		FILE *f = fopen("/proc/self/comm", "re");
		if (!f || !fgets(comm, sizeof(comm), f))
			bail("comm");
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
	}

	/* The connection, from this process's side. */
	struct attrib_socket_key k = key_of(cfd);
	failed = tap_failed;
	int r = attrib_lookup(&k, &lim, &res);
	CHECK(r == 0 && res, "lookup of the client socket: %d", r);
	if (r != 0)
		return tap_done();
	json_t *s = json_object_get(res, "socket");
	snprintf(expect, sizeof(expect), "127.0.0.1:%u", k.lport);
	CHECK_STR(str(s, "local"), expect, "socket local");
	snprintf(expect, sizeof(expect), "127.0.0.1:%u", port);
	CHECK_STR(str(s, "remote"), expect, "socket remote");
	CHECK_EQ(json_integer_value(json_object_get(s, "inode")), ino_of(cfd), "socket inode is the client's");
	CHECK_STR(str(s, "state"), "established", "socket state");
	CHECK(json_is_false(json_object_get(s, "listener_fallback")), "no fallback for a live connection");
	CHECK_EQ(json_integer_value(json_object_get(s, "uid")), getuid(), "socket uid");
	CHECK(json_is_false(json_object_get(res, "truncated")), "not truncated with room to spare");
	CHECK(json_integer_value(json_object_get(res, "elapsed_us")) > 0, "elapsed_us %lld",
	      (long long)json_integer_value(json_object_get(res, "elapsed_us")));
	CHECK(json_integer_value(json_object_get(res, "pids_scanned")) > 2, "pids scanned");
	CHECK(json_array_size(json_object_get(res, "problems")) == 0, "no problems");

	json_t *first = json_array_get(json_object_get(res, "processes"), 0);
	me = proc_of(res, getpid());
	CHECK(me && me == first, "the owner, this process, comes first");
	CHECK_STR(str(me, "role"), "socket-owner", "owner role");
	snprintf(expect, sizeof(expect), "holds socket:[%lld]", (long long)ino_of(cfd));
	CHECK_STR(str(me, "via"), expect, "owner via");
	CHECK_STR(str(me, "name"), comm, "owner name");
	CHECK_EQ(json_integer_value(json_object_get(me, "ppid")), getppid(), "owner ppid");
	CHECK_EQ(json_integer_value(json_object_get(me, "uid")), getuid(), "owner uid");
	CHECK_EQ(json_integer_value(json_object_get(me, "euid")), geteuid(), "owner euid");
	CHECK_EQ(json_integer_value(json_object_get(me, "nice")), getpriority(PRIO_PROCESS, 0), "owner nice");
	CHECK(json_is_integer(json_object_get(me, "priority")), "owner priority");
	CHECK(ends_with(str(me, "exe"), "/test-attrib"), "owner exe %s", str(me, "exe"));
	const char *arg0 = json_string_value(json_array_get(json_object_get(me, "cmdline"), 0));
	CHECK(arg0 && ends_with(arg0, "test-attrib"), "owner cmdline[0] %s", arg0 ? arg0 : "(none)");
	CHECK(json_is_null(json_object_get(me, "tty")) || json_is_string(json_object_get(me, "tty")), "tty");
	CHECK(json_is_false(json_object_get(me, "unreadable")) && json_is_false(json_object_get(me, "gone")),
	      "owner readable, present");
	double st = parse_time(str(me, "start_time")), now = (double)time(NULL);
	CHECK(st >= (double)t_start - 60 && st <= now + 1, "start time %s plausible (test began %lld)",
	      str(me, "start_time"), (long long)t_start);

	e = entry_of(me, "sockets", ino_of(cfd));
	CHECK(e && !strcmp(str(e, "type"), "tcp") && !strcmp(str(e, "state"), "established"), "owner lists the socket");
	CHECK(e && has_int(json_object_get(e, "fds"), cfd), "with its descriptor number");
	CHECK(e && json_array_size(json_object_get(e, "peers")) == 0,
	      "its loopback peer is our own accepted socket: a process is not its own peer");
	e = entry_of(me, "sockets", ino_of(lfd));
	CHECK(e && !strcmp(str(e, "state"), "listen"), "and the listener");

	json_t *pp = proc_of(res, getppid());
	CHECK(pp != NULL, "the parent chain reaches getppid() %d", getppid());
	CHECK_STR(str(pp, "role"), "parent", "its role");
	snprintf(expect, sizeof(expect), "parent of %d", getpid());
	CHECK_STR(str(pp, "via"), expect, "its via");
	json_t *top = pp;
	for (int hops = 0; top && json_integer_value(json_object_get(top, "pid")) != 1 && hops < 64; hops++)
		top = proc_of(res, json_integer_value(json_object_get(top, "ppid")));
	CHECK(top != NULL, "the parent chain goes up to pid 1");
	/* STOP's order: the owner's whole chain first, before any process reached through IPC. */
	json_t *procs = json_object_get(res, "processes"), *prev = first;
	bool chain_first = true;
	for (size_t j = 1; j < json_array_size(procs) && chain_first; j++) {
		json_int_t up = json_integer_value(json_object_get(prev, "ppid"));
		if (json_integer_value(json_object_get(prev, "pid")) == 1 || up <= 0)
			break;
		prev = json_array_get(procs, j);
		chain_first = json_integer_value(json_object_get(prev, "pid")) == up &&
			      !strcmp(str(prev, "role"), "parent");
	}
	CHECK(chain_first, "the owner's parents come right after it, up to pid 1");

	json_t *ch = proc_of(res, child);
	CHECK(ch != NULL, "the child %d is found", child);
	CHECK_STR(str(ch, "role"), "ipc-peer", "child role");
	snprintf(expect, sizeof(expect), " %d", getpid());
	CHECK(ends_with(str(ch, "via"), expect), "child reached from this process: %s", str(ch, "via"));
	CHECK_STR(str(ch, "name"), CHILD_NAME_JSON, "child name, bad byte as \\xff");
	CHECK_EQ(json_integer_value(json_object_get(ch, "ppid")), getpid(), "child's ppid");
	double cst = parse_time(str(ch, "start_time"));
	CHECK(cst >= st - 0.02 && cst <= now + 1, "child started after us: %s", str(ch, "start_time"));
	e = entry_of(me, "pipes", pipe_ino);
	CHECK(e && has_int(json_object_get(e, "peers"), child), "via the pipe: our pipe lists the child");
	CHECK(e && !has_int(json_object_get(e, "peers"), getpid()), "and not us");
	e = entry_of(ch, "pipes", pipe_ino);
	CHECK(e && has_int(json_object_get(e, "peers"), getpid()), "and the child's lists us");
	e = entry_of(me, "sockets", sp_mine);
	CHECK(e && !strcmp(str(e, "type"), "unix") && json_integer_value(json_object_get(e, "peer_inode")) == sp_child,
	      "our end of the socketpair names the child's end as peer");
	CHECK(e && has_int(json_object_get(e, "peers"), child), "via the unix socket: its peer is the child");
	CHECK(e && json_is_null(json_object_get(e, "name")), "a socketpair has no name");
	e = entry_of(me, "sockets", tcp2_mine);
	CHECK(e && has_int(json_object_get(e, "peers"), child), "via loopback TCP: the child holds the other end");
	e = entry_of(ch, "sockets", tcp2_child);
	snprintf(expect, sizeof(expect), "127.0.0.1:%u", port);
	CHECK(e && !strcmp(str(e, "local"), expect) && has_int(json_object_get(e, "peers"), getpid()),
	      "the child's end of it points back at us");
	CHECK(proc_of(res, other) == NULL, "the unrelated child %d is not there", other);
	size_t i;
	json_t *x;
	int dups = 0;
	json_array_foreach(json_object_get(res, "processes"), i, x)
		dups += json_integer_value(json_object_get(x, "pid")) == getpid();
	CHECK_EQ(dups, 1, "each process once");
	dump_on_failure(res, failed);
	json_decref(res);
	res = NULL;

	/* Limits. */
	struct attrib_limits one = { .max_processes = 1, .budget_ms = 20000 };
	r = attrib_lookup(&k, &one, &res);
	CHECK(r == 0 && json_array_size(json_object_get(res, "processes")) == 1 &&
	      json_is_true(json_object_get(res, "truncated")), "max_processes 1: one process, truncated");
	CHECK(proc_of(res, getpid()) != NULL, "and it is the owner");
	json_decref(res);
	res = NULL;
	struct attrib_limits listed = { .max_fds_listed = 1, .budget_ms = 20000 };
	r = attrib_lookup(&k, &listed, &res);
	me = proc_of(res, getpid());
	size_t nlisted = json_array_size(json_object_get(me, "sockets"));
	nlisted += json_array_size(json_object_get(me, "pipes"));
	CHECK(r == 0 && nlisted == 1 && json_integer_value(json_object_get(me, "fds_omitted")) > 0,
	      "max_fds_listed 1: one listed, the rest counted");
	CHECK(proc_of(res, child) != NULL, "unlisted descriptors are still followed");
	json_decref(res);
	res = NULL;
	struct attrib_limits fast = { .budget_ms = 1 };
	r = attrib_lookup(&k, &fast, &res);
	CHECK(r == 0 && json_is_boolean(json_object_get(res, "truncated")),
	      "1 ms budget: still an answer (truncated %s)",
	      json_is_true(json_object_get(res, "truncated")) ? "yes" : "no");
	json_decref(res);
	res = NULL;
	r = attrib_lookup(&k, NULL, &res);
	CHECK(r == 0 && proc_of(res, getpid()), "default limits");
	json_decref(res);
	res = NULL;

	/* No such socket. */
	int tmp = listen_on(AF_INET, &port2);
	close(tmp); /* a port nothing listens on now */
	struct attrib_socket_key none = k;
	none.lport = port2;
	none.rport = 1;
	res = (json_t *)&res;
	CHECK(attrib_lookup(&none, &lim, &res) == -ENOENT && res == (json_t *)&res, "-ENOENT, *out untouched");
	res = NULL;
	struct attrib_socket_key mixed = k;
	mixed.remote.family = AF_INET6;
	CHECK(attrib_lookup(&mixed, &lim, &res) == -EINVAL, "mixed families: -EINVAL");

	/* The listener stands in once the connection is gone: the server's side of it. */
	struct attrib_socket_key server = key_of(afd);
	close(afd);
	close(cfd);
	failed = tap_failed;
	r = attrib_lookup(&server, &lim, &res);
	s = json_object_get(res, "socket");
	CHECK(r == 0 && json_is_true(json_object_get(s, "listener_fallback")), "listener fallback: %d", r);
	CHECK_STR(str(s, "state"), "listen", "fallback state");
	CHECK_EQ(json_integer_value(json_object_get(s, "inode")), ino_of(lfd), "fallback inode is the listener's");
	snprintf(expect, sizeof(expect), "127.0.0.1:%u", port);
	CHECK_STR(str(s, "local"), expect, "fallback local");
	CHECK(proc_of(res, getpid()) && !strcmp(str(proc_of(res, getpid()), "role"), "socket-owner"),
	      "the listener's owner is this process");
	dump_on_failure(res, failed);
	json_decref(res);
	res = NULL;

	/* IPv6, where the host has ::1. */
	int l6 = listen_on(AF_INET6, &port2);
	if (l6 >= 0) {
		int c6 = connect_to(AF_INET6, port2), a6 = accept(l6, NULL, NULL);
		struct attrib_socket_key k6 = key_of(c6);
		r = attrib_lookup(&k6, &lim, &res);
		snprintf(expect, sizeof(expect), "[::1]:%u", port2);
		CHECK(r == 0 && !strcmp(str(json_object_get(res, "socket"), "remote"), expect), "IPv6 remote %s",
		      str(json_object_get(res, "socket"), "remote"));
		me = proc_of(res, getpid());
		e = entry_of(me, "sockets", ino_of(c6));
		CHECK(me && e, "IPv6 owner found");
		json_decref(res);
		res = NULL;
		close(a6);
		close(c6);
		close(l6);
	} else {
		printf("ok %d - # SKIP no ::1\n", ++tap_n);
	}

	close(p[1]); /* the child reads EOF and exits */
	close(sp[0]);
	close(cfd2);
	close(lfd);
	kill(other, SIGKILL);
	waitpid(child, NULL, 0);
	waitpid(other, NULL, 0);
	return tap_done();
}
