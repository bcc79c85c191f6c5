/* procscan.c - see procscan.h. */
#include "attrib/procscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"

/* A /proc entry or a descriptor name: decimal digits only, no sign, fits an int. */
static int parse_num(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 0x7fffffffL / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= 0x7fffffffL ? (int)v : -1;
}

/* "socket:[12345]" or "pipe:[12345]"; anything else (files, anon_inode:..., a path that
 * merely looks alike cannot: it would start with '/') is not ours. */
static uint8_t parse_link(const char *s, size_t n, uint64_t *ino)
{
	static const struct {
		const char *prefix;
		size_t len;
		uint8_t kind;
	} kinds[] = { { "socket:[", 8, PROCSCAN_SOCKET }, { "pipe:[", 6, PROCSCAN_PIPE } };

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t i = kinds[k].len;
		uint64_t v = 0;

		if (n < i + 2 || memcmp(s, kinds[k].prefix, i) || s[n - 1] != ']')
			continue;
		for (; i < n - 1; i++) {
			if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
				return 0;
			v = v * 10 + (uint64_t)(s[i] - '0');
		}
		*ino = v;
		return kinds[k].kind;
	}
	return 0;
}

static int push_pid(struct procscan *s, int pid)
{
	if (s->npids == s->cap_pids) {
		size_t cap = s->cap_pids ? s->cap_pids * 2 : 256;
		struct procscan_pid *p = realloc(s->pids, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->pids = p;
		s->cap_pids = cap;
	}
	s->pids[s->npids++] = (struct procscan_pid){ .pid = pid, .first = (uint32_t)s->nrefs };
	return 0;
}

static int push_ref(struct procscan *s, uint8_t kind, uint64_t ino, int pid, int fd)
{
	if (s->nrefs == s->cap_refs) {
		size_t cap = s->cap_refs ? s->cap_refs * 2 : 1024;
		struct procscan_ref *p = realloc(s->refs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->refs = p;
		s->cap_refs = cap;
	}
	s->refs[s->nrefs++] = (struct procscan_ref){ .ino = ino, .pid = pid, .fd = fd, .kind = kind };
	return 0;
}

/* Adds the sockets and pipes of @pid. Returns 0; 1 when the descriptor cap or the deadline
 * stopped it (s->truncated, and the pass ends); or -errno for failures of our own (memory,
 * descriptors): a process that is gone or closed to us is not an error. */
static int scan_pid(struct procscan *s, int procfd, int pid, size_t max_refs, int64_t deadline_ns)
{
	char path[32], link[64];
	struct dirent *de;
	unsigned seen = 0;
	DIR *d;
	int fd, r;

	snprintf(path, sizeof(path), "%d/fd", pid);
	fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return 0; /* exited since readdir saw it */
		if (errno != EACCES && errno != EPERM)
			return -errno;
	}
	r = push_pid(s, pid);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (fd < 0) {
		s->pids[s->npids - 1].unreadable = true;
		s->unreadable++;
		return 0;
	}
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		uint64_t ino;
		uint8_t kind;
		ssize_t n;
		int num = parse_num(de->d_name);

		if (num < 0)
			continue;
		if (++seen % PROCSCAN_CHECK_EVERY == 0 && clock_mono_ns() > deadline_ns) {
			s->truncated = true;
			r = 1;
			break;
		}
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link));
		if (n < 0) {
			if (errno == EACCES || errno == EPERM) {
				/* Listing needs only read access to the folder (CAP_DAC_READ_SEARCH);
				 * following the links needs ptrace access (docs/attribution.md). */
				s->pids[s->npids - 1].unreadable = true;
				s->unreadable++;
				break;
			}
			continue; /* closed meanwhile, or the process exited */
		}
		kind = (size_t)n < sizeof(link) ? parse_link(link, (size_t)n, &ino) : 0;
		if (!kind)
			continue;
		if (s->nrefs >= max_refs) {
			s->truncated = true;
			r = 1;
			break;
		}
		r = push_ref(s, kind, ino, pid, num);
		if (r < 0)
			break;
		s->pids[s->npids - 1].n++;
	}
	closedir(d);
	return r;
}

static int cmp_key(uint8_t ka, uint64_t ia, int pa, uint8_t kb, uint64_t ib, int pb)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (ia != ib)
		return ia < ib ? -1 : 1;
	return pa < pb ? -1 : pa > pb;
}

static int cmp_pid(const void *a, const void *b)
{
	int x = ((const struct procscan_pid *)a)->pid, y = ((const struct procscan_pid *)b)->pid;
	return x < y ? -1 : x > y;
}

/* Sorts indices of @refs by (kind, ino, pid). A merge sort: qsort() would need the refs in a
 * global (qsort_r is a GNU extension) and lookups run on several threads. */
