/* sockdiag.c - see sockdiag.h. */
#include "attrib/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "core/clock.h"

/* The kernel sends dump replies of up to 32 KiB when the reader's buffer is that large. */
#define RECV_BUF 65536
#define REQ_BUF 256
#define NSEC 1000000000LL
#define NAME_MAX_LEN sizeof(((struct sockaddr_un *)0)->sun_path)

/* Not in the UAPI headers: include/net/tcp_states.h. */
enum {
	ST_ESTABLISHED = 1, ST_SYN_SENT, ST_SYN_RECV, ST_FIN_WAIT1, ST_FIN_WAIT2, ST_TIME_WAIT, ST_CLOSE,
	ST_CLOSE_WAIT, ST_LAST_ACK, ST_LISTEN = SOCKDIAG_TCP_LISTEN, ST_CLOSING, ST_NEW_SYN_RECV, ST_BOUND_INACTIVE,
};

struct sockdiag {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	char *buf;                   /* RECV_BUF */
	struct sockdiag_tcp *tcp;    /* by inode once loaded */
	size_t ntcp, cap_tcp;
	const struct sockdiag_tcp **tcp_by_tuple; /* connections (not listeners) by local, remote */
	size_t nconn;
	struct sockdiag_unix *unx;   /* by inode once loaded */
	size_t nunix, cap_unix;
	char *names;                 /* UNIX socket names, back to back */
	size_t names_len, names_cap;
	bool truncated;
};

int sockdiag_open(struct sockdiag **out)
{
	struct sockdiag *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->buf = malloc(RECV_BUF);
	d->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!d->buf || !d->nl) {
		r = d->buf ? -errno : -ENOMEM;
		goto cleanup;
	}
	if (mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto cleanup;
	}
	d->portid = mnl_socket_get_portid(d->nl);
	*out = d;
	return 0;
cleanup:
	sockdiag_free(d);
	return r;
}

void sockdiag_free(struct sockdiag *d)
{
	if (!d)
		return;
	if (d->nl)
		mnl_socket_close(d->nl);
	free(d->buf);
	free(d->tcp);
	free(d->tcp_by_tuple);
	free(d->unx);
	free(d->names);
	free(d);
}

bool sockdiag_truncated(const struct sockdiag *d)
{
	return d->truncated;
}

/* Sends @req and runs @cb on the replies until the kernel says done (or acks), the deadline
 * passes, or an error comes back. */
