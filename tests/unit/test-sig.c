/* test-sig.c - the protocol signatures of Zhang & Paxson sec. 4 on real-looking byte streams. */
#include <errno.h>
#include <stdint.h>

#include "detect/sig.h"
#include "tap.h"

/* A string literal and its length, embedded NULs included. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* CHECK_EQ evaluates its operands twice: calls with side effects go through this. */
#define CHECK_RET(call, want, what)                     \
	do {                                            \
		long long r_ = (call);                  \
		CHECK_EQ(r_, (want), what);             \
	} while (0)

static struct sig_hit hits[SIG_COUNT];
static int nhits;

/* Feeds @tmpl with a payload copied to a heap block of exactly the captured size, so that
 * AddressSanitizer reports any read past caplen. */
static int feed_packet(struct sig_state *s, const struct sig_packet *tmpl, const void *data, size_t have)
{
	struct sig_packet p = *tmpl;
	uint8_t *copy = malloc(have ? have : 1);

	if (!copy)
		abort();
	if (have)
		memcpy(copy, data, have);
	p.payload = have ? copy : NULL;
	memset(hits, 0, sizeof(hits));
	nhits = sig_packet(s, &p, hits, SIG_COUNT);
	free(copy);
	return nhits;
}

/* One packet with payload [data, len), @caplen of it captured. */
static int feed_x(struct sig_state *s, int dir, const void *data, size_t len, size_t caplen, bool known,
		  bool in_order, bool retrans)
{
	struct sig_packet p = { .dir = dir, .initiator_known = known, .caplen = (uint32_t)caplen,
				.len = (uint32_t)len, .in_order = in_order, .retransmission = retrans };

	return feed_packet(s, &p, data, caplen < len ? caplen : len);
}

static int feed(struct sig_state *s, int dir, const void *data, size_t len)
{
	return feed_x(s, dir, data, len, len, true, true, false);
}

static int feed_partial(struct sig_state *s, int dir, const void *data, size_t len)
{
	return feed_x(s, dir, data, len, len, false, true, false);
}

static int feed_cap(struct sig_state *s, int dir, const void *data, size_t len, size_t caplen)
{
	return feed_x(s, dir, data, len, caplen, true, true, false);
}

static int finish(struct sig_state *s)
{
	memset(hits, 0, sizeof(hits));
	nhits = sig_finish(s, hits, SIG_COUNT);
	return nhits;
}

/* Forgets a connection: what the state holds on the heap, then the state. */
static void reset(struct sig_state *s)
{
	sig_release(s);
	memset(s, 0, sizeof(*s));
}

/* The hit of detector @d among the last call's hits, or NULL. */
static const struct sig_hit *found(enum sig_detector d)
{
	for (int i = 0; i < nhits && i < SIG_COUNT; i++)
		if (hits[i].detector == d)
			return &hits[i];
	return NULL;
}

static const char *ev(enum sig_detector d)
{
	const struct sig_hit *h = found(d);

	return h ? h->evidence : "(no hit)";
}

