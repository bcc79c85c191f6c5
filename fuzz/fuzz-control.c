/* fuzz-control.c - one request on the control socket (docs/control.md): control_handle()
 * called directly, as root, as a stranger (never answered ok) and as the [fleet] group (answered
 * ok for status, bans, watch and fleet only), with the line cut at its first newline as the
 * server cuts it; then the input sent whole through the socket to the server's thread, whose
 * answer must be one line holding a JSON object with "ok".
 *
 * The context is real (control_open(), a ban writer, tracker and connection table holding a
 * few entries, the ban queue, an evidence store of three records, the second one edited
 * since it was saved) except for the writer's thread: it would write bans to this host's
 * nftables sets. A stand-in thread answers the ban and unban requests instead. The writer
 * and the server are made again for each input, so that "allow" does not carry over. The
 * socket and the store live in a temporary folder, removed at exit. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ban/banq.h"
#include "ban/writer.h"
#include "control/protocol.h"
#include "control/server.h"
#include "evidence/saver.h"
#include "fuzz.h"

static const uint8_t key[16] = "nfsentry-control";

static struct {
	struct nfs_config *cfg;
	struct banq *banq;
	struct tracker *tracker;
	struct flowtab *flows;
	struct engine engine;
	struct evidence *evidence;
	char dir[64], evdir[80], sock[108];
} g;

/* Answers what the control server asks of the writer, as the writer would. */
static void *answer_bans(void *arg)
{
	struct ban_request req[16];

	for (;;) {
		size_t n = banq_pop(g.banq, req, 16, 1000);
		for (size_t i = 0; i < n; i++) {
			struct ban_reply *r = req[i].reply;
			if (!r)
				continue; /* a ban request of the engine's */
			pthread_mutex_lock(&r->lock);
			r->rc = req[i].op == BAN_OP_MANUAL_UNBAN ? -ENOENT : 0;
			r->addr = req[i].addr;
			r->seconds = req[i].seconds ? req[i].seconds : g.cfg->duration;
			snprintf(r->msg, sizeof(r->msg), "%s", r->rc ? "not banned" : "banned");
			r->done = true;
			pthread_cond_signal(&r->cond);
			pthread_mutex_unlock(&r->lock);
		}
	}
	return NULL;
}

/* Two sources with closed ports, one connection: something for "sources" and "flows". */
static void populate(void)
{
	struct trk_params tp = { .threshold = 10, .window = 300, .hold = 10 };
	struct trk_report rep;
	struct flow_report frep;

	for (int i = 0; i < 12; i++) {
		struct nfs_addr src = { .family = i % 2 ? AF_INET6 : AF_INET, .plen = i % 2 ? 64 : 32,
					.a = { 198, 51, 100, 1 } };
		struct trk_attempt a = { .proto = i < 6 ? IPPROTO_TCP : IPPROTO_UDP, .port = (uint16_t)(1000 + i),
					 .tcp_flags = i < 6 ? 0x02 : 0, .now = engine_clock(&g.engine), .ttl = 64 };
		tracker_source_touch(g.tracker, &src, &a, &tp, &rep);
	}
	struct pkt syn = { .proto = IPPROTO_TCP, .tcp_flags = 0x02, .sport = 40000, .dport = 2222, .ttl = 64,
			   .src = { .family = AF_INET, .plen = 32, .a = { 198, 51, 100, 2 } },
			   .dst = { .family = AF_INET, .plen = 32, .a = { 203, 0, 113, 1 } } };
	flowtab_packet(g.flows, &syn, 1000000, &frep);
}

/* Three records for "evidence"; the second is then edited ("tampered"). Their tokens are
 * the same on every run (fresh store, same bytes): fuzz/mkcorpus.py's seeds name them. */
static void records(void)
{
	struct evstore *st = evidence_store(g.evidence);
	char token[3][EVSTORE_TOKEN_LEN + 1];

	for (int i = 0; i < 3; i++) {
		json_t *rec = json_pack("{s:{s:s, s:s, s:s, s:i}}", "event", "event", "scan", "detector", "scan", "src",
					"198.51.100.1", "ports", 10 + i);
		if (!rec || evstore_append(st, rec, token[i]) < 0)
			abort();
		json_decref(rec);
	}
	fprintf(stderr, "fuzz-control: evidence tokens %s %s (edited) %s\n", token[0], token[1], token[2]);
	DIR *d = opendir(g.evdir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, token[1])) {
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", g.evdir, e->d_name);
			FILE *f = fopen(path, "ae");
			if (!f || fputs(" ", f) < 0 || fclose(f))
				abort();
		}
	if (d)
		closedir(d);
}