static int talk(struct sockdiag *d, struct nlmsghdr *req, mnl_cb_t cb, void *data, int64_t deadline_ns)
{
	int fd = mnl_socket_get_fd(d->nl);
	uint32_t seq = req->nlmsg_seq;

	if (mnl_socket_sendto(d->nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		int64_t left = deadline_ns - clock_mono_ns(), us;
		struct timeval tv;
		ssize_t n;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		/* The kernel answers at once; the timeout only guards against a reply that never
		 * comes. Rounded up: a zero timeval would mean "wait forever". */
		us = left / 1000 + 1;
		tv = (struct timeval){ .tv_sec = us / 1000000, .tv_usec = us % 1000000 };
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
			return -errno;
		n = mnl_socket_recvfrom(d->nl, d->buf, RECV_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		errno = 0;
		r = mnl_cb_run(d->buf, (size_t)n, seq, d->portid, cb, data);
		if (r < 0)
			return errno ? -errno : -EIO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *put_request(struct sockdiag *d, void *buf, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);

	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++d->seq;
	return h;
}

int sockdiag_tcp_parse(const struct nlmsghdr *h, struct sockdiag_tcp *out)
{
	const struct inet_diag_msg *m;
	size_t alen;

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || mnl_nlmsg_get_payload_len(h) < sizeof(*m))
		return -EINVAL;
	m = mnl_nlmsg_get_payload(h);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EINVAL;
	alen = m->idiag_family == AF_INET ? 4 : 16;
	*out = (struct sockdiag_tcp){ .ino = m->idiag_inode, .uid = m->idiag_uid, .family = m->idiag_family,
				      .state = m->idiag_state, .lport = ntohs(m->id.idiag_sport),
				      .rport = ntohs(m->id.idiag_dport) };
	memcpy(out->local, m->id.idiag_src, alen);
	memcpy(out->remote, m->id.idiag_dst, alen);
	return 0;
}

struct get_ctx {
	struct sockdiag_tcp *out;
	bool found;
};

static int get_cb(const struct nlmsghdr *h, void *data)
{
	struct get_ctx *c = data;

	if (sockdiag_tcp_parse(h, c->out) == 0)
		c->found = true;
	return MNL_CB_OK;
}

int sockdiag_tcp_get(struct sockdiag *d, const struct attrib_socket_key *k, bool listener, struct sockdiag_tcp *out,
		     int64_t deadline_ns)
{
	char buf[REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *h = put_request(d, buf, NLM_F_ACK);
	struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(h, sizeof(*req));
	struct sockdiag_tcp t;
	struct get_ctx c = { .out = &t };
	int r;

	if (k->local.family != k->remote.family || (k->local.family != AF_INET && k->local.family != AF_INET6))
		return -EINVAL;
	req->sdiag_family = k->local.family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0U;
	req->id.idiag_sport = htons(k->lport);
	memcpy(req->id.idiag_src, k->local.a, nfs_addr_len(&k->local));
	/* Remote 0:0 matches no connection, so the kernel's lookup (inet_diag_find_one_icsk:
	 * established, then listening) ends at the listener. */
	if (!listener) {
		req->id.idiag_dport = htons(k->rport);
		memcpy(req->id.idiag_dst, k->remote.a, nfs_addr_len(&k->remote));
	}
	req->id.idiag_cookie[0] = req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	r = talk(d, h, get_cb, &c, deadline_ns);
	if (r < 0)
		return r;
	if (!c.found)
		return -ENOENT;
	*out = t;
	return 0;
}

/* Appends to a growing array of @size-byte elements. */
static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	size_t c = *cap ? *cap * 2 : 256;
	void *p = realloc(v, c * size);
	if (p)
		*cap = c;
	return p;
}

struct load_ctx {
	struct sockdiag *d;
	sockdiag_want_fn want;
	void *data;
	size_t max;
};

static int tcp_load_cb(const struct nlmsghdr *h, void *data)
{
	struct load_ctx *c = data;
	struct sockdiag *d = c->d;
	struct sockdiag_tcp t;
	void *p;

	/* One malformed message costs that socket, not the table. */
	if (sockdiag_tcp_parse(h, &t) < 0 || !t.ino || !c->want(t.ino, c->data))
		return MNL_CB_OK;
	if (d->ntcp >= c->max) {
		d->truncated = true;
		return MNL_CB_OK;
	}
	p = grow(d->tcp, &d->cap_tcp, d->ntcp, sizeof(*d->tcp));
	if (!p) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	d->tcp = p;
	d->tcp[d->ntcp++] = t;
	return MNL_CB_OK;
}

static int cmp_tcp_ino(const void *a, const void *b)
{
	uint64_t x = ((const struct sockdiag_tcp *)a)->ino, y = ((const struct sockdiag_tcp *)b)->ino;
	return x < y ? -1 : x > y;
}

/* A connection's ends in one form: an IPv4-mapped IPv6 pair (a dual-stack socket talking
 * IPv4) as IPv4, so that it matches the IPv4 socket at the other end. */
struct tuple {
	uint8_t family;
	uint8_t a[16], b[16];
	uint16_t pa, pb;
};

static bool v4mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return !memcmp(a, prefix, sizeof(prefix));
}

static struct tuple tuple_of(const struct sockdiag_tcp *t, bool swap)
{
	const uint8_t *a = swap ? t->remote : t->local, *b = swap ? t->local : t->remote;
	struct tuple u = { .family = t->family, .pa = swap ? t->rport : t->lport, .pb = swap ? t->lport : t->rport };

	if (t->family == AF_INET6 && v4mapped(a) && v4mapped(b)) {
		u.family = AF_INET;
		memcpy(u.a, a + 12, 4);
		memcpy(u.b, b + 12, 4);
	} else {
		memcpy(u.a, a, 16);
		memcpy(u.b, b, 16);
	}
	return u;
}

static int cmp_tuple(const struct tuple *x, const struct tuple *y)
{
	int r;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((r = memcmp(x->a, y->a, 16)) || (r = memcmp(x->b, y->b, 16)))
		return r;
	if (x->pa != y->pa)
		return x->pa < y->pa ? -1 : 1;
	return x->pb < y->pb ? -1 : x->pb > y->pb;
}

static int cmp_tcp_tuple(const void *a, const void *b)
{
	struct tuple x = tuple_of(*(const struct sockdiag_tcp *const *)a, false),
		     y = tuple_of(*(const struct sockdiag_tcp *const *)b, false);
	return cmp_tuple(&x, &y);
}

static int dump_tcp(struct sockdiag *d, uint8_t family, struct load_ctx *c, int64_t deadline_ns)
{
	char buf[REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *h = put_request(d, buf, NLM_F_DUMP);
	struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(h, sizeof(*req));

	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	/* Time-wait and request sockets belong to no process (inode 0): not asked for. */
	req->idiag_states = ~((1U << ST_TIME_WAIT) | (1U << ST_NEW_SYN_RECV) | (1U << ST_SYN_RECV));
	return talk(d, h, tcp_load_cb, c, deadline_ns);
}

int sockdiag_tcp_load(struct sockdiag *d, sockdiag_want_fn want, void *data, size_t max, int64_t deadline_ns)
{
	struct load_ctx c = { .d = d, .want = want, .data = data, .max = max };
	size_t n = 0;
	int r = dump_tcp(d, AF_INET, &c, deadline_ns);

	if (r == 0)
		r = dump_tcp(d, AF_INET6, &c, deadline_ns);
	/* Whatever arrived is sorted and usable, even after an error. */
	qsort(d->tcp, d->ntcp, sizeof(*d->tcp), cmp_tcp_ino);
	free(d->tcp_by_tuple);
	d->tcp_by_tuple = malloc((d->ntcp ? d->ntcp : 1) * sizeof(*d->tcp_by_tuple));
	if (!d->tcp_by_tuple)
		return -ENOMEM;
	for (size_t i = 0; i < d->ntcp; i++)
		if (d->tcp[i].state != ST_LISTEN)
			d->tcp_by_tuple[n++] = &d->tcp[i];
	qsort(d->tcp_by_tuple, n, sizeof(*d->tcp_by_tuple), cmp_tcp_tuple);
	d->nconn = n;
	return r;
}

struct unix_attrs {
	const struct nlattr *tb[UNIX_DIAG_MAX + 1];
};

static int unix_attr_cb(const struct nlattr *a, void *data)
{
	struct unix_attrs *u = data;
	uint16_t type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, UNIX_DIAG_MAX) < 0)
		return MNL_CB_OK; /* newer than this build: not ours to read */
	switch (type) {
	case UNIX_DIAG_PEER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		break;
	case UNIX_DIAG_NAME:
		if (mnl_attr_get_payload_len(a) > NAME_MAX_LEN)
			return MNL_CB_ERROR;
		break;
	default:
		return MNL_CB_OK;
	}
	u->tb[type] = a;
	return MNL_CB_OK;
}

