/* sig.c - Zhang & Paxson's protocol signatures (sec. 4) over one TCP connection's packets. */
#include "detect/sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

/* An all-zero struct sig_state is a new connection (the flow table callocs it): every field
 * below starts at 0 meaning "nothing seen yet". */

#define EVIDENCE_SRC_MAX 80   /* bytes of a banner or reply line quoted as evidence */

#define RLOGIN_SCAN_MAX 128   /* sec. 4.2: bytes of the client's prolog examined at most */
#define RLOGIN_NULS 4         /* sec. 4.2: <NUL>client<NUL>server<NUL>term/speed<NUL> */

/* rlogin_bad: why the client's prolog was rejected (0: not rejected). */
enum { RL_OK, RL_GAP, RL_LEAD, RL_EMPTY, RL_8BIT, RL_BOUND, RL_TRUNC };
/* have_first: 0 no data yet, 1 the flow's first byte was seen (first_nul says if it was NUL),
 * 2 that byte was not captured, or the first packet did not start the flow (in_order false). */
enum { FIRST_NONE, FIRST_SEEN, FIRST_LOST };

#define TN_IAC 255
#define TN_WILL 251
#define TN_DONT 254
#define TN_SE 240             /* 240..250 (SE .. SB) are two-byte commands, RFC 854 */
#define TN_SB 250
/* telnet_cmd: where the parser stands in an IAC sequence, carried across packets. */
enum { TN_DATA, TN_AFTER_IAC, TN_AFTER_VERB };

#define TELNET_LINE_MAX 80    /* sec. 4.3: a line "not longer than 80 bytes" */
#define TELNET_EARLY_LINES 3  /* see telnet_holds() */
#define LINE_UNKNOWN UINT8_MAX /* line_len when the line's start was not seen */
#define RLOGIN_TEXT_MAX 64    /* bytes of the prolog quoted as evidence */

struct hits {
	struct sig_hit *out;
	int max, n;
};

const char *sig_name(enum sig_detector d)
{
	static const char *const n[SIG_COUNT] = { "ssh-sig", "rlogin-sig", "telnet-sig", "ftp-sig",
						  "root-sig", "napster-sig", "gnutella-sig" };
	return (unsigned)d < SIG_COUNT ? n[d] : "?";
}

/* Takes the next output slot for @d, or NULL if @d already fired or there is no room. A hit
 * that does not fit is not marked fired, so a detector that can match again later (root's
 * filter form, telnet, rlogin's late server NUL) still gets its chance; first-packet
 * signatures are lost then, hence callers pass max >= SIG_COUNT. */
static struct sig_hit *hit_claim(struct sig_state *s, struct hits *h, enum sig_detector d,
				 enum sig_strength strength, int dir)
{
	struct sig_hit *o;

	if ((s->fired & (1u << d)) || h->n >= h->max)
		return NULL;
	s->fired |= (uint8_t)(1u << d);
	o = &h->out[h->n++];
	memset(o, 0, sizeof(*o));
	o->detector = d;
	o->strength = strength;
	o->dir = dir;
	return o;
}

/* Quotes @n bytes as printable evidence: 0x20..0x7e as is except the backslash, everything
 * else (and the backslash, so that "\xNN" is unambiguous) as \xNN. Stops at CR or LF when
 * @line, and before an item that would not fit; always NUL-terminates. */
static void evidence_put(char *ev, const uint8_t *b, size_t n, bool line)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];

		if (line && (c == '\r' || c == '\n'))
			break;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= SIG_EVIDENCE_MAX)
				break;
			ev[o++] = (char)c;
		} else {
			if (o + 4 >= SIG_EVIDENCE_MAX)
				break;
			ev[o++] = '\\';
			ev[o++] = 'x';
			ev[o++] = hex[c >> 4];
			ev[o++] = hex[c & 15];
		}
	}
	ev[o] = '\0';
}

static void evidence_line(struct sig_hit *hit, const uint8_t *b, uint32_t caplen)
{
	evidence_put(hit->evidence, b, caplen < EVIDENCE_SRC_MAX ? caplen : EVIDENCE_SRC_MAX, true);
}

static bool starts_with(const uint8_t *b, uint32_t caplen, const char *lit)
{
	size_t n = strlen(lit);

	return caplen >= n && memcmp(b, lit, n) == 0;
}

/* The signatures of a direction's first data packet. "First" is the first data packet the
 * flow table handed us for the direction, whatever its in_order flag: like the paper's
 * tcpdump filters these look at one packet, and the flow table only knows the sequence start
 * when it saw the SYN. A signature must lie within the captured bytes; the evidence is what
 * was captured of it. */
