/* store.c - see store.h. The index (sequence, token, size of every record, oldest first) is
 * built from the file names at start and kept in memory; the files are the truth for
 * everything else. */
#include "evidence/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/log.h"

#define RECORD_MAX_BYTES (16u << 20) /* a record is a few KiB; anything this big is not ours */
#define ANCHOR_FILE "anchor"
/* "SEQ TOKEN" of the newest record. No record follows the newest one, so nothing else in the
 * folder would show that it was deleted while the daemon was stopped. */
#define HEAD_FILE "head"

struct entry {
	uint64_t seq, size;
	char token[EVSTORE_TOKEN_LEN + 1];
};

struct evstore {
	pthread_mutex_t lock;
	char dir[4096];
	uint64_t max_bytes, total;
	struct entry *e; /* e[first..n-1] are the records, oldest first */
	size_t first, n, cap;
	uint64_t next_seq;
	char anchor[EVSTORE_TOKEN_LEN + 1]; /* token of the last record removed for space, or "" */
	struct evstore_stats st;
	/* Removals not yet logged: once full, every new record removes one, and a line each
	 * would flood the log under attack. Said at once, then at most every PRUNE_LOG_S. */
	uint64_t unlogged_records, unlogged_bytes;
	int64_t pruned_logged_s;
	/* What the head file named at start when that record was gone: seq 0 if none was. */
	struct entry lost_head;
};

#define PRUNE_LOG_S 60

