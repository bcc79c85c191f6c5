/* backend.h - where the ban writer's bans go: a small table of operations, as wireguard-tools'
 * ipc.c puts the kernel and the userspace implementations behind the same few calls. The nft
 * backend (ban/backend-nft.c) talks to table inet nfsentry over netlink; the unit tests give
 * the writer a fake one (tests/unit/fakeban.h). Every operation is called from one thread at a
 * time (the writer's, or its owner's before the start and after the stop). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "nft/setelem.h"
#include "nft/setlookup.h"

enum ban_backend_verb { BAN_BACKEND_ADD, BAN_BACKEND_DEL };

struct ban_backend;

struct ban_backend_ops {
	/* Adds or deletes @n <= NFTSET_BATCH_MAX elements as one transaction that survives a
	 * refused element: @res[i] gets 0 or the -errno that refused element i (-EEXIST: already
	 * in, -ENOENT: not in or no such set, -ENFILE: the set is full). Returns the number applied,
	 * or -errno when the outcome is unknown (the conversation failed): nftset_commit(). */
	int (*commit)(struct ban_backend *b, enum ban_backend_verb verb, const struct nftset_elem *e, size_t n,
		      int *res);
	/* Deletes @out and adds @in in one transaction (a full set takes @in in place of @out).
	 * @res gets the answer to each. Returns 0 when both were applied, the first refusal's
	 * -errno, or -errno when the outcome is unknown: nftset_swap(). */
	int (*swap)(struct ban_backend *b, const struct nftset_elem *out, const struct nftset_elem *in, int res[2]);
	/* Calls @cb for each element of ban set @set (NFTSET_BAN4 ... NFTSET_BANNET6), with its
	 * time left. Returns 0, -ENOENT when the table or the set is missing, or -errno. */
	int (*dump)(struct ban_backend *b, const char *set, int (*cb)(const struct nftset_elem *e, void *data),
		    void *data);
	/* Answers @n <= NFTSET_LOOKUP_MAX questions about the active peers' sets, in their fields.
	 * Returns 0 or -errno (then no answer can be trusted): nftset_lookup(). */
	int (*lookup)(struct ban_backend *b, struct nftset_query *q, size_t n);
	/* Calls @cb for each address of active4 or active6 with its age. Returns 0, -ENOENT when
	 * the set is missing, or -errno (a dump broken off: what was reported stands). */
	int (*ages)(struct ban_backend *b, const char *set,
		    void (*cb)(const struct nfs_addr *a, uint64_t age_ms, void *data), void *data);
	/* The kernel's handle of table inet nfsentry: a new one means the table was loaded again
	 * (empty sets). Returns 0, -ENOENT when there is no such table, or -errno. */
	int (*table_handle)(struct ban_backend *b, uint64_t *handle);
	/* Frees the backend and what it holds (a socket). */
	void (*free)(struct ban_backend *b);
};

/* A backend's first member: implementations embed it and cast back. */
struct ban_backend {
	const struct ban_backend_ops *ops;
};

/* The kernel backend: opens a netfilter netlink socket. Returns 0 and the backend in @out (the
 * caller owns it: ban_backend_free()), or -errno. */
int ban_backend_nft_new(struct ban_backend **out);

/* Accepts NULL. */
static inline void ban_backend_free(struct ban_backend *b)
{
	if (b)
		b->ops->free(b);
}
