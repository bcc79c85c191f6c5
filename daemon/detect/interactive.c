/* interactive.c - Zhang & Paxson's timing-based detector of interactive flows, and ssh-len. */
#include "detect/interactive.h"

#include <string.h>

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

static uint32_t sat_add(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static uint64_t sat_add64(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void ia_init(struct ia_state *s)
{
	memset(s, 0, sizeof(*s));
	s->interval_us = IA_FIRST_EVAL_US;
}

/* One packet that moved the flow forward in sequence space, so it is in sequence order with
 * the one counted before it (sec. 3.4: alpha only over packets consecutive in sequence). */
static void count_packet(struct ia_dir *d, uint64_t t, uint32_t len)
{
	d->n = sat_add(d->n, 1);
	d->last_us = t;
	if (len > IA_SMALL_MAX) {
		d->last_was_small = false;
		return;
	}
	if (d->last_was_small) {
		/* t >= last_small_us: times are clamped to be monotonic per flow. */
		uint64_t gap = t - d->last_small_us;

		d->pairs = sat_add(d->pairs, 1);
		if (gap >= IA_ALPHA_LO_US && gap <= IA_ALPHA_HI_US)
			d->pairs_in_range = sat_add(d->pairs_in_range, 1);
	} else if (d->seen_small) {
		/* Sec. 3.2: two small packets with a large one (seen or estimated) between. */
		d->g = sat_add(d->g, 1);
	}
	d->s = sat_add(d->s, 1);
	d->seen_small = d->last_was_small = true;
	d->last_small_us = t;
}

/* Sec. 4.1: SSH 1.x payloads are 8k+4 bytes, SSH 2.x a multiple of the block size (8k).
 * Not called for a flow's first data packet, so data_packets is every seen one but that. */
static void count_len(struct ia_dir *d, uint32_t len)
{
	d->data_packets = sat_add(d->data_packets, 1);
	if (len % 8 == 4)
		d->len_8k4 = sat_add(d->len_8k4, 1);
	else if (len % 8 == 0)
		d->len_8k = sat_add(d->len_8k, 1);
}

void ia_packet(struct ia_state *s, int dir, uint64_t t_us, uint32_t seq, uint32_t len)
{
	struct ia_dir *d;
	int32_t ahead, end;

	/* No real segment carries 1 MiB; a longer length is corrupt and would also move
	 * next_seq so far that serial arithmetic could no longer order what follows. */
	if ((dir != 0 && dir != 1) || len == 0 || len > (uint32_t)RESYNC_BYTES)
		return;
	/* The verdict is in (reported once per connection); nothing left to learn. */
	if (s->fired_interactive)
		return;
	d = &s->dir[dir];
	if (!d->have_seq) {
		/* The first data packet only anchors the sequence space: nothing before it
		 * can be a gap. It counts for N but not for ssh-len: in SSH it is the version
		 * exchange, which sec. 4.1 says fits neither 8k nor 8k+4. */
		d->have_seq = true;
		d->next_seq = seq + len;
		d->first_us = t_us;
		if (!s->next_eval_us) {
			/* Sec. 3.4: the first look is 30 s after the connection's first data. */
			s->next_eval_us = sat_add64(t_us, s->interval_us);
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
		d->n = sat_add(d->n, ((uint32_t)ahead + IA_LARGE_PKT_SIZE - 1) / IA_LARGE_PKT_SIZE);
		d->last_was_small = false;
	}
	/* In order, or overlapping what we saw but carrying new bytes: a packet in its own
	 * right (TCP repacketised it), so it counts. */
	d->next_seq = seq + len;
	count_packet(d, t_us, len);
	count_len(d, len);
}

/* Sec. 3: the tests on one flow; fills @r whatever the outcome. */
static bool judge(const struct ia_dir *d, int dir, struct ia_result *r)
{
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	r->n = d->n;
	r->s = d->s;
	r->g = d->g;
	r->pairs = d->pairs;
	r->duration_us = d->last_us - d->first_us;
	/* Sec. 3: fewer than 8 packets or under 2 s is too little to judge. Without a small
	 * packet Gamma is meaningless, and such a flow has no keystrokes anyway. */
	if (d->n < IA_MIN_PACKETS || r->duration_us < IA_MIN_DURATION_US || !d->s)
		return false;
	r->gamma = ((double)d->s - (double)d->g - 1.0) / (double)d->n;
	r->alpha = d->pairs ? (double)d->pairs_in_range / (double)d->pairs : 0.0;
	/* Sec. 3.2, 3.3: Gamma >= 0.2 and alpha >= 0.2, each lax, jointly effective (5.7). */
	r->interactive = r->gamma >= IA_GAMMA_MIN && r->alpha >= IA_ALPHA_MIN;
	if (!r->interactive)
		return false;
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

	if (s->fired_interactive)
		return false;
	if (!final && (!s->next_eval_us || now_us < s->next_eval_us))
		return false;
	/* Sec. 3.1: keystrokes come from the initiator; only a partial connection, whose
	 * initiator we did not see, needs both flows looked at. */
	for (int i = 0; i < (initiator_known ? 1 : 2); i++) {
		if (!judge(&s->dir[i], i, &res))
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
		s->interval_us += s->interval_us / 2;
		if (s->interval_us > MAX_INTERVAL_US)
			s->interval_us = MAX_INTERVAL_US;
		s->next_eval_us = sat_add64(now_us, s->interval_us);
	}
	return false;
}