/* xorshift64*: deterministic, so a failure replays. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static void test_names(void)
{
	static const char *const want[SIG_COUNT] = { "ssh-sig", "rlogin-sig", "telnet-sig", "ftp-sig",
						     "root-sig", "napster-sig", "gnutella-sig" };

	for (int d = 0; d < SIG_COUNT; d++)
		CHECK_STR(sig_name((enum sig_detector)d), want[d], "sig_name");
	CHECK_STR(sig_name(SIG_COUNT), "?", "sig_name out of range");
}

static void test_root_prompts(void)
{
	struct sig_state s = { 0 };

	CHECK_RET(feed(&s, 1, S("sh: 0: can't access tty; job control turned off\n# ")), 1, "root: dash without a tty");
	CHECK(found(SIG_ROOT) && found(SIG_ROOT)->strength == SIG_STRONG, "root: dash prompt, strong");
	CHECK_STR(ev(SIG_ROOT), "# ", "root: the evidence is the prompt line");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("sh: 0: can't access tty; job control turned off\n")), 0, "root: the warning alone");
	CHECK_RET(feed(&s, 1, S("# ")), 1, "root: the prompt in the next packet");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("sh: 0: ")), 0, "root: dash's first write");
	CHECK_RET(feed(&s, 1, S("can't access tty; job control turned off\n# ")), 1, "root: ... its second, with the prompt");
	CHECK(found(SIG_ROOT) && found(SIG_ROOT)->strength == SIG_STRONG, "root: strong across dash's writes");
	CHECK(found(SIG_ROOT) && found(SIG_ROOT)->strength == SIG_STRONG, "root: still the opening of the server's talk");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("root@victim:/# ")), 1, "root: bash prompt");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("# Summary # ")), 0, "root: prose ending in '# ' is no prompt");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("\x01\x02# ")), 0, "root: binary ending in '# ' is no prompt");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("user@host:~$ ")), 0, "root: a user's $ prompt is not root");
	reset(&s);
}

static void test_ssh(void)
{
	struct sig_state s = { 0 };

	/* OpenSSH server greets first; the client answers with its own banner */
	CHECK_RET(feed(&s, 1, S("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")), 1, "ssh: server banner hits");
	CHECK(found(SIG_SSH) && found(SIG_SSH)->strength == SIG_STRONG && found(SIG_SSH)->dir == 1,
	      "ssh: strong, dir 1");
	CHECK_STR(ev(SIG_SSH), "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "ssh: evidence is the banner");
	CHECK_RET(feed(&s, 0, S("SSH-2.0-OpenSSH_9.6\r\n")), 0, "ssh: client banner does not fire twice");
	CHECK_RET(feed(&s, 0, S("SSH-2.0-OpenSSH_9.6\r\n")), 0, "ssh: nor a repeat");

	/* A client banner alone (ssh pointed at a web server) is no SSH server: no hit. */
	reset(&s);
	CHECK_RET(feed(&s, 0, S("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n")), 0, "ssh: a client banner alone does not hit");
	CHECK_RET(feed(&s, 1, S("HTTP/1.0 400 Bad request\r\n")), 0, "ssh: ... and the server is not SSH");

	/* Without the handshake either side may be the server: SSH 1.99, longer than 80 bytes */
	reset(&s);
	CHECK_RET(feed_partial(&s, 0, S("SSH-1.99-OpenSSH_3.9p1 a-comment-that-goes-on-and-on-and-on-and-on-and-on-and-on-"
			       "and-on-and-on\r\n")), 1, "ssh: SSH-1.99 banner of a partial connection hits");
	CHECK(found(SIG_SSH) && found(SIG_SSH)->dir == 0, "ssh: dir 0");
	CHECK_EQ(strlen(ev(SIG_SSH)), 80, "ssh: evidence cut at 80 bytes");
	CHECK(strncmp(ev(SIG_SSH), "SSH-1.99-OpenSSH_3.9p1 ", 23) == 0, "ssh: evidence starts with the banner");

	/* non-printable and backslash bytes are escaped */
	reset(&s);
	feed(&s, 1, S("SSH-2.0-x\\y\x01\r\n"));
	CHECK_STR(ev(SIG_SSH), "SSH-2.0-x\\x5cy\\x01", "ssh: escaped evidence");

	/* not in the first packet of the direction */
	reset(&s);
	CHECK_RET(feed(&s, 1, S("220 mail.example.org ESMTP\r\n")), 1, "ssh-neg: smtp greeting (an ftp-sig hit)");
	CHECK(!found(SIG_SSH), "ssh-neg: not ssh");
	CHECK_RET(feed(&s, 1, S("SSH-2.0-OpenSSH_9.2p1\r\n")), 0, "ssh-neg: banner in a later packet");
	CHECK(!(s.fired & (1u << SIG_SSH)), "ssh-neg: not fired");

	reset(&s);
	CHECK_RET(feed(&s, 0, S("SSH-3.0-future\r\n")), 0, "ssh-neg: protocol 3.x");
	CHECK_RET(feed(&s, 1, S("SSH-2")), 0, "ssh-neg: 5 bytes only");

	/* truncated captures: the signature must be within caplen */
	reset(&s);
	CHECK_RET(feed_cap(&s, 1, S("SSH-2.0-OpenSSH_9.2p1\r\n"), 5), 0, "ssh-trunc: caplen 5 < 6");
	reset(&s);
	CHECK_RET(feed_cap(&s, 1, S("SSH-2.0-OpenSSH_9.2p1\r\n"), 0), 0, "ssh-trunc: caplen 0");
	reset(&s);
	CHECK_RET(feed_cap(&s, 1, S("SSH-2.0-OpenSSH_9.2p1\r\n"), 10), 1, "ssh-trunc: caplen 10 holds the signature");
	CHECK_STR(ev(SIG_SSH), "SSH-2.0-Op", "ssh-trunc: evidence is what was captured");

	/* a retransmission is ignored entirely: it neither fires nor uses up the first packet */
	reset(&s);
	CHECK_RET(feed_x(&s, 1, S("SSH-2.0-OpenSSH_9.2p1\r\n"), 23, true, true, true), 0, "ssh-retrans: ignored");
	CHECK_EQ(s.dir[1].data_packets, 0, "ssh-retrans: not counted as a data packet");
	CHECK_RET(feed(&s, 1, S("SSH-2.0-OpenSSH_9.2p1\r\n")), 1, "ssh-retrans: the original still hits");
	reset(&s);
}