static void sig_first_packet(struct sig_state *s, const struct sig_packet *p, const uint8_t *b,
			     uint32_t caplen, struct hits *h)
{
	/* For a partial connection (no SYN seen) we cannot tell the server, so the server-side
	 * signatures (ftp-sig, root-sig's strong form) are looked for in the first data packet
	 * of either direction. */
	bool server = p->dir == 1 || !p->initiator_known;
	struct sig_hit *hit;

	/* Zhang & Paxson sec. 4.1: both sides open with "SSH-<protoversion>-...", protocol 1.x
	 * or 2.x; "SSH-1.99-" (a server speaking both) starts with "SSH-1." too. Only the
	 * server's banner shows an SSH server, the backdoor: an ssh client pointed at any port
	 * (a web server, say) sends its own banner first and must not raise an alarm. Without
	 * the handshake either side may be the server. */
	if (server && (starts_with(b, caplen, "SSH-1.") || starts_with(b, caplen, "SSH-2.")) &&
	    (hit = hit_claim(s, h, SIG_SSH, SIG_STRONG, p->dir)))
		evidence_line(hit, b, caplen);

	/* Sec. 4.7: "GNUTELLA CONNECT/<version>" from the client, "GNUTELLA OK" back. */
	if (starts_with(b, caplen, "GNUTELLA ") &&
	    (hit = hit_claim(s, h, SIG_GNUTELLA, SIG_STRONG, p->dir)))
		evidence_line(hit, b, caplen);

	/* Sec. 4.4: the server's first reply is 220 (ready) or 421 (not available), the fourth
	 * byte a blank or, for a multi-line reply, a hyphen. SMTP greets the same way; telling
	 * them apart is the caller's policy. */
	if (server && caplen >= 4 && (memcmp(b, "220", 3) == 0 || memcmp(b, "421", 3) == 0) &&
	    (b[3] == ' ' || b[3] == '-') && (hit = hit_claim(s, h, SIG_FTP, SIG_STRONG, p->dir)))
		evidence_line(hit, b, caplen);
}

/* Sec. 4.5: a root shell greets with a packet of exactly "# ". As the server's first packet
 * that is root-sig proper (strong); anywhere else it is root-sig-filter, which sec. 5.8
 * found catches su to root and root prompts after a login, with more false hits (weak).
 * The length on the wire must be 2: "# \n" or a longer packet truncated to 2 bytes is not a
 * prompt. Fires once: a weak hit early in a connection uses up the detector. */
/* Beyond the paper: a shell without a terminal warns before its first prompt (dash:
 * "sh: 0: can't access tty; job control turned off\n# "), and bash prompts with
 * "root@host:/# ". So a short, fully captured text packet whose last line ends in "# " (at
 * most 64 bytes, no blanks before the "# ") counts as a prompt too. */
static bool root_prompt(const uint8_t *b, uint32_t caplen, uint32_t len)
{
	if (len == 2 && caplen == 2)
		return b[0] == '#' && b[1] == ' ';
	if (len != caplen || len < 2 || len > 128 || b[len - 2] != '#' || b[len - 1] != ' ')
		return false;
	uint32_t start = 0;
	for (uint32_t i = 0; i < len; i++) {
		if (b[i] == '\n')
			start = i + 1;
		else if (b[i] != '\r' && b[i] != '\t' && (b[i] < 0x20 || b[i] > 0x7e))
			return false; /* text only */
	}
	if (len - start > 64)
		return false;
	for (uint32_t i = start; i < len - 2; i++)
		if (b[i] == ' ' || b[i] == '\t')
			return false; /* "Summary # " is prose, "root@h:/# " a prompt */
	return true;
}

static void sig_root(struct sig_state *s, const struct sig_packet *p, const uint8_t *b,
		     uint32_t caplen, bool first, struct hits *h)
{
	bool strong = first && (p->dir == 1 || !p->initiator_known);
	struct sig_hit *hit;

	if (!root_prompt(b, caplen, p->len))
		return;
	s->dir[p->dir].prompted = 1;
	if ((hit = hit_claim(s, h, SIG_ROOT, strong ? SIG_STRONG : SIG_WEAK, p->dir))) {
		uint32_t start = caplen; /* the evidence is the prompt: the packet's last line */
		while (start > 0 && b[start - 1] != '\n')
			start--;
		evidence_line(hit, b + start, caplen - start);
	}
}

/* Sec. 4.6: a Napster client sends "GET" or "SEND" in a packet of its own at the start of the
 * connection (the uploader may greet first, so "start" is the client's first two data
 * packets). HTTP's "GET / HTTP/1.1" is longer and does not match. For a partial connection
 * the client is unknown, so both directions' first two packets are looked at. */