static bool is_token(const char *s, size_t len)
{
	if (len != EVSTORE_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void hash_hex(const void *data, size_t len, char out[EVSTORE_TOKEN_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, EVSTORE_TOKEN_LEN + 1, h, sizeof(h));
}

static void record_path(const struct evstore *s, uint64_t seq, const char *token, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%012" PRIu64 "-%s.json", s->dir, seq, token);
}

/* "000000000042-<token>.json" */
static bool parse_name(const char *name, uint64_t *seq, char token[EVSTORE_TOKEN_LEN + 1])
{
	size_t len = strlen(name);
	if (len != 12 + 1 + EVSTORE_TOKEN_LEN + 5 || name[12] != '-' || strcmp(name + len - 5, ".json"))
		return false;
	uint64_t v = 0;
	for (int i = 0; i < 12; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (!is_token(name + 13, EVSTORE_TOKEN_LEN))
		return false;
	*seq = v;
	memcpy(token, name + 13, EVSTORE_TOKEN_LEN);
	token[EVSTORE_TOKEN_LEN] = '\0';
	return true;
}

static int push(struct evstore *s, const struct entry *x)
{
	if (s->n == s->cap) {
		if (s->first > 0) { /* slide the live part down before growing */
			memmove(s->e, s->e + s->first, (s->n - s->first) * sizeof(*s->e));
			s->n -= s->first;
			s->first = 0;
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 256;
			struct entry *e = realloc(s->e, cap * sizeof(*e));
			if (!e)
				return -ENOMEM;
			s->e = e;
			s->cap = cap;
		}
	}
	s->e[s->n++] = *x;
	return 0;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reads a whole small file. Returns 0 with a NUL-terminated copy, or -errno (-EFBIG). */
static int read_file(const char *path, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = fd < 0 ? -errno : -EINVAL;
		goto out;
	}
	if (st.st_size > RECORD_MAX_BYTES) {
		r = -EFBIG;
		goto out;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
out:
	close(fd);
	return r;
}

static void load_anchor(struct evstore *s)
{
	char path[4200], *data = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/" ANCHOR_FILE, s->dir);
	if (read_file(path, &data, &len) < 0)
		return;
	while (len && (data[len - 1] == '\n' || data[len - 1] == ' '))
		len--;
	if (is_token(data, len)) {
		memcpy(s->anchor, data, EVSTORE_TOKEN_LEN);
		s->anchor[EVSTORE_TOKEN_LEN] = '\0';
	} else {
		log_warn("%s: not a token; the evidence chain's start is unknown", path);
	}
	free(data);
}

/* The newest record when the head file was written: missing from the folder, it was removed
 * behind the daemon's back (pruning never removes the newest). Numbers go on after it, so
 * that the gap stays visible. */
static void load_head(struct evstore *s)
{
	char path[4200], *data = NULL, tok[EVSTORE_TOKEN_LEN + 1];
	size_t len = 0;
	unsigned long long seq;

	snprintf(path, sizeof(path), "%s/" HEAD_FILE, s->dir);
	if (read_file(path, &data, &len) < 0)
		return;
	char *text = strndup(data, len);
	free(data);
	if (!text)
		return;
	/* A record's number has 12 digits in its file name: anything else is not ours. */
	if (text[0] < '0' || text[0] > '9' || sscanf(text, "%20llu %64s", &seq, tok) != 2 || !seq ||
	    seq > 999999999999ull || !is_token(tok, strlen(tok))) {
		log_warn("%s: not \"SEQ TOKEN\"; a deletion of the newest evidence record cannot be seen", path);
		free(text);
		return;
	}
	free(text);
	for (size_t i = s->n; i-- > s->first;)
		if (s->e[i].seq == seq && !strcmp(s->e[i].token, tok))
			return;
	if (s->n > s->first && s->e[s->n - 1].seq > seq)
		return; /* written before the last record, which the daemon stopped before naming */
	s->lost_head.seq = seq;
	memcpy(s->lost_head.token, tok, sizeof(tok));
	if (seq >= s->next_seq)
		s->next_seq = seq + 1;
	log_err("evidence: the newest record, %llu-%.16s, is gone from %s: deleted while nfsentry was stopped "
		"(nfsentryctl evidence --verify)", seq, tok, s->dir);
}

/* Whether the chain still ends at the lost newest record @lost: @newest, the newest record
 * held (NULL: none), did not come after it. A pointer to that record, not an array and a
 * count: with no records the array may be NULL, and NULL + 0 is undefined (clang's UBSan). */
static bool head_lost(const struct entry *lost, const struct entry *newest)
{
	return lost->seq && (!newest || newest->seq < lost->seq);
}

/* Replaces the folder's small file @name with one line, atomically. */
static int save_line(struct evstore *s, const char *name, const char *line)
{
	struct atomic_file af;
	char path[4200];
	int r;

	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	r = atomic_file_open(&af, path, 0600);
	if (r < 0)
		return r;
	fprintf(af.f, "%s\n", line);
	return atomic_file_commit(&af);
}

int evstore_open(struct evstore **out, const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	struct evstore *s = calloc(1, sizeof(*s));
	struct dirent *d;
	struct stat st;
	DIR *dh;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->max_bytes = max_bytes;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int r = -errno;
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		evstore_close(s);
		return r;
	}
	/* Records hold what processes ran and what they sent: root only, whatever made the folder. */
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || ((st.st_mode & 077) && chmod(dir, 0700) < 0)) {
		int r = errno ? -errno : -ENOTDIR;
		snprintf(err, errlen, "%s: not a folder nfsentry can keep private: %s", dir, strerror(-r));
		evstore_close(s);
		return r;
	}
	dh = opendir(dir);
	if (!dh) {
		int r = -errno;
		snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
		evstore_close(s);
		return r;
	}
	while ((d = readdir(dh))) {
		struct entry x;
		char path[4200];
		if (!parse_name(d->d_name, &x.seq, x.token))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		x.size = (uint64_t)st.st_size;
		if (push(s, &x) < 0) {
			closedir(dh);
			snprintf(err, errlen, "out of memory indexing %s", dir);
			evstore_close(s);
			return -ENOMEM;
		}
		s->total += x.size;
	}
	closedir(dh);
	if (s->n) /* an empty folder leaves s->e NULL, which qsort() must not be given */
		qsort(s->e, s->n, sizeof(*s->e), cmp_seq);
	s->next_seq = s->n ? s->e[s->n - 1].seq + 1 : 1;
	s->st.records = s->n;
	load_anchor(s);
	load_head(s);
	*out = s;
	return 0;
}

void evstore_close(struct evstore *s)
{
	if (!s)
		return;
	free(s->e);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void evstore_set_max(struct evstore *s, uint64_t max_bytes)
{
	pthread_mutex_lock(&s->lock);
	s->max_bytes = max_bytes;
	pthread_mutex_unlock(&s->lock);
}

/* Oldest first until the total fits; the newest record always stays. Under the lock. */
static void prune(struct evstore *s)
{
	uint64_t removed = 0, bytes = 0;
	char path[4200];

	while (s->total > s->max_bytes && s->n - s->first > 1) {
		struct entry *x = &s->e[s->first];
		record_path(s, x->seq, x->token, path, sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("evidence: cannot remove %s: %s", path, strerror(errno));
		memcpy(s->anchor, x->token, sizeof(s->anchor));
		s->total -= x->size;
		bytes += x->size;
		s->first++;
		removed++;
	}
	if (!removed)
		return;
	s->st.pruned += removed;
	int r = save_line(s, ANCHOR_FILE, s->anchor);
	if (r < 0)
		log_err("evidence: cannot save the anchor %s/" ANCHOR_FILE ": %s; verifying will report the chain's "
			"start as unknown", s->dir, strerror(-r));
	s->unlogged_records += removed;
	s->unlogged_bytes += bytes;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (s->pruned_logged_s && now.tv_sec - s->pruned_logged_s < PRUNE_LOG_S)
		return;
	log_notice("evidence: removed the %" PRIu64 " oldest records (%" PRIu64 " bytes) to stay under %" PRIu64
		   " bytes%s; the chain now starts after %.16s", s->unlogged_records, s->unlogged_bytes, s->max_bytes,
		   s->pruned_logged_s ? " since the last such line" : "", s->anchor);
	s->unlogged_records = s->unlogged_bytes = 0;
	s->pruned_logged_s = now.tv_sec ? now.tv_sec : 1;
}

int64_t evstore_append(struct evstore *s, json_t *rec, char token[EVSTORE_TOKEN_LEN + 1])
{
	struct atomic_file af;
	char path[4200];
	int r;

	pthread_mutex_lock(&s->lock);
	const char *prev = s->n > s->first ? s->e[s->n - 1].token : s->anchor[0] ? s->anchor : NULL;
	/* After a deleted newest record the next one still names it: the gap stays in the chain
	 * for good, not only until the next start. */
	if (head_lost(&s->lost_head, s->n > s->first ? &s->e[s->n - 1] : NULL))
		prev = s->lost_head.token;
	json_object_set_new(rec, "seq", json_integer((json_int_t)s->next_seq));
	json_object_set_new(rec, "prev", prev ? json_string(prev) : json_null());
	char *text = json_dumps(rec, JSON_COMPACT);
	if (!text) {
		r = -ENOMEM;
		goto fail;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* one line; json_dumps left room for its NUL */
	char *line = realloc(text, len + 2);
	if (!line) {
		free(text);
		r = -ENOMEM;
		goto fail;
	}
	line[len + 1] = '\0';
	hash_hex(line, len + 1, token);
	record_path(s, s->next_seq, token, path, sizeof(path));
	r = atomic_file_open(&af, path, 0600);
	if (r == 0) {
		if (fwrite(line, 1, len + 1, af.f) != len + 1) {
			r = -EIO;
			atomic_file_abort(&af);
		} else {
			r = atomic_file_commit(&af);
		}
	}
	free(line);
	if (r < 0)
		goto fail;
	struct entry x = { .seq = s->next_seq, .size = len + 1 };
	memcpy(x.token, token, sizeof(x.token));
	r = push(s, &x);
	if (r < 0) {
		unlink(path);
		goto fail;
	}
	s->next_seq++;
	s->total += x.size;
	s->st.written++;
	char head[32 + EVSTORE_TOKEN_LEN];
	snprintf(head, sizeof(head), "%" PRIu64 " %s", x.seq, x.token);
	r = save_line(s, HEAD_FILE, head);
	if (r < 0)
		log_warn("evidence: cannot write %s/" HEAD_FILE ": %s; deleting the newest record would not show",
			 s->dir, strerror(-r));
	prune(s);
	pthread_mutex_unlock(&s->lock);
	return (int64_t)x.size;
fail:
	s->st.write_errors++;
	pthread_mutex_unlock(&s->lock);
	token[0] = '\0';
	return r;
}

/* The "prev" of a record's text: 0 with a token or "" (null), -EINVAL if unreadable. */
static int record_prev(const char *data, size_t len, char out[EVSTORE_TOKEN_LEN + 1])
{
	json_t *j = json_loadb(data, len, 0, NULL);
	json_t *p = j ? json_object_get(j, "prev") : NULL;
	int r = 0;

	out[0] = '\0';
	if (!j || !p)
		r = -EINVAL;
	else if (json_is_string(p) && is_token(json_string_value(p), json_string_length(p)))
		memcpy(out, json_string_value(p), EVSTORE_TOKEN_LEN + 1);
	else if (!json_is_null(p))
		r = -EINVAL;
	json_decref(j);
	return r;
}

int evstore_get(struct evstore *s, const char *token, char **data, size_t *len, struct evstore_check *chk)
{
	char path[4200], next_path[4200] = "", expect_prev[EVSTORE_TOKEN_LEN + 1] = "";
	char prev[EVSTORE_TOKEN_LEN + 1];
	bool found = false;
	int r;

	memset(chk, 0, sizeof(*chk));
	if (!token || !is_token(token, strlen(token)))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	for (size_t i = s->n; i-- > s->first;) {
		if (strcmp(s->e[i].token, token))
			continue;
		found = true;
		chk->seq = s->e[i].seq;
		record_path(s, s->e[i].seq, token, path, sizeof(path));
		if (i > s->first)
			memcpy(expect_prev, s->e[i - 1].token, sizeof(expect_prev));
		else
			memcpy(expect_prev, s->anchor, sizeof(expect_prev));
		if (i + 1 < s->n)
			record_path(s, s->e[i + 1].seq, s->e[i + 1].token, next_path, sizeof(next_path));
		break;
	}
	pthread_mutex_unlock(&s->lock);
	if (!found)
		return -ENOENT;
	r = read_file(path, data, len);
	if (r < 0) {
		chk->state = EVSTORE_UNREADABLE;
		return r; /* -ENOENT: indexed, but deleted since */
	}
	hash_hex(*data, *len, chk->actual);
	chk->state = strcmp(chk->actual, token) ? EVSTORE_TAMPERED : EVSTORE_INTACT;

	if (record_prev(*data, *len, prev) < 0)
		snprintf(chk->chain, sizeof(chk->chain), "its \"prev\" link is unreadable");
	else if (strcmp(prev, expect_prev))
		snprintf(chk->chain, sizeof(chk->chain), "it follows %.16s, but the record before it is %.16s%s",
			 prev[0] ? prev : "nothing", expect_prev[0] ? expect_prev : "nothing",
			 prev[0] ? ": a record was deleted or replaced" : "");
	if (next_path[0] && !chk->chain[0]) {
		char *nd = NULL;
		size_t nl = 0;
		if (read_file(next_path, &nd, &nl) == 0 && record_prev(nd, nl, prev) == 0 && strcmp(prev, token))
			snprintf(chk->chain, sizeof(chk->chain),
				 "the record after it does not follow it (it follows %.16s): replaced or re-chained",
				 prev[0] ? prev : "nothing");
		free(nd);
	}
	return 0;
}

json_t *evstore_verify(struct evstore *s)
{
	json_t *res = json_object(), *problems = json_array();
	struct entry *copy = NULL;
	char anchor[EVSTORE_TOKEN_LEN + 1];
	struct entry lost;
	size_t n;
	uint64_t bytes;

	if (!res || !problems)
		goto oom;
	pthread_mutex_lock(&s->lock);
	n = s->n - s->first;
	bytes = s->total;
	memcpy(anchor, s->anchor, sizeof(anchor));
	lost = s->lost_head;
	copy = n ? malloc(n * sizeof(*copy)) : NULL;
	if (copy)
		memcpy(copy, s->e + s->first, n * sizeof(*copy));
	pthread_mutex_unlock(&s->lock);
	if (n && !copy)
		goto oom;

	const char *expect = anchor[0] ? anchor : "";
	for (size_t i = 0; i < n; i++) {
		char path[4200], actual[EVSTORE_TOKEN_LEN + 1], prev[EVSTORE_TOKEN_LEN + 1], why[200] = "";
		char *data = NULL;
		size_t len = 0;
		record_path(s, copy[i].seq, copy[i].token, path, sizeof(path));
		int r = read_file(path, &data, &len);
		if (r < 0) {
			snprintf(why, sizeof(why), r == -ENOENT ? "deleted" : "unreadable: %s", strerror(-r));
		} else {
			hash_hex(data, len, actual);
			if (strcmp(actual, copy[i].token))
				snprintf(why, sizeof(why), "tampered: its bytes hash to %.16s", actual);
			else if (record_prev(data, len, prev) < 0)
				snprintf(why, sizeof(why), "its \"prev\" link is unreadable");
			else if (strcmp(prev, expect))
				snprintf(why, sizeof(why), "it follows %.16s, not the record before it (%.16s): a record "
					 "was deleted or replaced", prev[0] ? prev : "nothing", expect[0] ? expect : "nothing");
		}
		free(data);
		if (why[0]) {
			json_t *p = json_pack("{sI ss ss}", "seq", (json_int_t)copy[i].seq, "token", copy[i].token,
					      "problem", why);
			if (p)
				json_array_append_new(problems, p);
		}
		expect = copy[i].token;
	}
	if (head_lost(&lost, n ? &copy[n - 1] : NULL)) { /* once a record follows, its link says it */
		json_t *p = json_pack("{sI ss ss}", "seq", (json_int_t)lost.seq, "token", lost.token, "problem",
				      "the newest record is gone: a record was deleted while nfsentry was stopped");
		if (p)
			json_array_append_new(problems, p);
	}
	json_object_set_new(res, "records", json_integer((json_int_t)n));
	json_object_set_new(res, "bytes", json_integer((json_int_t)bytes));
	json_object_set_new(res, "anchor", anchor[0] ? json_string(anchor) : json_null());
	json_object_set_new(res, "problems", problems);
	free(copy);
	return res;
oom:
	json_decref(res);
	json_decref(problems);
	free(copy);
	return NULL;
}

void evstore_get_stats(struct evstore *s, struct evstore_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	out->records = s->n - s->first;
	out->bytes = s->total;
	pthread_mutex_unlock(&s->lock);
}
