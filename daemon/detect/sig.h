/* sig.h - protocol signatures of interactive backdoors, after Zhang & Paxson, "Detecting
 * Backdoors" (USENIX Security 2000), sec. 4: ssh-sig, rlogin-sig, telnet-sig, ftp-sig,
 * root-sig, napster-sig, gnutella-sig. One small fixed-size state per TCP connection, plus 64
 * bytes of heap while an rlogin prolog is undecided (sig_release() frees them).
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

/* Per direction. Counters that only need to say "none", "one", "a few" saturate in a byte. */
struct sig_dir_state {
	/* telnet-sig's counts over the whole connection (sec. 4.3): content bytes, how many of
	 * them are 7-bit, lines ended, and of those the short ones */
	uint32_t text_bytes, ascii7, lines, short_lines;
	/* rlogin-sig's evidence, the client's three strings: on the heap, and only while the
	 * prolog is still clean (it starts with NUL, which few flows do), so that the 64 bytes
	 * are not carried by every connection; sig_release() frees it. */
	char *rlogin_text;
	uint8_t line_len;        /* the open line's length: 0..81 (81: longer than 80), or 255 unknown */
	uint8_t telnet_cmd;      /* the telnet command parser's state, across packets */
	uint8_t data_packets;    /* data packets seen, saturating at 255 (0, 1, 2 and 8 matter) */
	uint8_t bytes;           /* payload bytes examined, saturating at 255 (root-sig asks <= 128) */
	uint8_t rlogin_scanned;  /* bytes of the prolog tested, 0..128 */
	uint8_t rlogin_text_len; /* 0..64 */
	uint8_t rlogin_nuls : 3, rlogin_bad : 3, rlogin_done : 1;
	uint8_t rlogin_prev_nul : 1; /* the last byte scanned was NUL: an empty string spans packets */
	uint8_t have_first : 2;      /* see sig.c */
	uint8_t first_nul : 1;       /* the direction's first byte, when seen, was NUL */
	uint8_t prompted : 1;        /* root-sig: a prompt was seen in this direction already */
};

/* 72 bytes on x86-64: no detector keeps more than a few counters per connection; what only
 * an undecided rlogin prolog needs lives on the heap for as long as it is undecided. */
struct sig_state {
	struct sig_dir_state dir[2];
	uint8_t fired; /* bit per enum sig_detector */
	/* the connection's first telnet negotiation (IAC, verb, option), quoted as telnet-sig's
	 * evidence when the connection-wide tests pass later */
	uint8_t telnet_ev[3], telnet_ev_len, telnet_dir;
};
_Static_assert(SIG_COUNT <= 8, "sig_state.fired has a bit per detector");
_Static_assert(sizeof(struct sig_state) <= 88, "sig_state: 88 bytes at most per connection (issue 14)");

const char *sig_name(enum sig_detector d); /* "ssh-sig", ... */

/* Feeds one packet. Writes up to @max hits for detectors that fire on it (each at most once
 * per connection) and returns how many. Reads at most p->caplen bytes of p->payload. */
int sig_packet(struct sig_state *s, const struct sig_packet *p, struct sig_hit *out, int max);

/* End of the connection (FIN/RST seen, evicted, or end of trace): detectors that decide on
 * the whole connection (telnet-sig's 7-bit and line-length tests) report now. */
int sig_finish(struct sig_state *s, struct sig_hit *out, int max);

/* telnet-sig counts a connection's bytes in blocks as wide as the CPU allows: 2 AVX2, 1 SSE2
 * (x86-64), 0 none (bytes and 8-byte words). Caps the width at @level (for tests: every width
 * must count alike) and returns the width now in use. */
int sig_vector_cap(int level);

/* Frees what @s holds on the heap (accepts NULL): call it before forgetting a state. A state
 * fed on afterwards still detects, without rlogin-sig's evidence; zero it for a new connection. */
void sig_release(struct sig_state *s);
