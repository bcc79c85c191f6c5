/* protocol.h - the control protocol's names and limits (docs/control.md), shared by the
 * server (control/server.c) and its client (tools/nfsentryctl): one spelling of each
 * command on both sides of the socket. Macros only: nothing to link. */
#pragma once

/* The "command" member of a request. */
#define CTL_CMD_STATUS "status"
#define CTL_CMD_BANS "bans"
#define CTL_CMD_BAN "ban"
#define CTL_CMD_UNBAN "unban"
#define CTL_CMD_ALLOW "allow"
#define CTL_CMD_SOURCES "sources"
#define CTL_CMD_FLOWS "flows"
#define CTL_CMD_EVIDENCE "evidence"
#define CTL_CMD_RELOAD "reload"
#define CTL_CMD_WATCH "watch" /* bans and unbans as they happen: the connection stays open */
#define CTL_CMD_FLEET "fleet" /* the fleet's decisions (nfsentry-crowdsec) */

/* At most this many watchers at once; each one's unsent lines are held up to WATCH_BUF_MAX bytes
 * (then it loses events, and is told how many, instead of being waited for). */
#define CTL_WATCHERS_MAX 4
#define CTL_WATCH_BUF_MAX (64 * 1024)
/* A fleet request holds at most this many decisions, bans and unbans together. */
#define CTL_FLEET_ITEMS_MAX 1000

/* A request line, its newline included, is at most this long: the server reads no more. */
#define CTL_REQUEST_MAX (64 * 1024)

/* The default socket, [daemon] control_socket, is NFSENTRY_CONTROL_SOCKET in build-config.h:
 * the configuration's default (core/config.c) is defined there too, below this layer. */