static void test_rlogin(void)
{
	struct sig_state s = { 0 };
	const struct sig_hit *h;

	/* the client sends its first NUL in its own packet (sec. 4.2), then the three strings */
	CHECK_RET(feed(&s, 0, S("\0")), 0, "rlogin: leading NUL");
	CHECK_RET(feed(&s, 0, S("alice\0bob\0xterm/38400\0")), 0, "rlogin: prolog, server not heard yet");
	CHECK_RET(feed(&s, 1, S("\0")), 1, "rlogin: server NUL decides");
	h = found(SIG_RLOGIN);
	CHECK(h && h->strength == SIG_STRONG && h->dir == 0, "rlogin: strong, client dir 0");
	CHECK_STR(ev(SIG_RLOGIN), "alice/bob/xterm/38400", "rlogin: evidence");
	CHECK_RET(feed(&s, 1, S("Last login: Mon Jan  8 10:00:00 from gw\r\n")), 0, "rlogin: no more hits");
	CHECK_RET(feed(&s, 0, S("\0alice\0bob\0xterm\0")), 0, "rlogin: once only");

	/* whole prolog in one packet; the server's NUL captured before it (reordered) */
	reset(&s);
	CHECK_RET(feed(&s, 1, S("\0")), 0, "rlogin: server NUL first");
	CHECK_RET(feed(&s, 0, S("\0root\0root\0vt100/9600\0")), 1, "rlogin: decided when the client completes");
	CHECK_STR(ev(SIG_RLOGIN), "root/root/vt100/9600", "rlogin: evidence");

	/* the prolog's evidence buffer lives only while the prolog is clean: here the flow
	 * began with NUL, so it exists; a rejected prolog frees it */
	reset(&s);
	feed(&s, 0, S("\0"));
	CHECK(s.dir[0].rlogin_text != NULL, "rlogin: a clean start holds a buffer for the evidence");
	feed(&s, 0, S("al\xe9" "ce\0"));
	CHECK(s.dir[0].rlogin_done && s.dir[0].rlogin_bad && s.dir[0].rlogin_text == NULL,
	      "rlogin: an 8-bit byte rejects the prolog and frees the buffer");
	reset(&s);
	feed(&s, 0, S("GET / HTTP/1.0\r\n\r\n"));
	CHECK(s.dir[0].rlogin_text == NULL, "rlogin: no buffer for a flow that does not start with NUL");

	/* without the buffer (no memory when the prolog began; here taken away by hand) the
	 * prolog is still judged, and the hit says its evidence was not kept */
	reset(&s);
	feed(&s, 0, S("\0"));
	sig_release(&s);
	feed(&s, 0, S("alice\0bob\0xterm\0"));
	CHECK_RET(feed(&s, 1, S("\0")), 1, "rlogin: no buffer, still found");
	CHECK_STR(ev(SIG_RLOGIN), "(prolog not kept: no memory)", "rlogin: no buffer, said so");

	/* control bytes are 7-bit and allowed, but quoted */
	reset(&s);
	feed(&s, 0, S("\0al\x01" "ce\0bob\0xterm\0"));
	CHECK_RET(feed(&s, 1, S("\0")), 1, "rlogin: control byte in a name");
	CHECK_STR(ev(SIG_RLOGIN), "al\\x01ce/bob/xterm", "rlogin: control byte quoted");

	/* partial connection: the prolog seen from dir 1 */
	reset(&s);
	feed_partial(&s, 1, S("\0"));
	feed_partial(&s, 1, S("alice\0bob\0xterm/38400\0"));
	CHECK_RET(feed_partial(&s, 0, S("\0")), 1, "rlogin-partial: either side may be the client");
	CHECK(found(SIG_RLOGIN) && found(SIG_RLOGIN)->dir == 1, "rlogin-partial: client is dir 1");

	/* with the initiator known only dir 0 is the client */
	reset(&s);
	feed(&s, 1, S("\0alice\0bob\0xterm/38400\0"));
	CHECK_RET(feed(&s, 0, S("\0")), 0, "rlogin-neg: prolog from the responder");

	/* negatives */
	reset(&s);
	feed(&s, 0, S("\0"));
	feed(&s, 0, S("al\xe9" "ce\0bob\0xterm/38400\0"));
	CHECK_RET(feed(&s, 1, S("\0")), 0, "rlogin-neg: non-7-bit byte");
	CHECK_EQ(s.dir[0].rlogin_bad != 0, 1, "rlogin-neg: prolog rejected");

	reset(&s);
	feed(&s, 0, S("\0"));
	feed(&s, 0, S("alice\0\0xterm/38400\0"));
	CHECK_RET(feed(&s, 1, S("\0")), 0, "rlogin-neg: empty server-user-name");

	reset(&s);
	feed(&s, 0, S("\0"));
	CHECK_RET(feed(&s, 0, S("\0bob\0xterm/38400\0")), 0, "rlogin-neg: empty string across packets");
	CHECK_RET(feed(&s, 1, S("\0")), 0, "rlogin-neg: ... no hit");

	reset(&s);
	feed(&s, 0, S("a\0alice\0bob\0xterm\0")); /* four clean NULs, but no leading one */
	CHECK_RET(feed(&s, 1, S("\0")), 0, "rlogin-neg: no leading NUL");

	reset(&s);
	feed(&s, 0, S("\0alice\0bob\0xterm/38400\0"));
	CHECK_RET(feed(&s, 1, S("Password: ")), 0, "rlogin-neg: server's first byte not NUL");
	CHECK_RET(feed(&s, 1, S("\0")), 0, "rlogin-neg: a later NUL does not count");

	reset(&s);
	feed(&s, 0, S("\0"));
	feed_x(&s, 0, S("alice\0bob\0xterm/38400\0"), 23, true, false, false);
	CHECK_RET(feed(&s, 1, S("\0")), 0, "rlogin-neg: sequence gap");

	reset(&s);
	feed(&s, 0, S("\0"));
	feed_cap(&s, 0, S("alice\0bob\0xterm/38400\0"), 8);
	CHECK_RET(feed(&s, 1, S("\0")), 0, "rlogin-trunc: caplen < len");
	CHECK_EQ(s.dir[0].rlogin_done, 1, "rlogin-trunc: scan ended");

	reset(&s);
	feed(&s, 0, S("\0"));
	feed_cap(&s, 0, S("alice\0bob\0xterm/38400\0"), 23);
	CHECK_RET(feed_cap(&s, 1, S("\0"), 0), 0, "rlogin-trunc: server byte not captured");

	/* the 128-byte bound: the fourth NUL at byte 129 is too late */
	{
		uint8_t big[160];

		memset(big, 'a', sizeof(big));
		big[0] = 0;
		big[20] = 0;
		big[40] = 0;
		big[128] = 0;
		reset(&s);
		feed(&s, 0, big, 129);
		CHECK_RET(feed(&s, 1, S("\0")), 0, "rlogin-neg: fourth NUL past 128 bytes");
		CHECK_EQ(s.dir[0].rlogin_scanned, 128, "rlogin-neg: scan stopped at 128");
		big[128] = 'a';
		big[127] = 0;
		reset(&s);
		feed(&s, 0, big, 128);
		CHECK_RET(feed(&s, 1, S("\0")), 1, "rlogin: fourth NUL at byte 128 is in time");
		CHECK_EQ(strlen(ev(SIG_RLOGIN)), 64, "rlogin: evidence truncated to the stored 64 bytes");
	}

	/* a retransmitted "\0" would make an empty string if it were counted */
	reset(&s);
	feed(&s, 0, S("\0"));
	CHECK_RET(feed_x(&s, 0, S("\0"), 1, true, true, true), 0, "rlogin-retrans: ignored");
	feed(&s, 0, S("alice\0bob\0xterm/38400\0"));
	CHECK_RET(feed(&s, 1, S("\0")), 1, "rlogin-retrans: still rlogin");
	reset(&s);
}

