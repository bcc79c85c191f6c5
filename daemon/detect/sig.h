/* sig.h - protocol signatures of interactive backdoors, after Zhang & Paxson, "Detecting
 * Backdoors" (USENIX Security 2000), sec. 4: ssh-sig, rlogin-sig, telnet-sig, ftp-sig,
 * root-sig, napster-sig, gnutella-sig. One small fixed-size state per TCP connection; no heap.
 *
 * The caller (the flow table) feeds every TCP packet with payload of a connection, in order
 * of arrival, telling which side sent it. Each detector reports at most once per connection. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sig_detector {
	SIG_SSH,      /* "SSH-1." / "SSH-2." at the start of the first data packet of a direction */
	SIG_RLOGIN,   /* the client's four NUL-terminated strings and the server's NUL (sec. 4.2) */
	SIG_TELNET,   /* IAC WILL/WONT/DO/DONT negotiation, mostly 7-bit text, short lines (4.3) */
	SIG_FTP,      /* server's first reply "220 "/"220-"/"421 "/"421-" (4.4; SMTP looks alike) */
	SIG_ROOT,     /* server's first packet is exactly "# " (4.5) */
	SIG_NAPSTER,  /* "SEND" or "GET" alone in a packet at the start of a connection (4.6) */
	SIG_GNUTELLA, /* "GNUTELLA " at the start of a connection (4.7) */
	SIG_COUNT
};

enum sig_strength {
	SIG_STRONG = 0, /* the paper's full algorithm matched */
	SIG_WEAK = 1,   /* only the stateless filter form matched, e.g. root-sig's "# " packet in
			   the middle of a connection rather than as the server's first packet */
};

#define SIG_EVIDENCE_MAX 96

struct sig_hit {
	enum sig_detector detector;
	enum sig_strength strength;
	int dir; /* the direction whose bytes matched (0: initiator to responder, 1: back) */
	/* What matched, printable: e.g. the SSH banner up to CR LF ("SSH-2.0-OpenSSH_9.2p1"), the
	 * rlogin user names, "IAC DO 24" ... Non-printable bytes as \xNN. NUL-terminated. */
	char evidence[SIG_EVIDENCE_MAX];
};

/* One TCP packet with payload, as the flow table sees it. */
struct sig_packet {
	int dir;               /* 0: sent by the initiator (client), 1: by the responder (server) */
	bool initiator_known;  /* false for a partial connection (no SYN seen): then dir 0 is
				  merely the side seen first, and server-side signatures are
				  looked for in both directions */
	const uint8_t *payload;
	uint32_t caplen;       /* bytes of payload we have (may be fewer than len) */
	uint32_t len;          /* payload length on the wire */
	bool in_order;         /* false if this packet does not directly follow the previous
				  data of its direction in sequence space (gap or reordering) */
	bool retransmission;   /* all of its bytes were seen before: detectors ignore it */
};

struct sig_dir_state {
	uint32_t data_packets;  /* data packets seen in this direction */
	uint32_t bytes;         /* payload bytes examined */
	/* per-detector progress, private to sig.c */
	uint8_t rlogin_nuls, rlogin_done, rlogin_bad;
	uint8_t telnet_neg;
	uint32_t ascii7, line_len, lines, short_lines;
	uint32_t rlogin_scanned;
	char rlogin_text[64];
	uint8_t rlogin_text_len;
	uint8_t first_byte, have_first;
	uint8_t prompted;       /* root-sig: a prompt was seen in this direction already */
	/* added by sig.c: the last byte rlogin-sig scanned (an empty string spans packets), the
	 * telnet command parser's state, and the bytes counted by telnet-sig's 7-bit test */
	uint8_t rlogin_prev, telnet_cmd;
	uint32_t text_bytes;
};

struct sig_state {
	struct sig_dir_state dir[2];
	uint16_t fired; /* bit per enum sig_detector */
	/* added by sig.c: the connection's first telnet negotiation (IAC, verb, option), quoted
	 * as telnet-sig's evidence when the connection-wide tests pass later */
	uint8_t telnet_ev[3], telnet_ev_len, telnet_dir;
};

const char *sig_name(enum sig_detector d); /* "ssh-sig", ... */

/* Feeds one packet. Writes up to @max hits for detectors that fire on it (each at most once
 * per connection) and returns how many. Reads at most p->caplen bytes of p->payload. */
int sig_packet(struct sig_state *s, const struct sig_packet *p, struct sig_hit *out, int max);

/* End of the connection (FIN/RST seen, evicted, or end of trace): detectors that decide on
 * the whole connection (telnet-sig's 7-bit and line-length tests) report now. */
int sig_finish(struct sig_state *s, struct sig_hit *out, int max);
