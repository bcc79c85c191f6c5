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

/* A request line, its newline included, is at most this long: the server reads no more. */
#define CTL_REQUEST_MAX (64 * 1024)

/* The default socket, [daemon] control_socket, is NFSENTRY_CONTROL_SOCKET in build-config.h:
 * the configuration's default (core/config.c) is defined there too, below this layer. */