/* A Linux telnetd login: negotiation (sec. 4.3), banner, a character-mode client. */
static const struct {
	int dir;
	const char *data;
	size_t len;
} telnet_login[] = {
#define P(d, lit) { d, lit, sizeof(lit) - 1 }
	P(1, "\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27"),
	P(0, "\xff\xfb\x18\xff\xfb\x20\xff\xfc\x23\xff\xfb\x27"),
	P(1, "\xff\xfa\x20\x01\xff\xf0\xff\xfa\x27\x01\xff\xf0\xff\xfa\x18\x01\xff\xf0"),
	P(0, "\xff\xfa\x20\x00" "38400,38400" "\xff\xf0\xff\xfa\x27\x00\xff\xf0\xff\xfa\x18\x00" "XTERM" "\xff\xf0"),
	P(1, "\xff\xfb\x03\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x05\xff\xfd\x21"),
	P(0, "\xff\xfd\x03\xff\xfc\x01\xff\xfb\x1f\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0\xff\xfd\x05\xff\xfb\x21"),
	P(1, "\xff\xfb\x01"),
	P(1, "Debian GNU/Linux 12\r\n"),
	P(1, "host login: "),
	P(0, "a"), P(1, "a"), P(0, "l"), P(1, "l"), P(0, "i"), P(1, "i"), P(0, "c"), P(1, "c"),
	P(0, "e"), P(1, "e"), P(0, "\r\0"), P(1, "\r\n"),
	P(1, "Password: "),
	P(0, "s3cret\r\0"),
	P(1, "\r\nLinux host 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 x86_64\r\n"),
	P(1, "alice@host:~$ "),
	P(0, "id\r\0"),
#undef P
};

#define TELNET_NEGOTIATION 7 /* packets of telnet_login[] before the banner */
#define TELNET_PASSWORD 21   /* index of "Password: " */

static void test_telnet(void)
{
	size_t n = sizeof(telnet_login) / sizeof(telnet_login[0]);
	struct sig_state s = { 0 };
	int total = 0, at = -1;

	for (size_t i = 0; i < n; i++) {
		int r = feed(&s, telnet_login[i].dir, telnet_login[i].data, telnet_login[i].len);

		total += r;
		if (found(SIG_TELNET)) {
			at = (int)i;
			CHECK_STR(ev(SIG_TELNET), "IAC DO 24", "telnet: evidence is the first negotiation");
			CHECK(found(SIG_TELNET)->dir == 1 && found(SIG_TELNET)->strength == SIG_STRONG,
			      "telnet: strong, server's negotiation");
		}
	}
	CHECK_EQ(total, 1, "telnet: one hit over the login");
	CHECK(at >= TELNET_NEGOTIATION && at < TELNET_PASSWORD, "telnet: reported during the login (packet %d)", at);
	CHECK_RET(finish(&s), 0, "telnet: nothing more at the end");

	/* only the first packets seen (the kernel queues those): the end decides. Counted raw,
	 * these bytes are about 60% 7-bit; telnet commands are left out of the test. */
	reset(&s);
	for (size_t i = 0; i < TELNET_NEGOTIATION; i++)
		total = feed(&s, telnet_login[i].dir, telnet_login[i].data, telnet_login[i].len);
	CHECK_RET(feed(&s, 1, S("Ubuntu 22.04.3 LTS\r\nhost login: ")), 0, "telnet-early: too little to say yet");
	CHECK_RET(finish(&s), 1, "telnet-early: hit at the end");
	CHECK_STR(ev(SIG_TELNET), "IAC DO 24", "telnet-early: evidence");
	CHECK_RET(finish(&s), 0, "telnet-early: finish reports once");

	/* the option byte not captured: "IAC WILL" alone */
	reset(&s);
	feed_cap(&s, 0, S("\xff\xfb\x18\xff\xfb\x20"), 2);
	feed(&s, 1, S("login: "));
	CHECK_RET(finish(&s), 1, "telnet-trunc: negotiation of 2 captured bytes");
	CHECK_STR(ev(SIG_TELNET), "IAC WILL", "telnet-trunc: evidence without option");
	reset(&s);
	feed_cap(&s, 0, S("\xff\xfb\x18"), 1);
	feed(&s, 1, S("login: "));
	CHECK_RET(finish(&s), 0, "telnet-trunc: 1 captured byte is no negotiation");

	/* negotiation followed by binary data with short lines: fails the 7-bit test only */
	reset(&s);
	total = 0;
	total += feed(&s, 1, S("\xff\xfd\x18\xff\xfd\x20"));
	total += feed(&s, 0, S("\xff\xfb\x18\xff\xfb\x20"));
	for (int i = 0; i < 40; i++) {
		uint8_t buf[42];

		for (int j = 0; j < 40; j++)
			buf[j] = (uint8_t)(0x80 | (rnd() & 0x7e)); /* never IAC */
		buf[40] = '\r';
		buf[41] = '\n';
		total += feed(&s, i & 1, buf, sizeof(buf));
	}
	CHECK_EQ(total, 0, "telnet-neg: binary after negotiation, no hit during");
	CHECK_RET(finish(&s), 0, "telnet-neg: nor at the end");
	CHECK(s.dir[0].lines >= 20 && s.dir[0].short_lines == s.dir[0].lines, "telnet-neg: lines were short");

	/* negotiation followed by long lines: fails the line test only */
	reset(&s);
	total = feed(&s, 1, S("\xff\xfd\x18"));
	for (int i = 0; i < 10; i++) {
		char line[202];

		memset(line, 'x', 200);
		line[200] = '\r';
		line[201] = '\n';
		total += feed(&s, i & 1, line, sizeof(line));
	}
	CHECK_EQ(total, 0, "telnet-neg: long lines, no hit during");
	CHECK_RET(finish(&s), 0, "telnet-neg: nor at the end");

	/* text with negotiation only inside a packet: not at a packet start, no telnet-sig; the
	 * same connection with a packet that starts with one, at any point, is telnet */
	for (int later = 0; later < 2; later++) {
		reset(&s);
		total = feed(&s, 1, S("Debian GNU/Linux 12\r\nhost login: "));
		total += feed(&s, 0, S("alice\r\n"));
		total += feed(&s, 1, S("Password: \xff\xfd\x18"));
		total += feed(&s, 0, S("s3cret\r\n"));
		total += feed(&s, 1, S("Last login: today\r\n$ "));
		CHECK_EQ(total, 0, "telnet-neg: no hit without negotiation at a packet start");
		if (later) {
			CHECK_RET(feed(&s, 1, S("\xff\xfb\x01")), 1, "telnet: a later negotiation packet hits");
			CHECK_STR(ev(SIG_TELNET), "IAC WILL 1", "telnet: evidence of the later negotiation");
		} else {
			CHECK_RET(finish(&s), 0, "telnet-neg: nor at the end");
		}
	}

	/* retransmitted negotiation is ignored */
	reset(&s);
	feed_x(&s, 1, S("\xff\xfd\x18"), 3, true, true, true);
	feed(&s, 1, S("login: "));
	CHECK_RET(finish(&s), 0, "telnet-retrans: a retransmitted negotiation is not seen");
	reset(&s);
}

