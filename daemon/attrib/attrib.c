/* attrib.c - one lookup: the socket (inet_diag), one pass over /proc (procscan), the kernel's
 * TCP and UNIX socket tables, then a walk from the socket's owners up their parents and out
 * to the processes at the far ends of their pipes and sockets (Carrier & Shields, STOP sec.
 * 3.2; the walks of sec. 3.5-3.7). */
#include "attrib/attrib.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "attrib/clock.h"
#include "core/clock.h"
#include "attrib/procinfo.h"
#include "attrib/procscan.h"
#include "attrib/sockdiag.h"
#include "attrib/text.h"

#define MSEC 1000000LL
#define KEY_TIMEOUT_NS (1000 * MSEC) /* finding the socket: one request, answered at once */
#define VIA_MAX 96
#define PEERS_LISTED 32 /* pids listed per socket or pipe (a pipe may be shared by hundreds) */
#define FDS_LISTED 16   /* descriptor numbers listed per socket or pipe */

enum role { ROLE_OWNER, ROLE_PARENT, ROLE_PEER };
static const char *const role_names[] = { "socket-owner", "parent", "ipc-peer" };

/* A process reached. */
struct reach {
	int pid;
	enum role role;
	bool done; /* described */
	char via[VIA_MAX];
};

/* A socket or pipe already listed for the process being described. */
struct listed {
	uint64_t ino;
	uint8_t kind;
	json_t *fds;
};

struct walk {
	struct attrib_limits lim;
	int64_t deadline;
	int procfd;
	int64_t boot_ns;
	struct procscan scan;
	struct sockdiag *diag;
	/* Every process reached, in the order reached. The walk describes a process's parent
	 * next (the chain up to pid 1 first, as STOP's "primary processes", sec. 3.5 and fig.
	 * 10), otherwise the oldest process reached and not yet described (breadth first over
	 * IPC, each with its own chain). One process has one parent: one slot is enough. */
	struct reach *q;
	size_t nq, cap_q, head; /* head: no undescribed process before it */
	ssize_t parent;         /* index in q of the parent to describe next, or -1 */
	struct listed *listed;  /* lim.max_fds_listed */
	struct procinfo *pi;
	json_t *problems;
	bool truncated;
};

static void limits_resolve(struct attrib_limits *l, const struct attrib_limits *in)
{
	*l = in ? *in : (struct attrib_limits){ 0 };
	if (!l->max_processes)
		l->max_processes = ATTRIB_DEFAULT_MAX_PROCESSES;
	if (!l->max_pids_scanned)
		l->max_pids_scanned = ATTRIB_DEFAULT_MAX_PIDS;
	if (!l->budget_ms)
		l->budget_ms = ATTRIB_DEFAULT_BUDGET_MS;
	if (!l->max_fds)
		l->max_fds = ATTRIB_DEFAULT_MAX_FDS;
	if (!l->max_fds_listed)
		l->max_fds_listed = ATTRIB_DEFAULT_MAX_FDS_LISTED;
}

static bool past_deadline(struct walk *w)
{
	if (clock_mono_ns() <= w->deadline)
		return false;
	w->truncated = true;
	return true;
}

/* The place of @pid among the processes reached, or -1. */
static ssize_t reached(const struct walk *w, const struct procscan_pid *p, int pid)
{
	if (p)
		return (ssize_t)p->reached - 1;
	for (size_t i = 0; i < w->nq; i++) /* not in the index (hidden, exited, past max_pids) */
		if (w->q[i].pid == pid)
			return (ssize_t)i;
	return -1;
}

/* Records that @pid was reached. Each pid is described once, in the role it was first reached
 * by; but a parent still waiting to be described as an IPC peer is a parent first, as in
 * STOP's walk, where the chain up to pid 1 is analysed before any IPC is resolved (sec. 3.5,
 * 3.6). Returns 0 or -ENOMEM. */