static void sig_napster(struct sig_state *s, const struct sig_packet *p, const uint8_t *b,
			uint32_t caplen, uint32_t nth, struct hits *h)
{
	struct sig_hit *hit;

	if ((p->dir != 0 && p->initiator_known) || nth >= 2 || caplen != p->len)
		return;
	if (!((p->len == 4 && memcmp(b, "SEND", 4) == 0) || (p->len == 3 && memcmp(b, "GET", 3) == 0)))
		return;
	if ((hit = hit_claim(s, h, SIG_NAPSTER, SIG_STRONG, p->dir)))
		evidence_put(hit->evidence, b, p->len, false);
}

/* Sec. 4.2, the client's side: from the flow's first byte, every byte is tested until a
 * sequence gap, the fourth NUL, an empty string, a byte that is not 7-bit ASCII, or 128
 * bytes. The protocol's leading NUL is required (RFC 1282; clients send it in a packet of
 * its own, sec. 4.2), which makes "empty string" well defined: a NUL right after a NUL.
 * Bytes beyond caplen are unknown, so a truncated capture ends the scan like a gap. */
static void rlogin_text_free(struct sig_dir_state *d)
{
	free(d->rlogin_text);
	d->rlogin_text = NULL;
}

static void rlogin_scan(struct sig_dir_state *d, const struct sig_packet *p, const uint8_t *b,
			uint32_t caplen)
{
	if (d->rlogin_done)
		return;
	if (!p->in_order) {
		d->rlogin_done = 1;
		d->rlogin_bad = RL_GAP;
		rlogin_text_free(d);
		return;
	}
	/* At most RLOGIN_SCAN_MAX iterations over the whole flow: the scan ends at the bound. */
	for (uint32_t i = 0; i < caplen && !d->rlogin_done; i++) {
		uint8_t c = b[i];
		bool after_nul = d->rlogin_scanned > 0 && d->rlogin_prev_nul;

		d->rlogin_scanned++;
		d->rlogin_prev_nul = c == 0;
		/* a clean start: room for the evidence; without it (no memory) the prolog is still
		 * judged, and a hit says the evidence was not kept */
		if (d->rlogin_scanned == 1 && c == 0 && !d->rlogin_text)
			d->rlogin_text = malloc(RLOGIN_TEXT_MAX);
		if (d->rlogin_scanned == 1 && c != 0) {
			d->rlogin_bad = RL_LEAD;
		} else if (c & 0x80) {
			d->rlogin_bad = RL_8BIT;
		} else if (c == 0 && after_nul) {
			d->rlogin_bad = RL_EMPTY;
		} else if (c == 0 && ++d->rlogin_nuls == RLOGIN_NULS) {
			d->rlogin_done = 1;
			break;
		} else if (d->rlogin_scanned > 1 && d->rlogin_text && d->rlogin_text_len < RLOGIN_TEXT_MAX) {
			/* evidence: the three strings, each NUL shown as '/' */
			d->rlogin_text[d->rlogin_text_len++] = c ? (char)c : '/';
		}
		if (d->rlogin_bad == RL_OK && d->rlogin_scanned >= RLOGIN_SCAN_MAX)
			d->rlogin_bad = RL_BOUND;
		if (d->rlogin_bad != RL_OK)
			d->rlogin_done = 1;
	}
	if (!d->rlogin_done && caplen < p->len) {
		d->rlogin_done = 1;
		d->rlogin_bad = RL_TRUNC;
	}
	if (d->rlogin_bad != RL_OK)
		rlogin_text_free(d);
}

/* Sec. 4.2: rlogin once a client prolog is complete and clean and the other direction began
 * with NUL, whichever of the two arrives last. With the initiator known only dir 0 is the
 * client; for a partial connection either may be. */
static void rlogin_decide(struct sig_state *s, bool initiator_known, struct hits *h)
{
	for (int c = 0; c < (initiator_known ? 1 : 2); c++) {
		const struct sig_dir_state *cl = &s->dir[c], *sv = &s->dir[!c];
		struct sig_hit *hit;

		if (!cl->rlogin_done || cl->rlogin_bad != RL_OK || cl->rlogin_nuls != RLOGIN_NULS)
			continue;
		if (sv->have_first != FIRST_SEEN || !sv->first_nul)
			continue;
		if (!(hit = hit_claim(s, h, SIG_RLOGIN, SIG_STRONG, c)))
			return; /* no room: it fires on a later packet */
		if (cl->rlogin_text)
			evidence_put(hit->evidence, (const uint8_t *)cl->rlogin_text, cl->rlogin_text_len, false);
		else
			snprintf(hit->evidence, sizeof(hit->evidence), "(prolog not kept: no memory)");
		rlogin_text_free(&s->dir[0]); /* fired: neither prolog is wanted any more */
		rlogin_text_free(&s->dir[1]);
		return;
	}
}