static void test_ftp(void)
{
	struct sig_state s = { 0 };

	feed(&s, 0, S("")); /* a pure ACK: nothing */
	CHECK_RET(feed(&s, 1, S("220 ProFTPD Server ready\r\n")), 1, "ftp: ProFTPD greeting");
	CHECK(found(SIG_FTP) && found(SIG_FTP)->dir == 1 && found(SIG_FTP)->strength == SIG_STRONG,
	      "ftp: strong, dir 1");
	CHECK_STR(ev(SIG_FTP), "220 ProFTPD Server ready", "ftp: evidence is the first line");
	feed(&s, 0, S("USER anonymous\r\n"));
	CHECK_RET(feed(&s, 1, S("220 again\r\n")), 0, "ftp: once");

	reset(&s);
	CHECK_RET(feed(&s, 1, S("220-Welcome to the archive\r\n220-Be nice\r\n220 \r\n")), 1, "ftp: multi-line 220-");
	CHECK_STR(ev(SIG_FTP), "220-Welcome to the archive", "ftp: first line only");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("421 Too many users\r\n")), 1, "ftp: 421");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n")), 1, "ftp: SMTP looks alike");

	/* negatives */
	reset(&s);
	CHECK_RET(feed(&s, 0, S("220 ProFTPD Server ready\r\n")), 0, "ftp-neg: 220 as the client's data");
	reset(&s);
	feed(&s, 1, S("HTTP/1.1 200 OK\r\n"));
	CHECK_RET(feed(&s, 1, S("220 ProFTPD Server ready\r\n")), 0, "ftp-neg: server's second packet");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("2200 x\r\n")), 0, "ftp-neg: 2200");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("226 Transfer complete\r\n")), 0, "ftp-neg: 226");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("220")), 0, "ftp-neg: 3 bytes");
	reset(&s);
	CHECK_RET(feed_cap(&s, 1, S("220 ProFTPD Server ready\r\n"), 3), 0, "ftp-trunc: caplen 3");
	reset(&s);
	CHECK_RET(feed_cap(&s, 1, S("220 ProFTPD Server ready\r\n"), 4), 1, "ftp-trunc: caplen 4 holds it");
	CHECK_STR(ev(SIG_FTP), "220 ", "ftp-trunc: evidence as captured");

	/* partial connection: the first packet of either direction */
	reset(&s);
	CHECK_RET(feed_partial(&s, 0, S("220 ProFTPD Server ready\r\n")), 1, "ftp-partial: dir 0 first packet");
	CHECK(found(SIG_FTP) && found(SIG_FTP)->dir == 0, "ftp-partial: dir 0");
	reset(&s);
	feed_partial(&s, 0, S("USER ftp\r\n"));
	CHECK_RET(feed_partial(&s, 0, S("220 ProFTPD Server ready\r\n")), 0, "ftp-partial: not a second packet");

	reset(&s);
	CHECK_RET(feed_x(&s, 1, S("220 ProFTPD\r\n"), 13, true, true, true), 0, "ftp-retrans: ignored");
	reset(&s);
}

static void test_root(void)
{
	struct sig_state s = { 0 };

	feed(&s, 0, S("")); /* nothing */
	CHECK_RET(feed(&s, 1, S("# ")), 1, "root: server's first packet is \"# \"");
	CHECK(found(SIG_ROOT) && found(SIG_ROOT)->strength == SIG_STRONG && found(SIG_ROOT)->dir == 1,
	      "root: strong, dir 1");
	CHECK_STR(ev(SIG_ROOT), "# ", "root: evidence");
	feed(&s, 0, S("id\n"));
	CHECK_RET(feed(&s, 1, S("# ")), 0, "root: once");

	/* the filter form: a "# " prompt later in a session (su), weak, once */
	reset(&s);
	feed(&s, 1, S("alice@host:~$ "));
	feed(&s, 0, S("su -\n"));
	feed(&s, 1, S("Password: "));
	CHECK_RET(feed(&s, 1, S("# ")), 1, "root-weak: prompt after su");
	CHECK(found(SIG_ROOT) && found(SIG_ROOT)->strength == SIG_WEAK, "root-weak: weak");
	CHECK_RET(feed(&s, 1, S("# ")), 0, "root-weak: once");

	/* partial: the first packet of dir 0 counts as the server's */
	reset(&s);
	CHECK_RET(feed_partial(&s, 0, S("# ")), 1, "root-partial: first packet of dir 0");
	CHECK(found(SIG_ROOT) && found(SIG_ROOT)->strength == SIG_STRONG, "root-partial: strong");
	reset(&s);
	CHECK_RET(feed(&s, 0, S("# ")), 1, "root: client's first packet \"# \" is only the filter form");
	CHECK(found(SIG_ROOT) && found(SIG_ROOT)->strength == SIG_WEAK, "root: weak");

	/* negatives */
	reset(&s);
	CHECK_RET(feed(&s, 1, S("# \n")), 0, "root-neg: \"# \\n\" is 3 bytes");
	CHECK_RET(feed(&s, 1, S("#")), 0, "root-neg: \"#\"");
	CHECK_RET(feed(&s, 1, S("$ ")), 0, "root-neg: \"$ \"");
	reset(&s);
	CHECK_RET(feed_cap(&s, 1, S("# "), 1), 0, "root-trunc: caplen 1");
	reset(&s);
	CHECK_RET(feed_cap(&s, 1, S("# \n"), 2), 0, "root-trunc: len 3 caplen 2");
	reset(&s);
	feed(&s, 1, S("$ "));
	CHECK_RET(feed_x(&s, 1, S("# "), 2, true, true, true), 0, "root-retrans: ignored");

	/* caplen > len is clamped: the buffer holds len bytes only (ASan checks) */
	reset(&s);
	{
		struct sig_packet p = { .dir = 1, .initiator_known = true, .caplen = 100, .len = 2,
					.in_order = true };

		CHECK_RET(feed_packet(&s, &p, "# ", 2), 1, "root: caplen > len clamped to len");
	}
	reset(&s);
}