static int reach(struct walk *w, int pid, enum role role, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int reach(struct walk *w, int pid, enum role role, const char *fmt, ...)
{
	struct procscan_pid *p;
	struct reach *it;
	ssize_t i;
	va_list ap;

	if (pid <= 0)
		return 0;
	p = procscan_find_pid(&w->scan, pid);
	i = reached(w, p, pid);
	if (i >= 0 && (role != ROLE_PARENT || w->q[i].role != ROLE_PEER || w->q[i].done))
		return 0;
	if (i < 0 && w->nq == w->cap_q) {
		size_t cap = w->cap_q ? w->cap_q * 2 : 16;
		struct reach *q = realloc(w->q, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		w->q = q;
		w->cap_q = cap;
	}
	if (i < 0) {
		i = (ssize_t)w->nq++;
		if (p)
			p->reached = (uint32_t)w->nq;
	}
	if (role == ROLE_PARENT)
		w->parent = i;
	it = &w->q[i];
	*it = (struct reach){ .pid = pid, .role = role };
	va_start(ap, fmt);
	vsnprintf(it->via, VIA_MAX, fmt, ap);
	va_end(ap);
	return 0;
}

/* The next process to describe (an index in q), or -1 when none is left. */
static ssize_t walk_next(struct walk *w)
{
	ssize_t i = w->parent;

	if (i >= 0) {
		w->parent = -1;
		return i;
	}
	while (w->head < w->nq && w->q[w->head].done)
		w->head++;
	return w->head < w->nq ? (ssize_t)w->head : -1;
}

static int problem(struct walk *w, const char *table, int err)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s: %s", table, strerror(-err));
	return json_array_append_new(w->problems, json_string(buf)) ? -ENOMEM : 0;
}

/* A UNIX socket's name as ss(8) shows it: a path as it is, an abstract name with '@' for
 * each NUL (the first one marks it abstract). */
static json_t *unix_name_json(const struct walk *w, const struct sockdiag_unix *u)
{
	char name[128];
	const char *s = sockdiag_unix_name(w->diag, u);
	size_t n = u->name_len < sizeof(name) ? u->name_len : sizeof(name);

	if (!n)
		return json_null();
	for (size_t i = 0; i < n; i++)
		name[i] = s[i] ? s[i] : '@';
	return attrib_text_json(name, n, sizeof(name), NULL);
}

/* Describes socket or pipe @ref of process @pid into @entry (NULL when it is not listed) and,
 * when @expand, queues the processes at its other end: the other holders of a pipe (both
 * ends are one inode), the holders of a UNIX socket's peer, the holders of the local socket
 * at the other end of a TCP connection (STOP sec. 3.2). Returns 0 or -ENOMEM. */
static int resolve(struct walk *w, int pid, const struct procscan_ref *ref, json_t *entry, bool expand)
{
	char via[VIA_MAX], ep[SOCKDIAG_ENDPOINT_STRLEN];
	uint8_t peer_kind = PROCSCAN_SOCKET;
	uint64_t peer_ino = 0;
	json_t *peers = NULL;
	size_t first, n;
	int r = 0;

	via[0] = '\0';
	if (ref->kind == PROCSCAN_PIPE) {
		peer_kind = PROCSCAN_PIPE;
		peer_ino = ref->ino;
		snprintf(via, sizeof(via), "pipe:[%llu] with %d", (unsigned long long)ref->ino, pid);
	} else {
		const struct sockdiag_tcp *t = sockdiag_tcp_find(w->diag, ref->ino), *p;
		const struct sockdiag_unix *u = t ? NULL : sockdiag_unix_find(w->diag, ref->ino);

		if (t) {
			p = sockdiag_tcp_peer(w->diag, t);
			if (entry) {
				r |= json_object_set_new(entry, "type", json_string("tcp"));
				sockdiag_endpoint_format(t->family, t->local, t->lport, ep, sizeof(ep));
				r |= json_object_set_new(entry, "local", json_string(ep));
				sockdiag_endpoint_format(t->family, t->remote, t->rport, ep, sizeof(ep));
				r |= json_object_set_new(entry, "remote", json_string(ep));
				r |= json_object_set_new(entry, "state",
							 json_string(sockdiag_tcp_state_name(t->state)));
			}
			if (p) {
				peer_ino = p->ino;
				sockdiag_endpoint_format(p->family, p->local, p->lport, ep, sizeof(ep));
				snprintf(via, sizeof(via), "tcp %s peer of %d", ep, pid);
			}
		} else if (u) {
			if (entry) {
				r |= json_object_set_new(entry, "type", json_string("unix"));
				r |= json_object_set_new(entry, "name", unix_name_json(w, u));
				r |= json_object_set_new(entry, "peer_inode",
							 u->peer ? json_integer((json_int_t)u->peer) : json_null());
			}
			if (u->peer) {
				peer_ino = u->peer;
				snprintf(via, sizeof(via), "unix socket peer of %d", pid);
			}
		} else if (entry) {
			/* UDP, netlink, packet, or TCP of another network namespace. */
			r |= json_object_set_new(entry, "type", json_string("other"));
		}
	}
	if (entry) {
		peers = json_array();
		r |= json_object_set_new(entry, "peers", json_incref(peers));
	}
	n = peer_ino ? procscan_holders(&w->scan, peer_kind, peer_ino, &first) : 0;
	for (size_t i = 0, listed = 0; i < n && r == 0; i++) {
		const struct procscan_ref *h = &w->scan.refs[w->scan.by_ino[first + i]];
		/* Holders come sorted by pid: one process's several descriptors are adjacent. */
		if (h->pid == pid || (i && w->scan.refs[w->scan.by_ino[first + i - 1]].pid == h->pid))
			continue;
		if (peers && listed++ < PEERS_LISTED)
			r |= json_array_append_new(peers, json_integer(h->pid));
		if (expand && r == 0)
			r = reach(w, h->pid, ROLE_PEER, "%s", via);
	}
	json_decref(peers);
	return r ? -ENOMEM : 0;
}

/* The "sockets" and "pipes" of process @pid as the index has them, one entry per inode;
 * with @expand, queues the processes at their other ends. Returns 0 or -ENOMEM. */
static int describe_fds(struct walk *w, int pid, bool expand, json_t *o)
{
	const struct procscan_pid *pp = procscan_find_pid(&w->scan, pid);
	json_t *sockets = json_array(), *pipes = json_array();
	size_t nlisted = 0, omitted = 0;
	int r = 0;

	/* json_object_set_new() takes its value even when it fails. */
	r |= json_object_set_new(o, "sockets", sockets ? sockets : json_null());
	r |= json_object_set_new(o, "pipes", pipes ? pipes : json_null());
	if (r || !sockets || !pipes)
		return -ENOMEM;
	for (uint32_t i = 0; pp && i < pp->n && r == 0; i++) {
		const struct procscan_ref *ref = &w->scan.refs[pp->first + i];
		struct listed *l = NULL;
		json_t *entry = NULL;

		if (i && i % PROCSCAN_CHECK_EVERY == 0 && past_deadline(w))
			break;
		for (size_t k = 0; k < nlisted && !l; k++)
			if (w->listed[k].ino == ref->ino && w->listed[k].kind == ref->kind)
				l = &w->listed[k];
		if (l) { /* dup()ed or inherited twice: another number for the same entry */
			if (json_array_size(l->fds) < FDS_LISTED)
				r |= json_array_append_new(l->fds, json_integer(ref->fd));
			else
				omitted++;
			continue;
		}
		if (nlisted < w->lim.max_fds_listed) {
			entry = json_object();
			l = &w->listed[nlisted++];
			*l = (struct listed){ .ino = ref->ino, .kind = ref->kind, .fds = json_array() };
			r |= json_array_append_new(ref->kind == PROCSCAN_PIPE ? pipes : sockets, entry);
			r |= json_object_set_new(entry, "inode", json_integer((json_int_t)ref->ino));
			r |= json_object_set_new(entry, "fds", l->fds);
			r |= json_array_append_new(l->fds, json_integer(ref->fd));
			if (r)
				break;
		} else {
			omitted++;
		}
		/* Not listed is still followed: the cap bounds the record, not the search. */
		r = resolve(w, pid, ref, entry, expand);
	}
	r |= json_object_set_new(o, "fds_omitted", json_integer((json_int_t)omitted));
	return r ? -ENOMEM : 0;
}

/* Describes the @i-th process reached and records the ones it leads to. */
static int describe(struct walk *w, size_t i, json_t *procs)
{
	struct reach it = w->q[i]; /* a copy: reach() may move the queue */
	const struct procscan_pid *pp = procscan_find_pid(&w->scan, it.pid);
	json_t *o = json_object();
	int r = procinfo_read(w->procfd, it.pid, w->pi);
	bool gone = r == -ESRCH, found = r == 0;
	bool unreadable = (pp && pp->unreadable) || (found && w->pi->exe_denied) || (!found && !gone);
	/* Pid 1 holds a pipe or socket to nearly every service it started: following them
	 * would describe the whole host. It is described, not expanded. A process gone since
	 * the scan is: its peers may still be there. */
	bool expand = it.pid != 1;

	if (!o || json_array_append_new(procs, o))
		return -ENOMEM;
	if (r == -ENOMEM)
		return r;
	/* Other errors (EACCES from a hidepid /proc, EMFILE) leave the entry bare, marked. */
	r = procinfo_json(found ? w->pi : NULL, it.pid, w->boot_ns, o);
	if (r < 0)
		return r;
	if (json_object_set_new(o, "role", json_string(role_names[it.role])) ||
	    json_object_set_new(o, "via", json_string(it.via)))
		return -ENOMEM;
	/* Its parent is described next (walk_next()); then the far ends of its IPC, in
	 * descriptor order, as STOP sec. 3.5-3.7 walk them. */
	if (expand && found && w->pi->ppid > 0) {
		r = reach(w, w->pi->ppid, ROLE_PARENT, "parent of %d", it.pid);
		if (r < 0)
			return r;
	}
	r = describe_fds(w, it.pid, expand, o);
	if (r < 0)
		return r;
	if (json_object_set_new(o, "unreadable", json_boolean(unreadable)) ||
	    json_object_set_new(o, "gone", json_boolean(gone)))
		return -ENOMEM;
	return 0;
}

static bool want_socket(uint64_t ino, void *data)
{
	return procscan_has_socket(data, ino);
}

/* The kernel's tables, for the sockets the scan found held by some process. A table that
 * cannot be read leaves its kind of IPC unresolved and says so in "problems". */
static int load_tables(struct walk *w)
{
	int r = sockdiag_tcp_load(w->diag, want_socket, &w->scan, w->lim.max_fds, w->deadline);

	if (r == -ENOMEM)
		return r;
	if (r == -ETIMEDOUT)
		w->truncated = true;
	else if (r < 0 && problem(w, "inet_diag", r) < 0)
		return -ENOMEM;
	if (r == -ETIMEDOUT)
		return 0;
	r = sockdiag_unix_load(w->diag, want_socket, &w->scan, w->lim.max_fds, w->deadline);
	if (r == -ENOMEM)
		return r;
	if (r == -ETIMEDOUT)
		w->truncated = true;
	else if (r < 0 && problem(w, "unix_diag", r) < 0)
		return -ENOMEM;
	return 0;
}

/* The socket of @k, or the listener standing in for it. Returns 0 or -errno. */
static int find_socket(struct walk *w, const struct attrib_socket_key *k, struct sockdiag_tcp *t, bool *fallback)
{
	static const uint8_t zero[16];
	int64_t deadline = clock_mono_ns() + KEY_TIMEOUT_NS;
	bool asked_listener = !k->rport && !memcmp(k->remote.a, zero, sizeof(zero));
	int r = sockdiag_tcp_get(w->diag, k, false, t, deadline);

	/* Inode 0: time-wait, a request, or orphaned by close(): no process owns it now, and
	 * the listener is the best account of who would have. */
	if (r == 0 && t->ino) {
		*fallback = t->state == SOCKDIAG_TCP_LISTEN && !asked_listener;
		return 0;
	}
	if (r < 0 && r != -ENOENT)
		return r;
	r = sockdiag_tcp_get(w->diag, k, true, t, deadline);
	if (r < 0)
		return r;
	if (!t->ino || t->state != SOCKDIAG_TCP_LISTEN)
		return -ENOENT;
	*fallback = true;
	return 0;
}

static json_t *socket_json(const struct sockdiag_tcp *t, bool fallback)
{
	char l[SOCKDIAG_ENDPOINT_STRLEN], rm[SOCKDIAG_ENDPOINT_STRLEN];

	return json_pack("{sI sI ss ss ss sb}", "inode", (json_int_t)t->ino, "uid", (json_int_t)t->uid, "state",
			 sockdiag_tcp_state_name(t->state), "local",
			 sockdiag_endpoint_format(t->family, t->local, t->lport, l, sizeof(l)), "remote",
			 sockdiag_endpoint_format(t->family, t->remote, t->rport, rm, sizeof(rm)), "listener_fallback",
			 fallback);
}

int attrib_lookup(const struct attrib_socket_key *k, const struct attrib_limits *lim, json_t **out)
{
	int64_t t0 = clock_mono_ns();
	struct walk w = { .procfd = -1, .parent = -1 };
	struct procscan_limits sl;
	struct sockdiag_tcp sock;
	bool fallback = false;
	json_t *res = NULL, *procs = NULL;
	size_t first, nowners;
	int r;

	limits_resolve(&w.lim, lim);
	r = sockdiag_open(&w.diag);
	if (r < 0)
		goto cleanup;
	r = find_socket(&w, k, &sock, &fallback);
	if (r < 0)
		goto cleanup;
	/* The budget starts once the socket is known: without it there is nothing to record. */
	w.deadline = clock_mono_ns() + (int64_t)w.lim.budget_ms * MSEC;
	w.problems = json_array();
	procs = json_array();
	w.pi = malloc(sizeof(*w.pi));
	w.listed = calloc(w.lim.max_fds_listed, sizeof(*w.listed));
	if (!w.problems || !procs || !w.pi || !w.listed) {
		r = -ENOMEM;
		goto cleanup;
	}
	w.procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.procfd < 0) {
		r = -errno;
		goto cleanup;
	}
	/* One pass over /proc for the whole lookup; everything after resolves from it. It is by
	 * far the dearest part (a few microseconds per descriptor on the host), so it may use
	 * four fifths of the budget: a pass cut short still leaves time to describe the owners
	 * it found, and processes of the socket's uid go first to make finding them likely. */
	sl = (struct procscan_limits){ .max_pids = w.lim.max_pids_scanned, .max_refs = w.lim.max_fds,
				       .deadline_ns = w.deadline - (int64_t)w.lim.budget_ms * MSEC / 5,
				       .prefer_uid = sock.uid };
	r = procscan_run(&w.scan, w.procfd, &sl);
	if (r < 0)
		goto cleanup;
	w.truncated |= w.scan.truncated;
	nowners = procscan_holders(&w.scan, PROCSCAN_SOCKET, sock.ino, &first);
	if (nowners && !past_deadline(&w)) {
		r = load_tables(&w);
		if (r < 0)
			goto cleanup;
	}
	for (size_t i = 0; i < nowners && r == 0; i++)
		r = reach(&w, w.scan.refs[w.scan.by_ino[first + i]].pid, ROLE_OWNER, "holds socket:[%llu]",
			  (unsigned long long)sock.ino);
	w.boot_ns = attrib_clock_boot_ns();
	for (ssize_t i; r == 0 && (i = walk_next(&w)) >= 0;) {
		if (json_array_size(procs) == w.lim.max_processes || past_deadline(&w)) {
			w.truncated = true; /* someone reached is left undescribed */
			break;
		}
		w.q[i].done = true;
		r = describe(&w, (size_t)i, procs);
	}
	if (r < 0)
		goto cleanup;
	res = json_object();
	if (!res || json_object_set_new(res, "socket", socket_json(&sock, fallback)) ||
	    json_object_set(res, "processes", procs) ||
	    json_object_set_new(res, "truncated", json_boolean(w.truncated || sockdiag_truncated(w.diag))) ||
	    json_object_set_new(res, "elapsed_us", json_integer((clock_mono_ns() - t0) / 1000)) ||
	    json_object_set_new(res, "pids_scanned", json_integer(w.scan.looked)) ||
	    json_object_set_new(res, "unreadable_pids", json_integer(w.scan.unreadable)) ||
	    json_object_set(res, "problems", w.problems)) {
		r = -ENOMEM;
		goto cleanup;
	}
	*out = res;
	res = NULL;
	r = 0;
cleanup:
	json_decref(res);
	json_decref(procs);
	json_decref(w.problems);
	free(w.listed);
	free(w.pi);
	free(w.q);
	procscan_clear(&w.scan);
	if (w.procfd >= 0)
		close(w.procfd);
	sockdiag_free(w.diag);
	return r;
}
