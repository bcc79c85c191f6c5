/* attrib.h - local process attribution: which processes on this host own a TCP connection,
 * and the processes joined to them by parents, pipes, UNIX sockets and loopback TCP
 * (Carrier & Shields, "The Session Token Protocol", sec. 3.2-3.7 and Table II).
 *
 * For an evidence thread, never the packet path: a lookup reads /proc and asks the kernel's
 * socket tables, and may take up to its budget. Thread-safe: a lookup keeps no state
 * between calls. Privileges and what happens without them: docs/attribution.md.
 *
 * The object attrib_lookup() returns (docs/attribution.md has an example):
 *
 *   "socket": the socket found for the key
 *     "inode", "uid"             numbers (sock_diag)
 *     "state"                    "established", "syn-sent", "listen", "close-wait", ...
 *     "local", "remote"          "127.0.0.1:80", "[2001:db8::1]:80" (a listener's remote is
 *                                "0.0.0.0:0" or "[::]:0")
 *     "listener_fallback"        true when the connection itself was gone (or had no owner
 *                                left) and the listening socket on local:lport stands in
 *   "processes": each pid once, in the order of the walk: an owner, then its parents up to
 *                  pid 1 (STOP's "primary processes"), then the processes reached through
 *                  IPC, oldest first, each followed by its own parents not yet described
 *     "pid", "ppid"              numbers ("ppid" null when unknown)
 *     "name"                     comm, from /proc/PID/stat
 *     "state"                    one letter ("S", "R", "Z", ...)
 *     "uid", "euid"              real and effective uid, from /proc/PID/status
 *     "start_time"               RFC 3339 UTC, milliseconds: boot time + starttime/CLK_TCK
 *     "tty"                      "pts/3", "tty1", "ttyS0", "136:3" (major:minor), or null
 *     "priority", "nice"         numbers, from /proc/PID/stat
 *     "exe"                      readlink of /proc/PID/exe, or null (kernel thread, no access)
 *     "cmdline"                  array of strings: at most 4 KiB read, 64 arguments
 *     "cmdline_truncated"        true when the arguments were cut
 *     "role"                     "socket-owner", "parent" or "ipc-peer"
 *     "via"                      how it was reached: "holds socket:[123]", "parent of 1234",
 *                                "pipe:[5678] with 1234", "unix socket peer of 1234",
 *                                "tcp 127.0.0.1:80 peer of 1234"
 *     "sockets"                  [{"inode", "fds": [3, ...], "type": "tcp", "local", "remote",
 *                                "state", "peers": [pid, ...]}, {"inode", "fds", "type": "unix",
 *                                "name" (path, "@abstract", or null), "peer_inode" (or null),
 *                                "peers"}, {"inode", "fds", "type": "other", "peers": []}]
 *     "pipes"                    [{"inode", "fds", "peers": [pid, ...]}]
 *                                "fds": its descriptor numbers (16 at most); "peers": the
 *                                other processes holding the far end (32 at most)
 *     "fds_omitted"              socket and pipe descriptors held but not listed (the
 *                                per-process cap, max_fds_listed)
 *     "unreadable"               true when part of the process could not be read for lack of
 *                                privilege (its descriptors, its exe, or all of it under
 *                                hidepid): those fields are empty or null, and its IPC is not
 *                                resolved
 *     "gone"                     true when the process exited before it was described; the
 *                                fields read from /proc/PID are then null
 *   "truncated"                  a limit or the budget stopped the walk: the list is partial
 *   "elapsed_us"                 the lookup's wall-clock time
 *   "pids_scanned"               /proc/<pid> entries looked at
 *   "unreadable_pids"            of those, how many had descriptors we could not read
 *   "problems"                   strings, e.g. "unix_diag: No such file or directory": a table
 *                                that could not be read, so a kind of IPC went unresolved
 *
 * Strings from /proc (name, cmdline, exe, socket names) belong to whoever runs the process:
 * they are cut to their bounds and bytes that are not UTF-8 are written as \xNN, as in
 * events (docs/events.md). */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "core/addr.h"

/* A field left 0 takes the default beside it. */
struct attrib_limits {
	unsigned max_processes;    /* processes described at most (64) */
	unsigned max_pids_scanned; /* /proc/<pid> entries looked at at most (32768) */
	unsigned budget_ms;        /* wall-clock budget (250); past it the walk stops and says
				      "truncated": true. The pass over /proc may take four fifths
				      of it, the rest is for describing what it found. Finding the
				      socket itself is not counted: one netlink request, bounded by
				      its own 1 s timeout. */
	unsigned max_fds;          /* socket and pipe descriptors indexed over all of /proc
				      (131072): what the index may cost in memory, 24 bytes each */
	unsigned max_fds_listed;   /* sockets and pipes listed per process (64); all of them are
				      still followed to their peers */
};

#define ATTRIB_DEFAULT_MAX_PROCESSES 64
#define ATTRIB_DEFAULT_MAX_PIDS 32768
#define ATTRIB_DEFAULT_BUDGET_MS 250
#define ATTRIB_DEFAULT_MAX_FDS 131072
#define ATTRIB_DEFAULT_MAX_FDS_LISTED 64

/* A TCP connection as seen from this host. */
struct attrib_socket_key {
	struct nfs_addr local, remote; /* hosts (plen 32/128) */
	uint16_t lport, rport;
};

/* Finds the socket with NETLINK_SOCK_DIAG (inet_diag: inode, uid, state), falling back to a
 * listening socket on local:lport when the connection itself is gone, maps the inode to
 * processes through /proc/<pid>/fd, walks their parents, and resolves pipes, UNIX sockets
 * (unix_diag UDIAG_SHOW_PEER) and TCP connections to local addresses to the processes at
 * their other ends, whose parents are walked in turn (STOP sec. 3.2, the telnet | sh | telnet
 * reverse-telnet case of sec. 3.7). Returns 0 and a new JSON object in *out (caller owns), or
 * -ENOENT (no such socket), or -errno. @lim may be NULL (all defaults). A socket found with
 * no process left holding it (or none we may see) gives 0 and an empty "processes". */
int attrib_lookup(const struct attrib_socket_key *k, const struct attrib_limits *lim, json_t **out);

/* The per-request facts of STOP Table II: host name, boot time (RFC 3339 UTC), kernel (uname
 * sysname release version machine). New object {"hostname", "boot_time", "kernel"}, or NULL
 * on allocation failure. */
json_t *attrib_host(void);