int sockdiag_unix_parse(const struct nlmsghdr *h, struct sockdiag_unix *out, const char **name)
{
	const struct unix_diag_msg *m;
	struct unix_attrs u = { { NULL } };
	size_t len = 0;

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || mnl_nlmsg_get_payload_len(h) < sizeof(*m))
		return -EINVAL;
	m = mnl_nlmsg_get_payload(h);
	if (m->udiag_family != AF_UNIX || mnl_attr_parse(h, sizeof(*m), unix_attr_cb, &u) < 0)
		return -EINVAL;
	*out = (struct sockdiag_unix){ .ino = m->udiag_ino, .type = m->udiag_type };
	if (u.tb[UNIX_DIAG_PEER])
		out->peer = mnl_attr_get_u32(u.tb[UNIX_DIAG_PEER]);
	*name = NULL;
	if (u.tb[UNIX_DIAG_NAME]) {
		*name = mnl_attr_get_payload(u.tb[UNIX_DIAG_NAME]);
		len = mnl_attr_get_payload_len(u.tb[UNIX_DIAG_NAME]);
		/* A path's length counts its terminating NUL; an abstract name (first byte NUL) is
		 * all its bytes. */
		if (len && (*name)[0])
			len = strnlen(*name, len);
	}
	out->name_len = (uint16_t)len;
	return 0;
}

