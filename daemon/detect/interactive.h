/* interactive.h - the timing-based detector of interactive traffic, Zhang & Paxson sec. 3,
 * and ssh-len (sec. 4.1), per TCP connection. Fixed-size state (104 bytes); no heap.
 *
 * Sec. 3.1: only the initiator's flow is examined when the initiator is known; both flows
 * for a partial connection. Sec. 3.2: a small packet has 1..20 bytes of payload; Gamma =
 * (S - G - 1) / N >= 0.2. Sec. 3.3: alpha = share of interarrival times between consecutive
 * small packets in [10 ms, 2 s] >= 0.2; retransmissions excluded. A flow needs >= 8 packets
 * and >= 2 s. Sec. 3.4: packets we did not see (the ruleset only queues small ones) are
 * estimated from sequence gaps as ceil(gap / 500) large packets; evaluation runs on a timer
 * that starts at 30 s and backs off by 1.5.
 *
 * Beyond the paper, two tests keep machines from passing for people (docs/detection.md):
 * - steady pacing: keystroke gaps are Pareto, broad (sec. 3.3, [PF95]); a poller's are one
 *   period again and again. A flow whose in-range gaps mostly repeat the one before within
 *   1/16 is machine-paced, not typed;
 * - the opening: a connection whose initiator starts with a machine protocol's fixed first
 *   bytes (HTTP/2's preface, a PostgreSQL start-up, a MySQL client's handshake response, DNP3
 *   or Modbus/TCP framing) is no one's keystrokes. */
#pragma once

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
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
/* Steady pacing: an in-range gap within 1/16 of the in-range gap before it is "steady"; a flow
 * with at least IA_STEADY_MIN_PAIRS compared gaps, IA_STEADY_SHARE of them steady, is a
 * machine. Typed gaps (uniform 80-400 ms, Pareto) repeat within 1/16 about 10% of the time. */
#define IA_STEADY_DIV 16
#define IA_STEADY_MIN_PAIRS 8
#define IA_STEADY_SHARE 0.5
#define IA_GAP_UNIT_US 64        /* prev_gap's unit: 2 s fits 16 bits, 1/16 of 10 ms is 9 units */

/* Counters are 16 bits: when n (the largest) would overflow, every counter of the flow is
 * halved, which keeps the ratios Gamma, alpha and the shares and weighs recent traffic more. */
struct ia_dir {
	uint64_t last_us;        /* the last counted packet (clamped monotonic) */
	uint32_t first_off_us;   /* the first data packet, after ia_state.base_us (saturated) */
	uint32_t next_seq;
	uint16_t n;              /* packets, including estimated unseen large ones */
	uint16_t s;              /* small packets */
	uint16_t g;              /* gaps: runs of small packets broken by large ones */
	uint16_t pairs;          /* consecutive small-packet pairs */
	uint16_t pairs_in_range; /* ... whose interarrival lies in [10 ms, 2 s] */
	uint16_t compared;       /* in-range gaps that followed an in-range gap */
	uint16_t steady;         /* ... within 1/16 of it */
	uint16_t prev_gap;       /* the last in-range gap, IA_GAP_UNIT_US units; 0 after a break */
	uint16_t data_packets;   /* seen data packets (for ssh-len) */
	uint16_t len_8k4, len_8k;
	bool have_seq : 1, last_was_small : 1, seen_small : 1;
};

struct ia_state {
	struct ia_dir dir[2];
	uint64_t base_us;        /* the connection's first data */
	uint64_t next_eval_us;   /* 0 until the first packet */
	uint32_t interval_us;    /* at most an hour */
	bool fired_interactive, fired_ssh_len;
	bool machine;            /* opened like a machine protocol: never interactive */
};
/* Issue 14's budget: the flow table holds one per inspected connection. */
static_assert(sizeof(struct ia_state) <= 104, "struct ia_state over its 104-byte budget");

struct ia_result {
	int dir;                 /* the flow that qualified */
	float steady_share;      /* steady / compared (0 when too few were compared); float: in dir's padding */
	double gamma, alpha;
	uint32_t n, s, g, pairs;
	uint64_t duration_us;
	bool interactive;        /* gamma and alpha both at or above their thresholds, not machine-paced */
	bool ssh_len;            /* interactive and >= 75% of data packets 8k+4, or >= 75% 8k */
	double ssh_share;        /* the larger of the two shares */
};

void ia_init(struct ia_state *s);
/* One TCP packet of @dir (0: initiator, 1: responder) at @t_us with sequence number @seq and
 * @len payload bytes (0: a pure ACK, ignored), of which the first @caplen are at @payload
 * (may be NULL with @caplen 0; only dir 0's first data packet is read, for the opening, so
 * pass none when dir 0 is not known to be the initiator). Retransmissions (bytes already covered) are ignored; a jump forward adds
 * ceil(gap / 500) estimated large packets. */
void ia_packet(struct ia_state *s, int dir, uint64_t t_us, uint32_t seq, uint32_t len, const uint8_t *payload,
	       size_t caplen);
/* Evaluates if the timer is due at @now_us (or always if @final). Returns true once, the
 * first time a flow qualifies as interactive (and then fills @r, including ssh_len). A flow
 * found non-interactive has its timer backed off by 1.5. Both flows are considered unless
 * @initiator_known (then only dir 0). */
bool ia_evaluate(struct ia_state *s, uint64_t now_us, bool initiator_known, bool final, struct ia_result *r);