static void test_napster(void)
{
	struct sig_state s = { 0 };

	feed(&s, 1, S("1")); /* the uploader greets first */
	CHECK_RET(feed(&s, 0, S("GET")), 1, "napster: GET alone");
	CHECK(found(SIG_NAPSTER) && found(SIG_NAPSTER)->dir == 0, "napster: dir 0");
	CHECK_STR(ev(SIG_NAPSTER), "GET", "napster: evidence");
	CHECK_RET(feed(&s, 0, S("SEND")), 0, "napster: once");

	reset(&s);
	feed(&s, 0, S("x"));
	CHECK_RET(feed(&s, 0, S("SEND")), 1, "napster: SEND as second packet");
	CHECK_STR(ev(SIG_NAPSTER), "SEND", "napster: evidence");

	reset(&s);
	feed(&s, 0, S("x"));
	feed(&s, 0, S("y"));
	CHECK_RET(feed(&s, 0, S("GET")), 0, "napster-neg: third packet");
	reset(&s);
	CHECK_RET(feed(&s, 0, S("GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl/8.5.0\r\n\r\n")), 0,
		 "napster-neg: HTTP GET");
	CHECK_RET(feed(&s, 0, S("GETX")), 0, "napster-neg: GETX");
	reset(&s);
	CHECK_RET(feed(&s, 1, S("GET")), 0, "napster-neg: from the responder");
	reset(&s);
	CHECK_RET(feed_partial(&s, 1, S("GET")), 1, "napster-partial: either side");
	reset(&s);
	CHECK_RET(feed_cap(&s, 0, S("GET"), 2), 0, "napster-trunc: caplen 2");
	reset(&s);
	CHECK_RET(feed_cap(&s, 0, S("SEND"), 3), 0, "napster-trunc: caplen 3");
	reset(&s);
	CHECK_RET(feed_x(&s, 0, S("GET"), 3, true, true, true), 0, "napster-retrans: ignored");
	reset(&s);
}

static void test_gnutella(void)
{
	struct sig_state s = { 0 };

	CHECK_RET(feed(&s, 0, S("GNUTELLA CONNECT/0.4\n\n")), 1, "gnutella: CONNECT");
	CHECK(found(SIG_GNUTELLA) && found(SIG_GNUTELLA)->dir == 0, "gnutella: dir 0");
	CHECK_STR(ev(SIG_GNUTELLA), "GNUTELLA CONNECT/0.4", "gnutella: evidence is the line");
	CHECK_RET(feed(&s, 1, S("GNUTELLA OK\n\n")), 0, "gnutella: the reply does not fire again");

	reset(&s);
	CHECK_RET(feed(&s, 1, S("GNUTELLA OK\n\n")), 1, "gnutella: reply alone");
	reset(&s);
	feed(&s, 0, S("HELLO\n"));
	CHECK_RET(feed(&s, 0, S("GNUTELLA CONNECT/0.4\n\n")), 0, "gnutella-neg: second packet");
	reset(&s);
	CHECK_RET(feed(&s, 0, S("GNUTELLA")), 0, "gnutella-neg: no blank");
	reset(&s);
	CHECK_RET(feed_cap(&s, 0, S("GNUTELLA CONNECT/0.4\n\n"), 8), 0, "gnutella-trunc: caplen 8");
	reset(&s);
	CHECK_RET(feed_x(&s, 0, S("GNUTELLA CONNECT/0.4\n\n"), 22, true, true, true), 0, "gnutella-retrans");
	reset(&s);
}

static void test_api(void)
{
	struct sig_state s = { 0 };
	struct sig_packet p = { .dir = 0, .initiator_known = true, .payload = (const uint8_t *)"# ", .caplen = 2,
				.len = 2, .in_order = true };

	CHECK_RET(sig_packet(NULL, &p, hits, SIG_COUNT), -EINVAL, "api: NULL state");
	CHECK_RET(sig_packet(&s, NULL, hits, SIG_COUNT), -EINVAL, "api: NULL packet");
	CHECK_RET(sig_finish(NULL, hits, SIG_COUNT), -EINVAL, "api: NULL state at finish");
	p.dir = 2;
	CHECK_RET(sig_packet(&s, &p, hits, SIG_COUNT), -EINVAL, "api: dir 2");
	p.dir = -1;
	CHECK_RET(sig_packet(&s, &p, hits, SIG_COUNT), -EINVAL, "api: dir -1");

	/* NULL payload with a caplen: nothing is read */
	p.dir = 1;
	p.payload = NULL;
	CHECK_RET(sig_packet(&s, &p, hits, SIG_COUNT), 0, "api: NULL payload");
	CHECK_EQ(s.dir[1].data_packets, 1, "api: ... still a data packet");

	/* no room: the hit is not written and the detector not used up */
	reset(&s);
	p.payload = (const uint8_t *)"# ";
	CHECK_RET(sig_packet(&s, &p, hits, 0), 0, "api: max 0");
	CHECK_EQ(s.fired, 0, "api: nothing marked fired");
	CHECK_RET(sig_packet(&s, &p, NULL, SIG_COUNT), 0, "api: NULL out");
	CHECK_RET(sig_packet(&s, &p, hits, 1), 1, "api: later hit with room");
	CHECK(hits[0].detector == SIG_ROOT && hits[0].strength == SIG_WEAK, "api: the weak root hit");
	reset(&s);
}

