/* fakeban.h - a ban backend (ban/backend.h) in memory, for the unit tests: one list holds the
 * elements of every ban set, the active peers' sets are empty, and the test can make the next
 * commits fail as a whole, have one element refused, make the sets full at a size of its own,
 * slow every commit down (a stalled writer), or take table inet nfsentry away and load it again
 * (a new handle, empty sets). Its calls come from the writer thread
 * while the test reads it: every field is under @lock. */
#pragma once

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "ban/backend.h"

#define FAKEBAN_MAX 1024

struct fakeban {
	struct ban_backend b; /* first */
	pthread_mutex_t lock;
	struct nftset_elem set[FAKEBAN_MAX]; /* what the sets hold */
	size_t n;
	/* what the test asks for */
	unsigned fail_commits;   /* the next this many add commits fail as a whole with fail_err */
	int fail_err;
	struct nfs_addr refuse;  /* an element refused with refuse_err (family 0: none) */
	int refuse_err;
	size_t cap;              /* the sets are full with this many elements (0: FAKEBAN_MAX) */
	uint64_t handle;         /* table inet nfsentry's handle (0: no such table) */
	unsigned delay_ms;       /* each commit takes this long (a writer stalled in the kernel) */
	/* what happened */
	unsigned commits, failed_commits;
};

static ssize_t fakeban_find(struct fakeban *f, const struct nftset_elem *e)
{
	for (size_t i = 0; i < f->n; i++)
		if (nfs_addr_equal(&f->set[i].addr, &e->addr) && !strcmp(nftset_elem_set(&f->set[i]), nftset_elem_set(e)))
			return (ssize_t)i;
	return -1;
}

static int fakeban_one(struct fakeban *f, enum ban_backend_verb verb, const struct nftset_elem *e)
{
	ssize_t i = fakeban_find(f, e);

	if (verb == BAN_BACKEND_DEL) {
		if (i < 0)
			return -ENOENT;
		f->set[i] = f->set[--f->n];
		return 0;
	}
	if (f->refuse.family && nfs_addr_equal(&f->refuse, &e->addr))
		return f->refuse_err;
	if (i >= 0)
		return -EEXIST;
	if (f->n == (f->cap ? f->cap : FAKEBAN_MAX))
		return -ENFILE;
	f->set[f->n] = *e;
	if (!f->set[f->n].expires_ms)
		f->set[f->n].expires_ms = e->timeout_ms;
	f->n++;
	return 0;
}

static int fakeban_commit(struct ban_backend *b, enum ban_backend_verb verb, const struct nftset_elem *e, size_t n,
			  int *res)
{
	struct fakeban *f = (struct fakeban *)b;
	int applied = 0;

	pthread_mutex_lock(&f->lock);
	unsigned delay = f->delay_ms;
	pthread_mutex_unlock(&f->lock);
	if (delay)
		usleep(delay * 1000u);
	pthread_mutex_lock(&f->lock);
	f->commits++;
	if (verb == BAN_BACKEND_ADD && f->fail_commits) {
		f->fail_commits--;
		f->failed_commits++;
		pthread_mutex_unlock(&f->lock);
		return f->fail_err;
	}
	for (size_t i = 0; i < n; i++) {
		res[i] = fakeban_one(f, verb, &e[i]);
		applied += res[i] == 0;
	}
	pthread_mutex_unlock(&f->lock);
	return applied;
}

static int fakeban_swap(struct ban_backend *b, const struct nftset_elem *out, const struct nftset_elem *in, int res[2])
{
	struct fakeban *f = (struct fakeban *)b;

	pthread_mutex_lock(&f->lock);
	res[0] = fakeban_one(f, BAN_BACKEND_DEL, out);
	res[1] = res[0] ? 0 : fakeban_one(f, BAN_BACKEND_ADD, in);
	pthread_mutex_unlock(&f->lock);
	return res[0] ? res[0] : res[1];
}

static int fakeban_dump(struct ban_backend *b, const char *set, int (*cb)(const struct nftset_elem *e, void *data),
			void *data)
{
	struct fakeban *f = (struct fakeban *)b;
	struct nftset_elem *copy = malloc(sizeof(f->set));
	size_t n = 0;

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(nftset_elem_set(&f->set[i]), set))
			copy[n++] = f->set[i];
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < n; i++)
		cb(&copy[i], data);
	free(copy);
	return 0;
}

static int fakeban_lookup(struct ban_backend *b, struct nftset_query *q, size_t n)
{
	(void)b;
	for (size_t i = 0; i < n; i++)
		q[i].found = false, q[i].age_ms = 0, q[i].err = 0;
	return 0;
}

static int fakeban_ages(struct ban_backend *b, const char *set,
			void (*cb)(const struct nfs_addr *a, uint64_t age_ms, void *data), void *data)
{
	(void)b, (void)set, (void)cb, (void)data;
	return 0;
}

static int fakeban_table_handle(struct ban_backend *b, uint64_t *handle)
{
	struct fakeban *f = (struct fakeban *)b;

	pthread_mutex_lock(&f->lock);
	uint64_t h = f->handle;
	pthread_mutex_unlock(&f->lock);
	if (!h)
		return -ENOENT;
	*handle = h;
	return 0;
}

static void fakeban_free(struct ban_backend *b)
{
	pthread_mutex_destroy(&((struct fakeban *)b)->lock);
	free(b);
}

static const struct ban_backend_ops fakeban_ops = {
	.commit = fakeban_commit,
	.swap = fakeban_swap,
	.dump = fakeban_dump,
	.lookup = fakeban_lookup,
	.ages = fakeban_ages,
	.table_handle = fakeban_table_handle,
	.free = fakeban_free,
};

static inline struct fakeban *fakeban_new(void)
{
	struct fakeban *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->b.ops = &fakeban_ops;
	f->handle = 1;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

/* The element of @addr in the sets: its timeout, or 0 when it is not there. */
static inline uint64_t fakeban_timeout(struct fakeban *f, const struct nfs_addr *addr)
{
	uint64_t t = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++)
		if (nfs_addr_equal(&f->set[i].addr, addr))
			t = f->set[i].timeout_ms ? f->set[i].timeout_ms : 1;
	pthread_mutex_unlock(&f->lock);
	return t;
}

static inline size_t fakeban_size(struct fakeban *f)
{
	pthread_mutex_lock(&f->lock);
	size_t n = f->n;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* Table inet nfsentry loaded again with handle @handle (0: deleted): its sets start empty. */
static inline void fakeban_reload(struct fakeban *f, uint64_t handle)
{
	pthread_mutex_lock(&f->lock);
	f->n = 0;
	f->handle = handle;
	pthread_mutex_unlock(&f->lock);
}

/* Copies the element of @addr in the sets to @out. Returns false when there is none. */
static inline bool fakeban_get(struct fakeban *f, const struct nfs_addr *addr, struct nftset_elem *out)
{
	bool found = false;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++)
		if (nfs_addr_equal(&f->set[i].addr, addr)) {
			*out = f->set[i];
			found = true;
		}
	pthread_mutex_unlock(&f->lock);
	return found;
}

/* Copies the element of @addr in set @set to @out. Returns false when there is none. */
static inline bool fakeban_get_in(struct fakeban *f, const char *set, const struct nfs_addr *addr,
				  struct nftset_elem *out)
{
	bool found = false;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++)
		if (nfs_addr_equal(&f->set[i].addr, addr) && !strcmp(nftset_elem_set(&f->set[i]), set)) {
			*out = f->set[i];
			found = true;
		}
	pthread_mutex_unlock(&f->lock);
	return found;
}
