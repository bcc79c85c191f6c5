/* fakenl.h - a kernel on the other end of the daemon's netlink sockets, for unit tests without
 * root. The test program defines mnl_socket_sendto() and mnl_socket_recvfrom(); the daemon's
 * objects, linked statically into it, call these instead of libmnl's. The sockets stay real
 * (opening and binding one needs no privilege) but carry nothing: what the code sends is
 * recorded and handed to the test's fakenl_kernel() callback, which queues the replies that
 * the code then receives. With nothing queued a receive reads the socket without waiting:
 * EAGAIN, as on a socket whose SO_RCVTIMEO ran out (or a socketpair's datagrams, see
 * mnl_socket_recvfrom() below). Include it in one file per test program. */
#pragma once

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#define FAKENL_MAX 256 /* datagrams kept each way */

struct fakenl_dgram {
	char *buf;
	size_t len;
};

static pthread_mutex_t fakenl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fakenl_cond = PTHREAD_COND_INITIALIZER;
static struct fakenl_dgram fakenl_sent[FAKENL_MAX], fakenl_replies[FAKENL_MAX];
static size_t fakenl_nsent, fakenl_nreplies, fakenl_nread;
static int fakenl_last_fd = -1; /* the socket of the last send: a test may put its own in its place */

/* Called (under no lock) with each datagram sent; queues replies with fakenl_reply(). */
static void (*fakenl_kernel)(const char *buf, size_t len);

static struct fakenl_dgram fakenl_copy(const void *buf, size_t len)
{
	struct fakenl_dgram d = { malloc(len ? len : 1), len };
	if (d.buf)
		memcpy(d.buf, buf, len);
	return d;
}

/* Queues one datagram for the code to receive. */
static void fakenl_reply(const void *buf, size_t len)
{
	pthread_mutex_lock(&fakenl_lock);
	if (fakenl_nreplies < FAKENL_MAX)
		fakenl_replies[fakenl_nreplies++] = fakenl_copy(buf, len);
	pthread_mutex_unlock(&fakenl_lock);
}

/* Appends to @buf (at *@off, of @cap bytes) the kernel's NLMSG_ERROR for sequence @seq:
 * @error 0 is an ack. Capped, as with NETLINK_CAP_ACK: the request's header only. */
static void fakenl_put_err(char *buf, size_t *off, size_t cap, uint32_t seq, int error)
{
	size_t need = MNL_ALIGN(mnl_nlmsg_size(sizeof(struct nlmsgerr)));
	if (*off + need > cap)
		return;
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf + *off);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(h, sizeof(*e));
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_flags = error ? 0 : NLM_F_CAPPED;
	h->nlmsg_seq = seq;
	e->error = error;
	e->msg.nlmsg_seq = seq;
	e->msg.nlmsg_len = sizeof(struct nlmsghdr);
	*off += need;
}

/* Queues one datagram holding only the NLMSG_ERROR for @seq. */
static __attribute__((unused)) void fakenl_reply_err(uint32_t seq, int error)
{
	char b[64];
	size_t off = 0;
	fakenl_put_err(b, &off, sizeof(b), seq, error);
	fakenl_reply(b, off);
}

/* Forgets what was sent and received, and the replies not yet read. */
static __attribute__((unused)) void fakenl_reset(void)
{
	pthread_mutex_lock(&fakenl_lock);
	for (size_t i = 0; i < fakenl_nsent; i++)
		free(fakenl_sent[i].buf);
	for (size_t i = 0; i < fakenl_nreplies; i++)
		free(fakenl_replies[i].buf);
	fakenl_nsent = fakenl_nreplies = fakenl_nread = 0;
	pthread_mutex_unlock(&fakenl_lock);
}

/* Waits until at least @n datagrams were sent, at most @seconds. Returns how many were. */
static __attribute__((unused)) size_t fakenl_wait_sent(size_t n, int seconds)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&fakenl_lock);
	while (fakenl_nsent < n && pthread_cond_timedwait(&fakenl_cond, &fakenl_lock, &until) == 0)
		;
	size_t got = fakenl_nsent;
	pthread_mutex_unlock(&fakenl_lock);
	return got;
}

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len)
{
	pthread_mutex_lock(&fakenl_lock);
	fakenl_last_fd = mnl_socket_get_fd(nl);
	if (fakenl_nsent < FAKENL_MAX)
		fakenl_sent[fakenl_nsent++] = fakenl_copy(buf, len);
	pthread_cond_broadcast(&fakenl_cond);
	pthread_mutex_unlock(&fakenl_lock);
	if (fakenl_kernel)
		fakenl_kernel(buf, len);
	return (ssize_t)len;
}

ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t len)
{
	ssize_t r = -1;
	pthread_mutex_lock(&fakenl_lock);
	if (fakenl_nread < fakenl_nreplies) {
		struct fakenl_dgram *d = &fakenl_replies[fakenl_nread++];
		if (d->len > len) {
			errno = ENOSPC; /* what libmnl says of a truncated datagram */
		} else {
			memcpy(buf, d->buf, d->len);
			r = (ssize_t)d->len;
		}
	} else {
		/* Nothing queued: what the socket itself holds, without waiting. A real netlink
		 * socket holds nothing (nothing reached the kernel): EAGAIN. A socketpair a test put
		 * in its place (test-worker) holds the test's datagrams, so a loop reading through
		 * this function sees them as a loop calling recv(2) does. */
		r = recv(mnl_socket_get_fd(nl), buf, len, MSG_DONTWAIT);
	}
	pthread_mutex_unlock(&fakenl_lock);
	return r;
}