/* Random packets on random connections: no crash, no read past caplen (ASan), no write past
 * max, every hit well formed and each detector at most once per connection. */
static void test_fuzz(void)
{
	static const char *const seeds[] = { "SSH-2.0-", "SSH-1.", "GNUTELLA ", "220 ", "421-", "# ", "GET",
					     "SEND", "\xff\xfd\x18", "\xff\xfb", "\0", "\0a\0b\0c\0", "\r\n" };
	int bad_ret = 0, dup = 0, bad_ev = 0, bad_det = 0, total = 0, conns = 0;
	struct sig_state s = { 0 };
	uint16_t seen = 0;
	int left = 0;

	for (int i = 0; i < 100000; i++) {
		uint8_t *buf;
		struct sig_hit *out;
		uint32_t len, caplen, have;
		int max, r;

		if (left-- <= 0) {
			struct sig_hit fin[SIG_COUNT];

			r = sig_finish(&s, fin, SIG_COUNT);
			for (int k = 0; k < r; k++) {
				if (seen & (1u << fin[k].detector))
					dup++;
				seen |= (uint16_t)(1u << fin[k].detector);
			}
			bad_ret += r < 0 || r > 1;
			reset(&s);
			seen = 0;
			left = (int)(rnd() % 40);
			conns++;
		}
		switch (rnd() % 4) {
		case 0: len = rnd() % 4; break;
		case 1: len = rnd() % 16; break;
		case 2: len = rnd() % 200; break;
		default: len = rnd() % 3000; break;
		}
		caplen = rnd() % 4 ? len : rnd() % (len + 8); /* sometimes short, sometimes > len */
		have = caplen < len ? caplen : len;
		buf = malloc(have ? have : 1);
		for (uint32_t j = 0; j < have; j++)
			buf[j] = rnd() % 3 ? (uint8_t)rnd() : (uint8_t)"\0\r\n\xff\xfb#  GS"[rnd() % 10];
		if (have && rnd() % 3 == 0) {
			const char *sd = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
			size_t sl = sd[0] ? strlen(sd) : 1 + rnd() % 2;

			memcpy(buf, sd, sl < have ? sl : have);
		}
		max = (int)(rnd() % (SIG_COUNT + 1));
		out = malloc(sizeof(*out) * (size_t)(max ? max : 1));
		struct sig_packet p = {
			.dir = (int)(rnd() & 1), .initiator_known = rnd() % 4 != 0,
			.payload = rnd() % 50 ? buf : NULL, .caplen = caplen, .len = len,
			.in_order = rnd() % 8 != 0, .retransmission = rnd() % 16 == 0,
		};
		r = sig_packet(&s, &p, out, max);
		if (r < 0 || r > max)
			bad_ret++;
		for (int k = 0; k < r && k < max; k++) {
			size_t el = strnlen(out[k].evidence, SIG_EVIDENCE_MAX);

			if ((unsigned)out[k].detector >= SIG_COUNT || (unsigned)out[k].strength > SIG_WEAK ||
			    (out[k].dir != p.dir && out[k].detector != SIG_RLOGIN && out[k].detector != SIG_TELNET)) {
				bad_det++;
				continue;
			}
			if (seen & (1u << out[k].detector))
				dup++;
			seen |= (uint16_t)(1u << out[k].detector);
			if (el == 0 || el >= SIG_EVIDENCE_MAX)
				bad_ev++;
			for (size_t c = 0; c < el; c++)
				if (out[k].evidence[c] < 0x20 || out[k].evidence[c] > 0x7e)
					bad_ev++;
		}
		if ((s.fired & seen) != seen || (s.fired & ~seen))
			bad_det++;
		total += r > 0 ? r : 0;
		free(out);
		free(buf);
	}
	CHECK_EQ(bad_ret, 0, "fuzz: return values within [0, max]");
	CHECK_EQ(dup, 0, "fuzz: each detector at most once per connection");
	CHECK_EQ(bad_det, 0, "fuzz: hits well formed, fired mask matches the hits");
	CHECK_EQ(bad_ev, 0, "fuzz: evidence printable, non-empty, NUL-terminated");
	CHECK(total > 200, "fuzz: the seeds produced hits (%d over %d connections)", total, conns);
	reset(&s);
}

/* telnet-sig's counts do not depend on how the bytes are cut into packets, nor on the width
 * of the blocks they are counted in: fed whole, a byte per packet (each byte alone, as the
 * counting was first written) and in random pieces, a stream of text, long lines, NULs, high bytes and telnet commands counts the
 * same. This pins the run-at-a-time fast path to the byte-at-a-time rules. */
#define TELNET_LONG 80 /* sec. 4.3: a longer line is long */