/* One byte of content for telnet-sig's tests (sec. 4.3). Lines end at CR or at LF; the empty
 * "line" between CR and LF is not counted, and NUL does not lengthen a line (telnet sends a
 * bare CR as CR NUL, RFC 854), so "alice\r\n" and keystrokes "a" "l" ... "\r\0" are both one
 * line of 5. line_len saturates just past the limit: only "longer than 80" matters. Past
 * 4 GiB in one direction the counts freeze, keeping the ratios of what came before. */
static void telnet_text_byte(struct sig_dir_state *d, uint8_t c)
{
	if (d->text_bytes == UINT32_MAX)
		return;
	d->text_bytes++;
	if (c < 0x80)
		d->ascii7++;
	if (c == '\r' || c == '\n') {
		if (d->line_len != LINE_UNKNOWN && d->line_len > 0) {
			d->lines++;
			if (d->line_len <= TELNET_LINE_MAX)
				d->short_lines++;
		}
		d->line_len = 0;
	} else if (c != 0 && d->line_len <= TELNET_LINE_MAX) {
		d->line_len++;
	}
}

/* Bytes that end a run of plain text: the line ends, NUL (not part of a line) and IAC. */
static const bool telnet_special[256] = { [0] = true, ['\r'] = true, ['\n'] = true, [TN_IAC] = true };

/* Any byte of @v zero (exact as a yes or no: "Bit Twiddling Hacks", haszero). */
#define BYTES_ONES 0x0101010101010101ull
#define BYTES_HIGH 0x8080808080808080ull
#define HAS_ZERO_BYTE(v) (((v) - BYTES_ONES) & ~(v) & BYTES_HIGH)

/* The length of the run of plain bytes (none telnet_special) at the start of @b[0..@n), and
 * how many of them are 7-bit. Eight bytes at a time while no special byte is among them: a
 * replay feeds every payload byte through here, and a call per byte was four fifths of the
 * engine's instructions (docs/benchmarks.md, "Engine"). */
static uint32_t plain_run(const uint8_t *b, uint32_t n, uint32_t *ascii)
{
	uint32_t i = 0, high = 0;

	while (n - i >= 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		if (HAS_ZERO_BYTE(w) | HAS_ZERO_BYTE(w ^ ('\r' * BYTES_ONES)) | HAS_ZERO_BYTE(w ^ ('\n' * BYTES_ONES)) |
		    HAS_ZERO_BYTE(~w))
			break;
		high += (uint32_t)((((w & BYTES_HIGH) >> 7) * BYTES_ONES) >> 56); /* the high bits, summed */
		i += 8;
	}
	while (i < n && !telnet_special[b[i]])
		high += b[i++] >> 7;
	*ascii = i - high;
	return i;
}

/* telnet_text_byte() for @n plain bytes @b, @ascii of them 7-bit, at once. */
static void telnet_text_run(struct sig_dir_state *d, const uint8_t *b, uint32_t n, uint32_t ascii)
{
	if (n > UINT32_MAX - d->text_bytes) { /* near saturation: byte by byte */
		for (uint32_t i = 0; i < n; i++)
			telnet_text_byte(d, b[i]);
		return;
	}
	d->text_bytes += n;
	d->ascii7 += ascii;
	if (d->line_len <= TELNET_LINE_MAX) /* counts up to one past the limit, as byte by byte */
		d->line_len = (uint8_t)(n > TELNET_LINE_MAX + 1u - d->line_len ? TELNET_LINE_MAX + 1u : d->line_len + n);
}

#if defined(__x86_64__) && defined(__SSE2__)
#include <immintrin.h>
#define SIG_VECTOR_BEST 2

/* telnet_text_byte() for the @n non-NUL bytes of a piece of line: the length saturates one
 * past the limit, and a line of unknown start stays unknown. */
static uint32_t line_grow(uint32_t line_len, uint32_t n)
{
	if (line_len > TELNET_LINE_MAX)
		return line_len;
	return n > TELNET_LINE_MAX + 1 - line_len ? TELNET_LINE_MAX + 1 : line_len + n;
}

/* One 64-byte block as bit masks, bit i for byte i: ends of line, NULs, IACs and high bytes;
 * apart, bytes >= 0xf0 (f0: what may follow an IAC to make a command: SE..SB, a verb, IAC). */
