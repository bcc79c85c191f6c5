/* sockdiag.h - the kernel's socket tables over NETLINK_SOCK_DIAG: one TCP socket by its
 * addresses (inet_diag), every TCP socket, every UNIX socket with the inode of its peer
 * (unix_diag, UDIAG_SHOW_PEER). /proc/net/unix does not show peers at all; the peer is what
 * turns "a UNIX socket" into "the process at its other end" (Carrier & Shields, STOP sec. 3.2).
 * The tables are those of the calling thread's network namespace. */
#pragma once

#include <libmnl/libmnl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrib/attrib.h"

#define SOCKDIAG_TCP_LISTEN 10 /* TCP_LISTEN of include/net/tcp_states.h */

struct sockdiag_tcp {
	uint64_t ino;                  /* 0: no process holds it (time-wait, orphaned, request) */
	uint32_t uid;
	uint8_t family, state;         /* AF_INET or AF_INET6; TCP_ESTABLISHED ... */
	uint16_t lport, rport;         /* host order */
	uint8_t local[16], remote[16]; /* IPv4 in the first 4 bytes */
};

struct sockdiag_unix {
	uint64_t ino, peer; /* peer 0: not connected */
	uint32_t name_off;  /* in the table's name store: sockdiag_unix_name() */
	uint16_t name_len;  /* 0: unnamed; abstract names begin with a NUL */
	uint8_t type;       /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
};

/* A socket and the tables loaded through it. */
struct sockdiag;

/* Returns 0 or -errno. */
int sockdiag_open(struct sockdiag **out);
void sockdiag_free(struct sockdiag *d); /* accepts NULL */

/* Asks for the TCP socket of @k; with @listener, for the listening socket on local:lport that
 * the kernel would give a new connection to (k->remote and rport are ignored). Unless
 * @listener, the kernel itself falls back to that listener when no connection matches (its
 * lookup is the one for an arriving packet): out->state tells. Returns 0, -ENOENT,
 * -ETIMEDOUT past @deadline_ns (CLOCK_MONOTONIC), or -errno. */
int sockdiag_tcp_get(struct sockdiag *d, const struct attrib_socket_key *k, bool listener, struct sockdiag_tcp *out,
		     int64_t deadline_ns);

/* Which sockets a load keeps: those @want says yes to. */
typedef bool (*sockdiag_want_fn)(uint64_t ino, void *data);

/* Load the TCP sockets (IPv4 and IPv6) and the UNIX sockets, keeping at most @max of each (then
 * sockdiag_truncated() says so). Each returns 0, -ETIMEDOUT past @deadline_ns, or -errno
 * (-ENOENT: no diag module for the family). A table stays as far as it was loaded. */
int sockdiag_tcp_load(struct sockdiag *d, sockdiag_want_fn want, void *data, size_t max, int64_t deadline_ns);
int sockdiag_unix_load(struct sockdiag *d, sockdiag_want_fn want, void *data, size_t max, int64_t deadline_ns);
bool sockdiag_truncated(const struct sockdiag *d);

/* Lookups in the loaded tables; NULL when not there. */
const struct sockdiag_tcp *sockdiag_tcp_find(const struct sockdiag *d, uint64_t ino);
/* The other end of connection @t when it is a socket of this host too: local and remote
 * swapped (an IPv4-mapped IPv6 end matches its IPv4 twin). */
const struct sockdiag_tcp *sockdiag_tcp_peer(const struct sockdiag *d, const struct sockdiag_tcp *t);
const struct sockdiag_unix *sockdiag_unix_find(const struct sockdiag *d, uint64_t ino);
/* The name's u->name_len bytes (not NUL-terminated). */
const char *sockdiag_unix_name(const struct sockdiag *d, const struct sockdiag_unix *u);

/* "established", "listen", ... ("unknown" past the table). */
const char *sockdiag_tcp_state_name(uint8_t state);
/* "192.0.2.1:80", "[2001:db8::1]:80". Returns @buf. */
#define SOCKDIAG_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 8)
const char *sockdiag_endpoint_format(uint8_t family, const uint8_t addr[16], uint16_t port, char *buf, size_t len);

/* Parse one reply message, validating every length. @name points into @h. Return 0 or
 * -EINVAL. */
int sockdiag_tcp_parse(const struct nlmsghdr *h, struct sockdiag_tcp *out);
int sockdiag_unix_parse(const struct nlmsghdr *h, struct sockdiag_unix *out, const char **name);
