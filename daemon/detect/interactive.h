/* interactive.h - the timing-based detector of interactive traffic, Zhang & Paxson sec. 3,
 * and ssh-len (sec. 4.1), per TCP connection. Fixed-size state; no heap.
 *
 * Sec. 3.1: only the initiator's flow is examined when the initiator is known; both flows
 * for a partial connection. Sec. 3.2: a small packet has 1..20 bytes of payload; Gamma =
 * (S - G - 1) / N >= 0.2. Sec. 3.3: alpha = share of interarrival times between consecutive
 * small packets in [10 ms, 2 s] >= 0.2; retransmissions excluded. A flow needs >= 8 packets
 * and >= 2 s. Sec. 3.4: packets we did not see (the ruleset only queues small ones) are
 * estimated from sequence gaps as ceil(gap / 500) large packets; evaluation runs on a timer
 * that starts at 30 s and backs off by 1.5. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define IA_SMALL_MAX 20          /* bytes */
#define IA_GAMMA_MIN 0.2
#define IA_ALPHA_MIN 0.2
#define IA_MIN_PACKETS 8
#define IA_MIN_DURATION_US 2000000
#define IA_ALPHA_LO_US 10000
#define IA_ALPHA_HI_US 2000000
#define IA_LARGE_PKT_SIZE 500
#define IA_FIRST_EVAL_US 30000000
#define IA_BACKOFF 1.5
#define IA_SSH_LEN_SHARE 0.75

struct ia_dir {
	uint32_t n;              /* packets, including estimated unseen large ones */
	uint32_t s;              /* small packets */
	uint32_t g;              /* gaps: runs of small packets broken by large ones */
	uint32_t pairs;          /* consecutive small-packet pairs */
	uint32_t pairs_in_range; /* ... whose interarrival lies in [10 ms, 2 s] */
	uint32_t data_packets;   /* seen data packets (for ssh-len) */
	uint32_t len_8k4, len_8k;
	uint64_t first_us, last_us, last_small_us;
	uint32_t next_seq;
	bool have_seq, last_was_small, seen_small;
};

struct ia_state {
	struct ia_dir dir[2];
	uint64_t next_eval_us;   /* 0 until the first packet */
	uint64_t interval_us;
	bool fired_interactive, fired_ssh_len;
};

struct ia_result {
	int dir;                 /* the flow that qualified */
	double gamma, alpha;
	uint32_t n, s, g, pairs;
	uint64_t duration_us;
	bool interactive;        /* gamma and alpha both at or above their thresholds */
	bool ssh_len;            /* interactive and >= 75% of data packets 8k+4, or >= 75% 8k */
	double ssh_share;        /* the larger of the two shares */
};

void ia_init(struct ia_state *s);
/* One TCP packet of @dir (0: initiator, 1: responder) at @t_us with sequence number @seq and
 * @len payload bytes (0: a pure ACK, ignored). Retransmissions (bytes already covered) are
 * ignored; a jump forward adds ceil(gap / 500) estimated large packets. */
void ia_packet(struct ia_state *s, int dir, uint64_t t_us, uint32_t seq, uint32_t len);
/* Evaluates if the timer is due at @now_us (or always if @final). Returns true once, the
 * first time a flow qualifies as interactive (and then fills @r, including ssh_len). A flow
 * found non-interactive has its timer backed off by 1.5. Both flows are considered unless
 * @initiator_known (then only dir 0). */
bool ia_evaluate(struct ia_state *s, uint64_t now_us, bool initiator_known, bool final, struct ia_result *r);