struct block {
	uint64_t eol, nul, iac, high;
};

#define BLOCK 64

/* The low @n bits (n <= 64). */
static inline uint64_t below(uint32_t n)
{
	return n >= 64 ? ~0ull : (1ull << n) - 1;
}

/* block_sse2() and block_avx2(): the masks of one block but f0, from 16- or 32-byte vectors;
 * block_sse2_f0() and block_avx2_f0(): its f0 mask, asked for only when the block holds an
 * IAC (few do: the compares it saves were a fifth of the block's cost). */
#define BLOCK_MASKS(name, attr, vec_t, width, load, eq, or, max, movemask, set1)                             \
	attr static inline __attribute__((always_inline)) void name(const uint8_t *b, struct block *k)        \
	{                                                                                                    \
		*k = (struct block){ 0 };                                                                    \
		_Pragma("GCC unroll 4") for (unsigned q = 0; q < BLOCK / (width); q++) {                     \
			vec_t v = load((const vec_t *)(const void *)(b + (width) * q));                      \
			unsigned at = (width) * q;                                                           \
			k->eol |= (uint64_t)(uint32_t)movemask(or(eq(v, set1('\r')), eq(v, set1('\n')))) << at; \
			k->nul |= (uint64_t)(uint32_t)movemask(eq(v, set1(0))) << at;                       \
			k->iac |= (uint64_t)(uint32_t)movemask(eq(v, set1((char)TN_IAC))) << at;            \
			k->high |= (uint64_t)(uint32_t)movemask(v) << at;                                   \
		}                                                                                            \
	}                                                                                                    \
	attr static inline __attribute__((always_inline)) uint64_t name##_f0(const uint8_t *b)                \
	{                                                                                                    \
		uint64_t f0 = 0;                                                                             \
		_Pragma("GCC unroll 4") for (unsigned q = 0; q < BLOCK / (width); q++) {                     \
			vec_t v = load((const vec_t *)(const void *)(b + (width) * q));                      \
			f0 |= (uint64_t)(uint32_t)movemask(eq(max(v, set1((char)TN_SE)), v)) << ((width) * q); \
		}                                                                                            \
		return f0;                                                                                   \
	}
BLOCK_MASKS(block_sse2, , __m128i, 16, _mm_loadu_si128, _mm_cmpeq_epi8, _mm_or_si128, _mm_max_epu8, _mm_movemask_epi8,
	    _mm_set1_epi8)
BLOCK_MASKS(block_avx2, __attribute__((target("avx2"))), __m256i, 32, _mm256_loadu_si256, _mm256_cmpeq_epi8,
	    _mm256_or_si256, _mm256_max_epu8, _mm256_movemask_epi8, _mm256_set1_epi8)
#undef BLOCK_MASKS

static inline __attribute__((always_inline)) uint32_t popcount_swar(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (uint32_t)((x * 0x0101010101010101ull) >> 56);
}

__attribute__((target("popcnt"))) static inline __attribute__((always_inline)) uint32_t popcount_hw(uint64_t x)
{
	return (uint32_t)__builtin_popcountll(x);
}

/* The counting of telnet_count() in blocks of 64 bytes from its data state, up to the first
 * IAC that starts a command (the byte parser takes it) or the last whole block; returns the
 * bytes consumed. The rules are telnet_text_byte()'s, applied per block: ends of line and
 * NULs are walked by their bits, and a block of plain text costs two loads, a few compares
 * and a popcount (test-sig pins every width to a byte-at-a-time model). Inlined into one
 * function per instruction set. */