static void sort_index(uint32_t *v, uint32_t *tmp, size_t n, const struct procscan_ref *refs)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	sort_index(v, tmp, h, refs);
	sort_index(v + h, tmp, n - h, refs);
	size_t i = 0, j = h, o = 0;
	while (i < h && j < n) {
		const struct procscan_ref *x = &refs[v[i]], *y = &refs[v[j]];
		tmp[o++] = cmp_key(x->kind, x->ino, x->pid, y->kind, y->ino, y->pid) <= 0 ? v[i++] : v[j++];
	}
	while (i < h)
		tmp[o++] = v[i++];
	while (j < n)
		tmp[o++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

/* The pids listed in /proc, at most @max (then s->truncated), those of @prefer_uid first. */
static int list_pids(struct procscan *s, int procfd, unsigned max, int64_t prefer_uid, int **out, size_t *n)
{
	int fd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), *v = NULL, *rest = NULL, r = 0;
	size_t cap = 0, nv = 0, nrest = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		int pid = parse_num(de->d_name);
		struct stat st;

		if (pid <= 0)
			continue;
		if (nv + nrest == max) {
			s->truncated = true;
			break;
		}
		if (nv + nrest == cap) {
			cap = cap ? cap * 2 : 1024;
			int *a = realloc(v, cap * sizeof(*v)), *b = a ? realloc(rest, cap * sizeof(*rest)) : NULL;
			if (a)
				v = a;
			if (b)
				rest = b;
			if (!a || !b) {
				r = -ENOMEM;
				break;
			}
		}
		/* A stat of the folder, no file opened: its owner is the process's euid. */
		if (prefer_uid >= 0 && fstatat(procfd, de->d_name, &st, 0) == 0 && (int64_t)st.st_uid == prefer_uid)
			v[nv++] = pid;
		else
			rest[nrest++] = pid;
	}
	closedir(d);
	if (r == 0 && nrest)
		memcpy(v + nv, rest, nrest * sizeof(*v));
	free(rest);
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	*n = nv + nrest;
	return 0;
}

int procscan_run(struct procscan *s, int procfd, const struct procscan_limits *lim)
{
	size_t max_refs = lim->max_refs < UINT32_MAX ? lim->max_refs : UINT32_MAX, npid = 0;
	uint32_t *tmp;
	int *pids = NULL, r;

	r = list_pids(s, procfd, lim->max_pids, lim->prefer_uid, &pids, &npid);
	if (r < 0)
		return r;
	for (size_t i = 0; i < npid && r == 0; i++) {
		if (clock_mono_ns() > lim->deadline_ns) {
			s->truncated = true;
			break;
		}
		s->looked++;
		r = scan_pid(s, procfd, pids[i], max_refs, lim->deadline_ns);
	}
	free(pids);
	if (r < 0)
		return r;
	/* The pass went in /proc's order, preferred uid first; lookups go by pid. */
	qsort(s->pids, s->npids, sizeof(*s->pids), cmp_pid);
	s->by_ino = malloc((s->nrefs ? s->nrefs : 1) * sizeof(*s->by_ino));
	tmp = malloc((s->nrefs ? s->nrefs : 1) * sizeof(*tmp));
	if (!s->by_ino || !tmp) {
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->nrefs; i++)
		s->by_ino[i] = (uint32_t)i;
	sort_index(s->by_ino, tmp, s->nrefs, s->refs);
	free(tmp);
	return 0;
}

void procscan_clear(struct procscan *s)
{
	free(s->refs);
	free(s->by_ino);
	free(s->pids);
	memset(s, 0, sizeof(*s));
}

size_t procscan_holders(const struct procscan *s, uint8_t kind, uint64_t ino, size_t *first)
{
	size_t lo = 0, hi = s->nrefs, end;

	/* The first index whose (kind, ino) is not below the key. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct procscan_ref *x = &s->refs[s->by_ino[mid]];
		if (cmp_key(x->kind, x->ino, 0, kind, ino, 0) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < s->nrefs; end++) {
		const struct procscan_ref *x = &s->refs[s->by_ino[end]];
		if (x->kind != kind || x->ino != ino)
			break;
	}
	*first = lo;
	return end - lo;
}

bool procscan_has_socket(const struct procscan *s, uint64_t ino)
{
	size_t first;
	return procscan_holders(s, PROCSCAN_SOCKET, ino, &first) > 0;
}

struct procscan_pid *procscan_find_pid(const struct procscan *s, int pid)
{
	struct procscan_pid key = { .pid = pid };
	return bsearch(&key, s->pids, s->npids, sizeof(*s->pids), cmp_pid);
}