static void test_telnet_chunking(int level, uint32_t max_run)
{
	int width = sig_vector_cap(level);

	CHECK(width >= 0 && width <= level, "chunking: block width %d (asked for at most %d), runs of up to %u", width,
	      level, max_run);
	enum { N = 20000 };
	static uint8_t data[N];
	static const uint8_t pick[] = { 'a', 0x80, 0xfe, '\r', '\n', '\r', '\n', 0, 0xff, 0xfb, 0xfd, 0xf0, 0xfa };
	uint32_t x = 12345;

	/* Runs of 1 to @max_run plain bytes (any but NUL, CR, LF and IAC: text, high bytes, the
	 * telnet verbs) between single bytes of the kinds above: long runs make long lines and
	 * whole blocks of text, short ones several ends of line in a block. */
	for (size_t i = 0; i < N;) {
		x = x * 1103515245u + 12345u;
		if ((x >> 16) % 2 == 0) {
			data[i++] = pick[(x >> 20) % sizeof(pick)];
			continue;
		}
		for (size_t run = 1 + (x >> 17) % max_run; run && i < N; run--) {
			x = x * 1103515245u + 12345u;
			uint8_t c = (x >> 16) % 4 ? (uint8_t)(' ' + (x >> 20) % 95) : (uint8_t)(0x80 + (x >> 20) % 127);
			data[i++] = c == '\r' || c == '\n' || c == 0 || c == 0xff ? 'x' : c;
		}
	}
	data[0] = 'a'; /* no packet may start with IAC DO: telnet-sig would fire and stop counting */
	struct sig_state whole, bytes, pieces;
	memset(&whole, 0, sizeof(whole));
	memset(&bytes, 0, sizeof(bytes));
	memset(&pieces, 0, sizeof(pieces));
	feed(&whole, 0, data, N);
	for (size_t i = 0; i < N; i++)
		feed(&bytes, 0, data + i, 1);
	for (size_t i = 0, n; i < N; i += n) {
		x = x * 1103515245u + 12345u;
		n = 1 + (x >> 16) % 300;
		if (n > N - i)
			n = N - i;
		if (n >= 2 && data[i] == 0xff && data[i + 1] >= 0xfb && data[i + 1] <= 0xfe)
			n = 1; /* a piece starting with IAC WILL..DONT would be a negotiation */
		feed(&pieces, 0, data + i, n);
	}
	/* The rules of sec. 4.3 as written in sig.c's comments, a byte at a time: the model. */
	uint32_t m_bytes = 0, m_ascii = 0, m_lines = 0, m_short = 0, m_line = 0;
	int state = 0; /* 0 data, 1 after IAC, 2 after IAC and a verb */
	for (size_t i = 0; i < N; i++) {
		uint8_t c = data[i];
		uint8_t text[2];
		int nt = 0;
		if (state == 1) {
			state = 0;
			if (c >= 0xfb && c <= 0xfe)
				state = 2;
			else if (c < 0xf0 || c > 0xfa) { /* not SE..SB: the IAC was data */
				text[nt++] = 0xff;
				if (c != 0xff)
					text[nt++] = c;
			}
		} else if (state == 2) {
			state = 0;
		} else if (c == 0xff) {
			state = 1;
		} else {
			text[nt++] = c;
		}
		for (int k = 0; k < nt; k++) {
			m_bytes++;
			m_ascii += text[k] < 0x80;
			if (text[k] == '\r' || text[k] == '\n') {
				if (m_line > 0) {
					m_lines++;
					m_short += m_line <= 80;
				}
				m_line = 0;
			} else if (text[k] != 0) {
				m_line++;
			}
		}
	}
	const struct sig_dir_state *w = &whole.dir[0], *b = &bytes.dir[0], *p = &pieces.dir[0];
	CHECK(w->text_bytes == m_bytes && w->ascii7 == m_ascii && w->lines == m_lines && w->short_lines == m_short,
	      "whole, the counts follow the byte-at-a-time rules: %u/%u %u/%u %u/%u %u/%u", w->text_bytes, m_bytes,
	      w->ascii7, m_ascii, w->lines, m_lines, w->short_lines, m_short);
	CHECK(w->text_bytes > N / 2 && w->lines > 50 && w->short_lines > 0 &&
		      (max_run <= TELNET_LONG || w->short_lines < w->lines) && w->ascii7 < w->text_bytes,
	      "the stream has text, short (and with long runs, long) lines, high bytes (%u %u %u %u)", w->text_bytes,
	      w->ascii7, w->lines, w->short_lines);
	/* NUL is text but not part of a line: 80 letters around 16 NULs are a short line. */
	uint8_t line[98];
	struct sig_state nul;
	memset(&nul, 0, sizeof(nul));
	memset(line, 'A', 40), memset(line + 40, 0, 16), memset(line + 56, 'B', 40);
	line[96] = '\r', line[97] = '\n';
	feed(&nul, 0, line, sizeof(line));
	CHECK(nul.dir[0].lines == 1 && nul.dir[0].short_lines == 1 && nul.dir[0].text_bytes == 98 &&
		      nul.dir[0].ascii7 == 98, "NULs count as 7-bit text but not toward a line's length");
	CHECK(w->text_bytes == b->text_bytes && w->ascii7 == b->ascii7 && w->lines == b->lines &&
		      w->short_lines == b->short_lines && w->line_len == b->line_len && w->telnet_cmd == b->telnet_cmd,
	      "whole and byte by byte count the same: %u/%u %u/%u %u/%u %u/%u", w->text_bytes, b->text_bytes,
	      w->ascii7, b->ascii7, w->lines, b->lines, w->short_lines, b->short_lines);
	CHECK(w->text_bytes == p->text_bytes && w->ascii7 == p->ascii7 && w->lines == p->lines &&
		      w->short_lines == p->short_lines && w->line_len == p->line_len && w->telnet_cmd == p->telnet_cmd,
	      "and so do random pieces");
}

int main(void)
{
	test_names();
	/* every block width this CPU has (2 AVX2, 1 SSE2, 0 words), then the widest again */
	for (int level = 0; level <= 2; level++) {
		test_telnet_chunking(level, 120);
		test_telnet_chunking(level, 6);
	}
	sig_vector_cap(INT32_MAX);
	test_ssh();
	test_root_prompts();
	test_rlogin();
	test_telnet();
	test_ftp();
	test_root();
	test_napster();
	test_gnutella();
	test_api();
	test_fuzz();
	return tap_done();
}