static inline __attribute__((always_inline)) uint32_t blocks_walk(struct sig_dir_state *d, const uint8_t *b,
								  uint32_t n, void (*load)(const uint8_t *, struct block *),
								  uint64_t (*load_f0)(const uint8_t *),
								  uint32_t (*pop)(uint64_t))
{
	uint32_t i = 0, high = 0, line = d->line_len, lines = 0, shorts = 0;

	if (n < BLOCK || n > UINT32_MAX - d->text_bytes)
		return 0; /* a short tail, or near saturation: byte by byte */
	while (n - i >= BLOCK) {
		struct block k;

		load(b + i, &k);
		/* An IAC followed by a byte below SE is no command: the parser counts both as
		 * data (a lone IAC is the data byte 255), so only the other IACs stop the block. */
		uint64_t cmd = k.iac ? k.iac & (load_f0(b + i) >> 1 | 1ull << (BLOCK - 1)) : 0;
		if (!(k.eol | k.nul | cmd)) { /* plain text */
			high += pop(k.high);
			line = line_grow(line, BLOCK);
			i += BLOCK;
			continue;
		}
		uint32_t lim = cmd ? (uint32_t)__builtin_ctzll(cmd) : BLOCK; /* before the command: all text */
		uint64_t keep = below(lim);
		uint64_t em = k.eol & keep, zm = k.nul & keep;

		high += pop(k.high & keep);
		if (!em) { /* the line goes on: NULs do not lengthen it */
			line = line_grow(line, lim - (zm ? pop(zm) : 0));
		} else if (!zm) {
			/* The first end of line closes the line carried in; every later one that
			 * follows a text byte closes a line shorter than the block, so at most 80
			 * bytes: a short one. */
			uint32_t first = (uint32_t)__builtin_ctzll(em), last = 63 - (uint32_t)__builtin_clzll(em);
			uint64_t after_text = (~k.eol & keep) << 1;
			uint32_t ended;

			line = line_grow(line, first);
			if (line != LINE_UNKNOWN && line > 0) {
				lines++;
				shorts += line <= TELNET_LINE_MAX;
			}
			ended = pop(em & after_text) - (uint32_t)(after_text >> first & 1);
			lines += ended;
			shorts += ended;
			line = lim - last - 1;
		} else { /* ends of line and NULs: piece by piece */
			uint32_t from = 0;

			for (; em; em &= em - 1) {
				uint32_t j = (uint32_t)__builtin_ctzll(em);
				uint64_t piece = zm & below(j) & ~below(from);

				line = line_grow(line, j - from - (piece ? pop(piece) : 0));
				if (line != LINE_UNKNOWN && line > 0) {
					lines++;
					shorts += line <= TELNET_LINE_MAX;
				}
				line = 0;
				from = j + 1;
			}
			line = line_grow(line, lim - from - pop(zm & keep & ~below(from)));
		}
		i += lim;
		if (lim < BLOCK)
			break;
	}
	d->text_bytes += i;
	d->ascii7 += i - high;
	d->lines += lines;
	d->short_lines += shorts;
	d->line_len = (uint8_t)line;
	return i;
}

static uint32_t telnet_blocks_sse2(struct sig_dir_state *d, const uint8_t *b, uint32_t n)
{
	return blocks_walk(d, b, n, block_sse2, block_sse2_f0, popcount_swar);
}

__attribute__((target("avx2,popcnt"))) static uint32_t telnet_blocks_avx2(struct sig_dir_state *d, const uint8_t *b,
									   uint32_t n)
{
	return blocks_walk(d, b, n, block_avx2, block_avx2_f0, popcount_hw);
}
#else
#define SIG_VECTOR_BEST 0
#endif

/* The widest block counting this CPU has, or less (sig_vector_cap()); -1 until first asked. */
static _Atomic int vector_level = -1;

static int vector_supported(void)
{
#if SIG_VECTOR_BEST == 2
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") ? 2 : 1;
#else
	return 0;
#endif
}

int sig_vector_cap(int level)
{
	int best = vector_supported();

	atomic_store_explicit(&vector_level, level < best ? (level < 0 ? 0 : level) : best, memory_order_relaxed);
	return atomic_load_explicit(&vector_level, memory_order_relaxed);
}

/* Whole blocks of text from the data state; 0 when the byte path must take the rest. */
static uint32_t telnet_blocks(struct sig_dir_state *d, const uint8_t *b, uint32_t n)
{
	int level = atomic_load_explicit(&vector_level, memory_order_relaxed);

	if (level < 0)
		level = sig_vector_cap(INT32_MAX);
#if SIG_VECTOR_BEST == 2
	if (level == 2)
		return telnet_blocks_avx2(d, b, n);
	if (level == 1)
		return telnet_blocks_sse2(d, b, n);
#endif
	(void)d, (void)b, (void)n;
	return 0;
}

/* Counts a packet's content for telnet-sig, over the connection's whole life and in both
 * directions (sec. 4.3 tests "the bytes" and "the lines" of the connection).
 *
 * Telnet commands are left out of the counts altogether, neither 7-bit nor not: IAC
 * WILL/WONT/DO/DONT <option> (3 bytes) and IAC <SE..SB> (2 bytes) are protocol framing, not
 * text. Counted raw, a login's opening negotiation is two thirds non-7-bit, and when the
 * flow table only sees a connection's first packets it would fail the 75% test; left out,
 * padding binary data with do-nothing options (sec. 2.4) cannot dilute the test either.
 * IAC IAC is one data byte 255 (not 7-bit); IAC before anything else is not a command, so
 * the IAC counts as a data byte. Subnegotiation parameters (terminal type, speed) count as
 * content: they are 7-bit. Bytes not captured, or a sequence gap, leave the parser at data
 * and the current line of unknown length, not counted. */