static int unix_load_cb(const struct nlmsghdr *h, void *data)
{
	struct load_ctx *c = data;
	struct sockdiag *d = c->d;
	struct sockdiag_unix u;
	const char *name;
	void *p;

	if (sockdiag_unix_parse(h, &u, &name) < 0 || !c->want(u.ino, c->data))
		return MNL_CB_OK;
	if (d->nunix >= c->max) {
		d->truncated = true;
		return MNL_CB_OK;
	}
	p = grow(d->unx, &d->cap_unix, d->nunix, sizeof(*d->unx));
	if (!p)
		goto nomem;
	d->unx = p;
	if (u.name_len) {
		if (d->names_len + u.name_len > d->names_cap) {
			size_t cap = d->names_cap ? d->names_cap * 2 : 4096;
			char *q = realloc(d->names, cap);
			if (!q)
				goto nomem;
			d->names = q;
			d->names_cap = cap;
		}
		memcpy(d->names + d->names_len, name, u.name_len);
		u.name_off = (uint32_t)d->names_len;
		d->names_len += u.name_len;
	}
	d->unx[d->nunix++] = u;
	return MNL_CB_OK;
nomem:
	errno = ENOMEM;
	return MNL_CB_ERROR;
}

static int cmp_unix_ino(const void *a, const void *b)
{
	uint64_t x = ((const struct sockdiag_unix *)a)->ino, y = ((const struct sockdiag_unix *)b)->ino;
	return x < y ? -1 : x > y;
}

int sockdiag_unix_load(struct sockdiag *d, sockdiag_want_fn want, void *data, size_t max, int64_t deadline_ns)
{
	char buf[REQ_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *h = put_request(d, buf, NLM_F_DUMP);
	struct unix_diag_req *req = mnl_nlmsg_put_extra_header(h, sizeof(*req));
	struct load_ctx c = { .d = d, .want = want, .data = data, .max = max };
	int r;

	req->sdiag_family = AF_UNIX;
	req->udiag_states = ~0U;
	req->udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
	r = talk(d, h, unix_load_cb, &c, deadline_ns);
	qsort(d->unx, d->nunix, sizeof(*d->unx), cmp_unix_ino);
	return r;
}

const struct sockdiag_tcp *sockdiag_tcp_find(const struct sockdiag *d, uint64_t ino)
{
	struct sockdiag_tcp key = { .ino = ino };
	return d->ntcp ? bsearch(&key, d->tcp, d->ntcp, sizeof(*d->tcp), cmp_tcp_ino) : NULL;
}

const struct sockdiag_tcp *sockdiag_tcp_peer(const struct sockdiag *d, const struct sockdiag_tcp *t)
{
	struct tuple want = tuple_of(t, true);
	size_t lo = 0, hi = d->nconn;

	if (t->state == ST_LISTEN)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct tuple x = tuple_of(d->tcp_by_tuple[mid], false);
		int c = cmp_tuple(&x, &want);
		if (c == 0)
			/* A socket connected to itself (TCP simultaneous open) is its own peer. */
			return d->tcp_by_tuple[mid]->ino != t->ino ? d->tcp_by_tuple[mid] : NULL;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct sockdiag_unix *sockdiag_unix_find(const struct sockdiag *d, uint64_t ino)
{
	struct sockdiag_unix key = { .ino = ino };
	return d->nunix ? bsearch(&key, d->unx, d->nunix, sizeof(*d->unx), cmp_unix_ino) : NULL;
}

const char *sockdiag_unix_name(const struct sockdiag *d, const struct sockdiag_unix *u)
{
	return u->name_len ? d->names + u->name_off : "";
}

const char *sockdiag_tcp_state_name(uint8_t state)
{
	/* ss(8)'s names, spelled out. */
	static const char *const names[] = {
		[ST_ESTABLISHED] = "established", [ST_SYN_SENT] = "syn-sent",
		[ST_SYN_RECV] = "syn-recv",       [ST_FIN_WAIT1] = "fin-wait-1",
		[ST_FIN_WAIT2] = "fin-wait-2",    [ST_TIME_WAIT] = "time-wait",
		[ST_CLOSE] = "close",             [ST_CLOSE_WAIT] = "close-wait",
		[ST_LAST_ACK] = "last-ack",       [ST_LISTEN] = "listen",
		[ST_CLOSING] = "closing",         [ST_NEW_SYN_RECV] = "new-syn-recv",
		[ST_BOUND_INACTIVE] = "bound-inactive",
	};
	return state < sizeof(names) / sizeof(names[0]) && names[state] ? names[state] : "unknown";
}

const char *sockdiag_endpoint_format(uint8_t family, const uint8_t addr[16], uint16_t port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == AF_INET ? AF_INET : AF_INET6, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, family == AF_INET ? "%s:%u" : "[%s]:%u", a, port);
	return buf;
}
