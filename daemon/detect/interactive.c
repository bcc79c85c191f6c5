/* interactive.c - Zhang & Paxson's timing-based detector of interactive flows, and ssh-len; the
 * steady-pacing and opening tests that keep machine protocols out of it. */
#include "detect/interactive.h"

#include <string.h>

#include "core/bytes.h"

/* A jump of more than this many bytes, forward or back, is a resynchronisation, not a run of
 * unseen packets: 1 MiB is already ~2100 estimated packets, more than a keystroke flow ever
 * hides between two small packets, and far more than any retransmission a passive monitor
 * should care about. Without it a single forged segment (2^31 ahead) would make every later
 * genuine packet look like a retransmission and blind this flow for good. It also bounds
 * every sequence distance we use well inside the 2^31 of serial arithmetic (RFC 1982). */
#define RESYNC_BYTES ((int32_t)1 << 20)
/* Sec. 3.4 backs off without bound; an hour keeps a long-lived backdoor that turns
 * interactive late from waiting days for its next look, and keeps the timer from overflowing. */
#define MAX_INTERVAL_US (3600ull * 1000000)

static uint64_t sat_add64(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void ia_init(struct ia_state *s)
{
	memset(s, 0, sizeof(*s));
	s->interval_us = IA_FIRST_EVAL_US;
}

/* Makes room for @k more packets: 16-bit counters are halved together, all of them, so every
 * ratio the tests use (Gamma, alpha, the steady and ssh-len shares) stays what it was, and
 * the order between them (s <= n, g <= s, steady <= compared <= pairs_in_range <= pairs <= s,
 * len_8k* <= data_packets <= n) holds since halving with floor is monotonic. */
static void dir_room(struct ia_dir *d, uint32_t k)
{
	while ((uint32_t)d->n + k > UINT16_MAX) {
		d->n /= 2;
		d->s /= 2;
		d->g /= 2;
		d->pairs /= 2;
		d->pairs_in_range /= 2;
		d->compared /= 2;
		d->steady /= 2;
		d->data_packets /= 2;
		d->len_8k4 /= 2;
		d->len_8k /= 2;
	}
}

/* An in-range interarrival @gap (us): is it the same period as the one before? A person's
 * next keystroke gap is rarely within 1/16 of the last (Pareto, sec. 3.3); a poller's nearly
 * always is. */
static void count_steady(struct ia_dir *d, uint64_t gap)
{
	uint32_t units = (uint32_t)(gap / IA_GAP_UNIT_US), prev = d->prev_gap;

	if (prev) {
		uint32_t diff = units > prev ? units - prev : prev - units;

		d->compared++;
		if (diff * IA_STEADY_DIV <= prev)
			d->steady++;
	}
	d->prev_gap = (uint16_t)units; /* gap <= 2 s: at most 31,250 units */
}

/* One packet that moved the flow forward in sequence space, so it is in sequence order with
 * the one counted before it (sec. 3.4: alpha only over packets consecutive in sequence). */
static void count_packet(struct ia_dir *d, uint64_t t, uint32_t len)
{
	dir_room(d, 1);
	d->n++;
	if (len > IA_SMALL_MAX) {
		d->last_was_small = false;
		d->last_us = t;
		return;
	}
	if (d->last_was_small) {
		/* The last counted packet was small, so last_us is its time; t >= last_us since
		 * times are clamped to be monotonic per flow. */
		uint64_t gap = t - d->last_us;

		d->pairs++;
		if (gap >= IA_ALPHA_LO_US && gap <= IA_ALPHA_HI_US) {
			d->pairs_in_range++;
			count_steady(d, gap);
		} else {
			d->prev_gap = 0;
		}
	} else if (d->seen_small) {
		/* Sec. 3.2: two small packets with a large one (seen or estimated) between. */
		d->g++;
	}
	d->s++;
	d->seen_small = d->last_was_small = true;
	d->last_us = t;
}

/* Sec. 4.1: SSH 1.x payloads are 8k+4 bytes, SSH 2.x a multiple of the block size (8k).
 * Not called for a flow's first data packet, so data_packets is every seen one but that. */
static void count_len(struct ia_dir *d, uint32_t len)
{
	d->data_packets++; /* <= n, which dir_room keeps below UINT16_MAX */
	if (len % 8 == 4)
		d->len_8k4++;
	else if (len % 8 == 0)
		d->len_8k++;
}

/* The initiator's first data packet: does it open a machine protocol? Each test is the
 * protocol's fixed framing, with its length field checked against the segment, so a line of
 * typed text cannot match; keystrokes (1-3 bytes) are too short for any. Only the client's
 * side counts: the responder of a backdoor is the attacker's own server, and a fake greeting
 * from it must not buy the connection out of the test. TLS needs no test: its records are
 * never 20 bytes or less, so it has no small packets to count. */
static bool opening_is_machine(const uint8_t *p, size_t caplen, uint32_t len)
{
	static const char h2[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"; /* RFC 9113 sec. 3.4 */
	static const uint8_t zeros[19];

	if (!p || caplen > len)
		return false;
	/* HTTP/2 without TLS (h2c, prior knowledge): the client's 24-byte preface. */
	if (caplen >= sizeof(h2) - 1 && !memcmp(p, h2, sizeof(h2) - 1))
		return true;
	/* PostgreSQL: the client's StartupMessage (protocol 3.0), SSLRequest, GSSENCRequest or
	 * CancelRequest: a 32-bit length equal to the segment, then the code. */
	if (caplen >= 8 && rd32be(p) == len) {
		uint32_t code = rd32be(p + 4);
		if (code == 0x00030000 || code == 80877102 || code == 80877103 || code == 80877104)
			return true;
	}
	/* MySQL/MariaDB: the client's HandshakeResponse41 or SSLRequest, answering the server's
	 * greeting: a 24-bit little-endian length (the rest of the segment), sequence 1, the
	 * CLIENT_PROTOCOL_41 capability, then after the maximum packet size and the character
	 * set, 23 bytes of filler: zeros, but for MariaDB's extended capabilities in the last 4. */
	if (caplen >= 32 && ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16) == len - 4 && p[3] == 1 &&
	    (p[5] & 0x02) && !memcmp(p + 13, zeros, sizeof(zeros)))
		return true;
	/* DNP3 (IEEE 1815) link frame: start bytes 0x05 0x64, a length of at least 5, and at
	 * least the 10-byte header with its CRC. */
	if (caplen >= 3 && len >= 10 && p[0] == 0x05 && p[1] == 0x64 && p[2] >= 5)
		return true;
	/* Modbus/TCP: the MBAP header's protocol identifier 0 and a length that is the rest of
	 * the segment (unit id and PDU), with a function code below 128. */
	if (caplen >= 8 && p[2] == 0 && p[3] == 0 && rd16be(p + 4) == len - 6 && p[7] && p[7] < 128)
		return true;
	return false;
}

void ia_packet(struct ia_state *s, int dir, uint64_t t_us, uint32_t seq, uint32_t len, const uint8_t *payload,
	       size_t caplen)
{
	struct ia_dir *d;
	int32_t ahead, end;

	/* No real segment carries 1 MiB; a longer length is corrupt and would also move
	 * next_seq so far that serial arithmetic could no longer order what follows. */
	if ((dir != 0 && dir != 1) || len == 0 || len > (uint32_t)RESYNC_BYTES)
		return;
	/* The verdict is in (reported once per connection, or a machine protocol); nothing
	 * left to learn. */
	if (s->fired_interactive || s->machine)
		return;
	d = &s->dir[dir];
	if (!d->have_seq) {
		/* The first data packet only anchors the sequence space: nothing before it
		 * can be a gap. It counts for N but not for ssh-len: in SSH it is the version
		 * exchange, which sec. 4.1 says fits neither 8k nor 8k+4. */
		d->have_seq = true;
		d->next_seq = seq + len;
		if (!s->next_eval_us) {
			/* Sec. 3.4: the first look is 30 s after the connection's first data. */
			s->base_us = t_us;
			s->next_eval_us = sat_add64(t_us, s->interval_us);
		}
		/* The other flow may have started first; a clock that steps back must not put
		 * this one before the connection's start (duration is last - first). */
		if (t_us < s->base_us)
			t_us = s->base_us;
		d->first_off_us = t_us - s->base_us > UINT32_MAX ? UINT32_MAX : (uint32_t)(t_us - s->base_us);
		/* Dir 0 is the initiator. In a partial connection it is only the first side
		 * seen, which may be the attacker's server: the caller passes no payload there
		 * (flow.c), so such a connection is judged by its pacing alone. */
		if (dir == 0 && opening_is_machine(payload, caplen, len)) {
			s->machine = true;
			return;
		}
		count_packet(d, t_us, len);
		return;
	}
	/* A clock that steps back must not make a negative (huge unsigned) interarrival. */
	if (t_us < d->last_us)
		t_us = d->last_us;
	ahead = (int32_t)(seq - d->next_seq);
	end = (int32_t)(seq + len - d->next_seq);
	if (ahead > RESYNC_BYTES || end < -RESYNC_BYTES) {
		/* Lost the stream: we cannot tell what lies between, so estimate nothing but
		 * end the run of small packets, the conservative side for Gamma and alpha. */
		d->last_was_small = false;
	} else if (end <= 0) {
		/* Sec. 3.3: every byte already seen, a retransmission; it would add a bogus
		 * back-to-back pair and inflate N, so it does not count at all. */
		return;
	} else if (ahead > 0) {
		/* Sec. 3.4: unseen data, ceil(gap / 500) large packets we were filtered from. */
		uint32_t est = ((uint32_t)ahead + IA_LARGE_PKT_SIZE - 1) / IA_LARGE_PKT_SIZE; /* <= 2098 */

		dir_room(d, est + 1);
		d->n += est;
		d->last_was_small = false;
	}
	/* In order, or overlapping what we saw but carrying new bytes: a packet in its own
	 * right (TCP repacketised it), so it counts. */
	d->next_seq = seq + len;
	count_packet(d, t_us, len);
	count_len(d, len);
}

/* Sec. 3: the tests on one flow; fills @r whatever the outcome. */
static bool judge(const struct ia_dir *d, uint64_t base_us, int dir, struct ia_result *r)
{
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	r->n = d->n;
	r->s = d->s;
	r->g = d->g;
	r->pairs = d->pairs;
	r->duration_us = d->last_us - (base_us + d->first_off_us);
	/* Sec. 3: fewer than 8 packets or under 2 s is too little to judge. Without a small
	 * packet Gamma is meaningless, and such a flow has no keystrokes anyway. */
	if (d->n < IA_MIN_PACKETS || r->duration_us < IA_MIN_DURATION_US || !d->s)
		return false;
	r->gamma = ((double)d->s - (double)d->g - 1.0) / (double)d->n;
	r->alpha = d->pairs ? (double)d->pairs_in_range / (double)d->pairs : 0.0;
	/* Sec. 3.2, 3.3: Gamma >= 0.2 and alpha >= 0.2, each lax, jointly effective (5.7). */
	if (r->gamma < IA_GAMMA_MIN || r->alpha < IA_ALPHA_MIN)
		return false;
	/* Beyond the paper: alpha asks whether gaps lie in a person's range, not whether they
	 * vary like a person's. A poller at 1 s passes alpha with every gap; it fails here. */
	if (d->compared >= IA_STEADY_MIN_PAIRS) {
		r->steady_share = (float)d->steady / (float)d->compared;
		if (r->steady_share >= IA_STEADY_SHARE)
			return false;
	}
	r->interactive = true;
	/* Sec. 4.1: ssh-len runs only on a flow already judged interactive. */
	if (d->data_packets) {
		uint32_t most = d->len_8k4 > d->len_8k ? d->len_8k4 : d->len_8k;

		r->ssh_share = (double)most / (double)d->data_packets;
		r->ssh_len = r->ssh_share >= IA_SSH_LEN_SHARE;
	}
	return true;
}

bool ia_evaluate(struct ia_state *s, uint64_t now_us, bool initiator_known, bool final, struct ia_result *r)
{
	struct ia_result res;

	if (s->fired_interactive || s->machine)
		return false;
	if (!final && (!s->next_eval_us || now_us < s->next_eval_us))
		return false;
	/* Sec. 3.1: keystrokes come from the initiator; only a partial connection, whose
	 * initiator we did not see, needs both flows looked at. */
	for (int i = 0; i < (initiator_known ? 1 : 2); i++) {
		if (!judge(&s->dir[i], s->base_us, i, &res))
			continue;
		s->fired_interactive = true;
		s->fired_ssh_len = res.ssh_len;
		if (r)
			*r = res;
		return true;
	}
	/* Sec. 3.4: a flow that looks non-interactive may still have a preamble before the
	 * keystrokes (telnet options), so look again, each time 1.5 times later. The final
	 * look has no later one, so it leaves the timer alone. */
	if (!final) {
		uint64_t next = (uint64_t)s->interval_us + s->interval_us / 2;

		s->interval_us = (uint32_t)(next > MAX_INTERVAL_US ? MAX_INTERVAL_US : next);
		s->next_eval_us = sat_add64(now_us, s->interval_us);
	}
	return false;
}