static void telnet_count(struct sig_dir_state *d, const struct sig_packet *p, const uint8_t *b,
			 uint32_t caplen)
{
	if (!p->in_order) {
		d->telnet_cmd = TN_DATA;
		d->line_len = LINE_UNKNOWN;
	}
	for (uint32_t i = 0; i < caplen; i++) {
		if (d->telnet_cmd == TN_DATA && (i += telnet_blocks(d, b + i, caplen - i)) >= caplen)
			break;
		uint8_t c = b[i];

		if (d->telnet_cmd == TN_DATA && !telnet_special[c]) {
			uint32_t ascii, n = plain_run(b + i, caplen - i, &ascii);
			telnet_text_run(d, b + i, n, ascii);
			i += n - 1;
			continue;
		}
		switch (d->telnet_cmd) {
		case TN_AFTER_IAC:
			if (c >= TN_WILL && c <= TN_DONT) {
				d->telnet_cmd = TN_AFTER_VERB;
				continue;
			}
			d->telnet_cmd = TN_DATA;
			if (c >= TN_SE && c <= TN_SB)
				continue;
			telnet_text_byte(d, TN_IAC); /* IAC IAC, or a lone IAC */
			if (c == TN_IAC)
				continue;
			break;
		case TN_AFTER_VERB: /* the option code */
			d->telnet_cmd = TN_DATA;
			continue;
		default:
			if (c == TN_IAC) {
				d->telnet_cmd = TN_AFTER_IAC;
				continue;
			}
			break;
		}
		telnet_text_byte(d, c);
	}
	if (caplen < p->len) {
		d->telnet_cmd = TN_DATA;
		d->line_len = LINE_UNKNOWN;
	}
}

/* Sec. 4.3's tests over both directions: >= 75% of the content bytes 7-bit ASCII and >= 50%
 * of the lines at most 80 bytes. A line still open counts as long once it is past 80 bytes;
 * at the end (@final) an open line counts either way, so that a "login: " prompt is a line.
 *
 * The paper decides on the whole connection. To report while the connection is still
 * running, sig_packet() also asks before the end, but only once each direction has sent a
 * complete line and three lines were seen in all: after sec. 5.4, which judged only Telnet
 * connections where the client sent >= 2 lines and the server >= 1 (whichever side is which
 * in a partial connection). At the end there is no such minimum beyond one line: the flow
 * table may only have seen the first packets (the kernel queues those), and what was seen
 * is all there is to judge. */
static bool telnet_holds(const struct sig_state *s, bool final)
{
	uint64_t text = 0, ascii = 0, lines = 0, shorts = 0;

	if (!final && (s->dir[0].lines == 0 || s->dir[1].lines == 0 ||
		       (uint64_t)s->dir[0].lines + s->dir[1].lines < TELNET_EARLY_LINES))
		return false;
	for (int i = 0; i < 2; i++) {
		const struct sig_dir_state *d = &s->dir[i];

		text += d->text_bytes;
		ascii += d->ascii7;
		lines += d->lines;
		shorts += d->short_lines;
		if (d->line_len == LINE_UNKNOWN || d->line_len == 0)
			continue;
		if (d->line_len > TELNET_LINE_MAX) {
			lines++;
		} else if (final) {
			lines++;
			shorts++;
		}
	}
	return lines > 0 && ascii * 4 >= text * 3 && shorts * 2 >= lines;
}

static struct sig_hit *telnet_claim(struct sig_state *s, struct hits *h)
{
	static const char *const verb[4] = { "WILL", "WONT", "DO", "DONT" };
	struct sig_hit *hit = hit_claim(s, h, SIG_TELNET, SIG_STRONG, s->telnet_dir);
	const char *v;
	size_t o;

	if (!hit)
		return NULL;
	/* "IAC DO 24": the connection's first negotiation, the option in decimal as in the
	 * RFCs; just "IAC DO" if its option byte was not captured. */
	v = verb[(s->telnet_ev[1] - TN_WILL) & 3];
	memcpy(hit->evidence, "IAC ", 4);
	memcpy(hit->evidence + 4, v, strlen(v));
	o = 4 + strlen(v);
	if (s->telnet_ev_len == 3) {
		uint8_t opt = s->telnet_ev[2];

		hit->evidence[o++] = ' ';
		if (opt >= 100)
			hit->evidence[o++] = (char)('0' + opt / 100);
		if (opt >= 10)
			hit->evidence[o++] = (char)('0' + opt / 10 % 10);
		hit->evidence[o++] = (char)('0' + opt % 10);
	}
	hit->evidence[o] = '\0';
	return hit;
}