static void cleanup(void)
{
	DIR *d = opendir(g.evdir);
	struct dirent *e;
	char path[512];

	evidence_free(g.evidence);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", g.evdir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(g.evdir);
	unlink(g.sock);
	rmdir(g.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pthread_t thread;
	const char *tmp = getenv("TMPDIR");
	char err[256];

	/* "reload" signals this process, as it signals the daemon's main loop. */
	signal(SIGHUP, SIG_IGN);
	log_set_level(LOG_LVL_ERR);
	snprintf(g.dir, sizeof(g.dir), "%s/nfsentry-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g.dir))
		abort();
	snprintf(g.sock, sizeof(g.sock), "%s/control.sock", g.dir);
	snprintf(g.evdir, sizeof(g.evdir), "%s/evidence", g.dir);
	atexit(cleanup);
	config_new_default(&g.cfg);
	if (!g.cfg)
		abort();
	/* Offence history is only read at start; an empty one. */
	snprintf(g.cfg->state_dir, sizeof(g.cfg->state_dir), "%s", g.dir);
	snprintf(g.cfg->evidence_dir, sizeof(g.cfg->evidence_dir), "%s", g.evdir);
	g.cfg->max_history = 64;
	banq_new(&g.banq, 64);
	tracker_new(&g.tracker, 256, key);
	flowtab_new(&g.flows, 256, key);
	if (!g.banq || !g.tracker || !g.flows || engine_init(&g.engine, g.tracker, g.flows, g.banq, NULL, g.cfg) < 0 ||
	    evidence_new(&g.evidence, g.cfg, NULL, NULL, err, sizeof(err)) < 0 ||
	    pthread_create(&thread, NULL, answer_bans, NULL))
		abort();
	populate();
	records();
	return 0;
}

/* Sends @data to the server's thread and checks its answer. */
static void over_socket(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char answer[256 * 1024];
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sa.sun_path, g.sock, strlen(g.sock));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	/* libFuzzer's timer (SIGALRM) interrupts this thread's calls now and then. */
	for (size_t off = 0; off < size;) {
		if ((n = send(fd, data + off, size - off, MSG_NOSIGNAL)) > 0)
			off += (size_t)n;
		else if (errno != EINTR)
			abort();
	}
	shutdown(fd, SHUT_WR);
	while (len < sizeof(answer) - 1) {
		if ((n = read(fd, answer + len, sizeof(answer) - 1 - len)) > 0)
			len += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
	}
	close(fd);
	answer[len] = '\0';
	if (size == 0 && len == 0)
		return; /* connected and left: nothing to answer */
	json_t *a = json_loads(answer, JSON_DISABLE_EOF_CHECK, NULL);
	if (len == 0 || answer[len - 1] != '\n' || memchr(answer, '\n', len) != answer + len - 1 ||
	    !json_is_boolean(json_object_get(a, "ok"))) {
		fprintf(stderr, "fuzz: the server answered \"%s\"\n", answer);
		abort();
	}
	json_decref(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon_view ctx = { .banq = g.banq, .tracker = g.tracker, .flows = g.flows, .engine = &g.engine,
				   .evidence = g.evidence, .started = time(NULL) };
	struct control *c;
	char err[256];
	const char *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - (const char *)data) : size;

	if (banwriter_new(&ctx.writer, g.cfg, g.banq, NULL, key) < 0)
		abort();
	/* Members of our own group may use it: the check passes and fails without root. */
	if (control_open(&c, g.sock, getgid(), &ctx, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	json_decref(control_handle(c, (const char *)data, len, 0, 0));
	json_t *denied = control_handle(c, (const char *)data, len, 1000, getgid() + 1);
	if (json_is_true(json_object_get(denied, "ok"))) {
		fprintf(stderr, "fuzz: a stranger's request was answered\n");
		abort();
	}
	json_decref(denied);
	/* The [fleet] group: whatever it sends, nothing but status, bans, watch and fleet is done. */
	if (control_allow_fleet(c, getgid() + 2, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	json_t *fleet = control_handle(c, (const char *)data, len, 1000, getgid() + 2);
	if (json_is_true(json_object_get(fleet, "ok"))) {
		json_t *req = json_loadb((const char *)data, len, 0, NULL);
		const char *name = json_string_value(json_object_get(req, "command"));
		static const char *const allowed[] = { CTL_CMD_STATUS, CTL_CMD_BANS, CTL_CMD_WATCH, CTL_CMD_FLEET };
		bool ok = false;
		for (size_t i = 0; name && i < sizeof(allowed) / sizeof(allowed[0]); i++)
			ok = ok || !strcmp(name, allowed[i]);
		if (!ok) {
			fprintf(stderr, "fuzz: the [fleet] group was answered for \"%s\"\n", name ? name : "?");
			abort();
		}
		json_decref(req);
	}
	json_decref(fleet);
	/* The server's thread blocks SIGALRM, libFuzzer's timer, as the daemon's threads block
	 * the signals its main loop takes: a signal would cut its read of the request short. */
	sigset_t alarm, old;
	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm, &old);
	if (control_start(c) < 0)
		abort();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	over_socket(data, size);
	control_free(c);
	banwriter_free(ctx.writer);
	return 0;
}