/* Sec. 4.3: the first two bytes of a packet, in either direction and at any point of the
 * connection, are IAC WILL/WONT/DO/DONT. */
static void telnet_packet(struct sig_state *s, const struct sig_packet *p, const uint8_t *b,
			  uint32_t caplen, struct hits *h)
{
	struct sig_dir_state *d = &s->dir[p->dir];

	if (caplen >= 2 && b[0] == TN_IAC && b[1] >= TN_WILL && b[1] <= TN_DONT) {
		if (!s->telnet_ev_len) {
			s->telnet_ev_len = caplen >= 3 ? 3 : 2;
			memcpy(s->telnet_ev, b, s->telnet_ev_len);
			s->telnet_dir = (uint8_t)p->dir;
		}
	}
	if (s->fired & (1u << SIG_TELNET))
		return; /* decided: no need to count on */
	telnet_count(d, p, b, caplen);
	if (s->telnet_ev_len && telnet_holds(s, false))
		telnet_claim(s, h);
}

int sig_packet(struct sig_state *s, const struct sig_packet *p, struct sig_hit *out, int max)
{
	struct hits h = { .out = out, .max = out && max > 0 ? max : 0 };
	struct sig_dir_state *d;
	const uint8_t *b;
	uint32_t caplen, nth;

	if (!s || !p || (p->dir != 0 && p->dir != 1))
		return -EINVAL;
	/* A pure ACK carries nothing to match; a retransmission repeats bytes already judged,
	 * and counting it again would double an SSH banner or an rlogin NUL. */
	if (p->len == 0 || p->retransmission)
		return 0;
	d = &s->dir[p->dir];
	b = p->payload;
	caplen = b ? (p->caplen < p->len ? p->caplen : p->len) : 0; /* caplen > len is a lie */
	nth = d->data_packets;

	if (nth == 0) {
		sig_first_packet(s, p, b, caplen, &h);
		/* for rlogin-sig's server test: the flow's first byte, unless a gap hid it */
		d->have_first = caplen > 0 && p->in_order ? FIRST_SEEN : FIRST_LOST;
		d->first_nul = d->have_first == FIRST_SEEN && b[0] == 0;
	}
	/* The prompt opens the server's talk: its first packet, or the first prompt within the
	 * server's opening text (dash sends "sh: 0: " and "can't access tty; ...\n# " in packets
	 * of their own) before the client said anything. A prompt after the client spoke (su)
	 * is weak. */
	const struct sig_dir_state *peer = &s->dir[p->dir ^ 1];
	sig_root(s, p, b, caplen,
		 nth == 0 || (nth <= 8 && d->bytes <= 128 && !d->prompted && peer->data_packets == 0), &h);
	sig_napster(s, p, b, caplen, nth, &h);
	telnet_packet(s, p, b, caplen, &h);

	/* rlogin-sig: the client's prolog is scanned (both flows in a partial connection) unless
	 * the server has already answered with something other than NUL. */
	if (!(s->fired & (1u << SIG_RLOGIN))) {
		const struct sig_dir_state *other = &s->dir[!p->dir];
		bool refused = other->have_first == FIRST_LOST || (other->have_first == FIRST_SEEN && !other->first_nul);

		if ((p->dir == 0 || !p->initiator_known) && !refused)
			rlogin_scan(d, p, b, caplen);
		else if (refused)
			rlogin_text_free(d); /* this prolog can no longer make a hit */
		rlogin_decide(s, p->initiator_known, &h);
	}

	if (d->data_packets < UINT8_MAX)
		d->data_packets++;
	d->bytes = caplen > (uint32_t)(UINT8_MAX - d->bytes) ? UINT8_MAX : (uint8_t)(d->bytes + caplen);
	return h.n;
}

int sig_finish(struct sig_state *s, struct sig_hit *out, int max)
{
	struct hits h = { .out = out, .max = out && max > 0 ? max : 0 };

	if (!s)
		return -EINVAL;
	/* Sec. 4.3: a connection that negotiated is telnet if its content passes the tests; one
	 * that negotiated but fails them, or never negotiated, is not. */
	if (s->telnet_ev_len && !(s->fired & (1u << SIG_TELNET)) && telnet_holds(s, true))
		telnet_claim(s, &h);
	return h.n;
}

void sig_release(struct sig_state *s)
{
	if (!s)
		return;
	rlogin_text_free(&s->dir[0]);
	rlogin_text_free(&s->dir[1]);
}
