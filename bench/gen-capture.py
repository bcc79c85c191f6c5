#!/usr/bin/env python3
"""gen-capture.py - synthesise a large mixed capture for bench/engine.sh.

Writes a classic pcap (Ethernet, microsecond timestamps) of about N packets, the sessions
interleaved in capture time over about ten minutes:

  share  what
  ~25%   scans from many sources: SYN (RST or SYN-ACK back), FIN, NULL, XMAS, ACK (RST back),
         UDP (ICMP port unreachable back), 30-300 ports each
  ~40%   TCP connections with payload: an HTTP-like request, a response of 2-40 full segments,
         FIN both ways (ports 80, 8080, 443 and random high ones)
  ~15%   SSH-like sessions: banners, key exchange, then keystrokes (36- or 52-byte payloads at
         human intervals) and echoes; on 22, and on a few non-standard ports
   ~5%   telnet-like sessions: IAC negotiation, a login prompt, typing, a shell prompt; on 23
         and on non-standard ports
  ~15%   UDP: DNS-like queries and answers, NTP-like exchanges
  ~20%   of every kind above over IPv6 (2001:db8::/32); IPv4 uses 198.18.0.0/15

plus, with --traces DIR, the packets of every Ethernet pcap in DIR, moved into the timeline.

Checksums are left zero (nfsentry's decoder, like the kernel after its own checks, does not
verify them). Deterministic for a given --seed.

Usage: gen-capture.py [-n PACKETS] [--seed S] [--traces DIR] OUT.pcap
"""
import argparse
import glob
import heapq
import random
import struct
import sys

ETH_SRC, ETH_DST = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
DURATION_S = 600.0
SYN, FIN, RST, PSH, ACK, URG = 0x02, 0x01, 0x04, 0x08, 0x10, 0x20


def v4(i):
    return bytes((198, 18 + (i >> 16) % 2, (i >> 8) & 255, i & 255))


def v6(i):
    return b"\x20\x01\x0d\xb8" + struct.pack(">I", i >> 16) + b"\x00" * 6 + struct.pack(">H", (i & 0xffff) or 1)


class Host:
    __slots__ = ("addr", "six", "ttl", "ipid")

    def __init__(self, addr, six, ttl):
        self.addr, self.six, self.ttl, self.ipid = addr, six, ttl, 0


def ip(src, dst, proto, l4):
    if src.six:
        return b"\x86\xdd", struct.pack(">IHBB", 0x60000000, len(l4), proto, src.ttl) + src.addr + dst.addr + l4
    src.ipid = (src.ipid + 1) & 0xffff
    return b"\x08\x00", struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(l4), src.ipid, 0x4000, src.ttl, proto, 0) + \
        src.addr + dst.addr + l4


def frame(src, dst, proto, l4):
    et, pkt = ip(src, dst, proto, l4)
    return ETH_DST + ETH_SRC + et + pkt


TCP_OPTS_SYN = b"\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x03\x07"
TCP_OPTS_TS = b"\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x01"


def tcp(sp, dp, seq, ack, flags, payload=b"", opts=b"", win=64240):
    return struct.pack(">HHIIBBHHH", sp, dp, seq & 0xffffffff, ack & 0xffffffff, (5 + len(opts) // 4) << 4, flags,
                       win, 0, 0) + opts + payload


def udp(sp, dp, payload):
    return struct.pack(">HHHH", sp, dp, 8 + len(payload), 0) + payload


class Conn:
    """Both directions of one TCP connection, with sequence numbers kept."""

    def __init__(self, rng, c, s, cport, sport, opts=True):
        self.c, self.s, self.cp, self.sp = c, s, cport, sport
        self.seq = [rng.getrandbits(32), rng.getrandbits(32)]
        self.opts = opts

    def pkt(self, d, flags, payload=b"", opts=b""):
        a, b = (self.c, self.s) if d == 0 else (self.s, self.c)
        ap, bp = (self.cp, self.sp) if d == 0 else (self.sp, self.cp)
        if not opts and self.opts and not flags & SYN:
            opts = TCP_OPTS_TS
        f = frame(a, b, 6, tcp(ap, bp, self.seq[d], self.seq[1 - d] if flags & ACK else 0, flags, payload, opts))
        self.seq[d] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        return f

    def open(self, t, rtt):
        yield t, self.pkt(0, SYN, opts=TCP_OPTS_SYN)
        yield t + rtt, self.pkt(1, SYN | ACK, opts=TCP_OPTS_SYN)
        yield t + rtt * 1.5, self.pkt(0, ACK)

    def close(self, t, rtt):
        yield t, self.pkt(0, FIN | ACK)
        yield t + rtt, self.pkt(1, FIN | ACK)
        yield t + rtt * 1.5, self.pkt(0, ACK)


# --- session generators: each yields (time, frame) in time order ---------------------------

def scan(rng, t, scanner, victim):
    kind = rng.choice(["syn", "syn", "syn", "fin", "null", "xmas", "ack", "udp"])
    nports = rng.randint(30, 300)
    ports = rng.sample(range(1, 65536), nports)
    gap = rng.choice([0.0005, 0.002, 0.02, 0.3])   # nmap -T5 ... -T2
    rtt = rng.uniform(0.0002, 0.05)
    sport = rng.randint(33000, 60000)
    opened = set(rng.sample(ports, 2))
    for p in ports:
        if kind == "udp":
            yield t, frame(scanner, victim, 17, udp(sport, p, b""))
            quote = ip(scanner, victim, 17, udp(sport, p, b""))[1][:48]
            if victim.six:
                yield t + rtt, frame(victim, scanner, 58, struct.pack(">BBHI", 1, 4, 0, 0) + quote)
            else:
                yield t + rtt, frame(victim, scanner, 1, struct.pack(">BBHI", 3, 3, 0, 0) + quote)
        else:
            fl = {"syn": SYN, "fin": FIN, "null": 0, "xmas": FIN | PSH | URG, "ack": ACK}[kind]
            seq = rng.getrandbits(32)
            yield t, frame(scanner, victim, 6, tcp(sport, p, seq, 0, fl, opts=b"\x02\x04\x05\xb4" if fl == SYN else b"",
                                                   win=1024))
            if kind == "syn" and p in opened:
                yield t + rtt, frame(victim, scanner, 6, tcp(p, sport, 7, seq + 1, SYN | ACK, opts=TCP_OPTS_SYN))
                yield t + rtt * 1.2, frame(scanner, victim, 6, tcp(sport, p, seq + 1, 0, RST))
            elif kind != "ack":
                yield t + rtt, frame(victim, scanner, 6, tcp(p, sport, 0, seq + 1, RST | ACK, win=0))
            else:
                yield t + rtt, frame(victim, scanner, 6, tcp(p, sport, 0, 0, RST, win=0))
        t += gap * rng.uniform(0.5, 1.5)


def http(rng, t, client, server):
    sport = rng.choice([80, 80, 8080, 443, rng.randint(1024, 65000)])
    c = Conn(rng, client, server, rng.randint(32768, 60999), sport)
    rtt = rng.uniform(0.0003, 0.08)
    yield from c.open(t, rtt)
    t += rtt * 2
    req = b"GET /%d HTTP/1.1\r\nHost: example.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n" % rng.randint(0, 1 << 30)
    yield t, c.pkt(0, PSH | ACK, req)
    t += rtt
    body = bytes(rng.getrandbits(8) for _ in range(64)) * 22
    for i in range(rng.randint(2, 40)):
        yield t, c.pkt(1, ACK, body[:1448])
        if i % 2:
            yield t + rtt / 2, c.pkt(0, ACK)
        t += 0.0002
    yield from c.close(t + rtt, rtt)


def ssh(rng, t, client, server):
    sport = rng.choice([22, 22, 22, 22, 2222, rng.randint(1024, 65000)])
    c = Conn(rng, client, server, rng.randint(32768, 60999), sport)
    rtt = rng.uniform(0.0005, 0.06)
    yield from c.open(t, rtt)
    t += rtt * 2
    yield t, c.pkt(1, PSH | ACK, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    yield t + rtt, c.pkt(0, PSH | ACK, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    t += rtt * 2
    for n in (1080, 1200, 600, 400, 16):   # KEXINIT both ways, ECDH, NEWKEYS
        yield t, c.pkt(0, PSH | ACK, b"\x00" * n)
        yield t + rtt, c.pkt(1, PSH | ACK, b"\x00" * (n + 40))
        t += rtt * 2
    for _ in range(rng.randint(20, 150)):  # keystrokes: client 36 bytes, echo 36, ack
        t += rng.uniform(0.05, 0.6)
        yield t, c.pkt(0, PSH | ACK, b"\x01" * 36)
        yield t + rtt, c.pkt(1, PSH | ACK, b"\x02" * 36)
        yield t + rtt * 1.5, c.pkt(0, ACK)
        if rng.random() < 0.05:            # a command's output
            yield t + rtt * 2, c.pkt(1, PSH | ACK, b"\x03" * 1200)
    yield from c.close(t + 0.1, rtt)


def telnet(rng, t, client, server):
    sport = rng.choice([23, 23, 23, 2323, rng.randint(1024, 65000)])
    c = Conn(rng, client, server, rng.randint(32768, 60999), sport)
    rtt = rng.uniform(0.0005, 0.06)
    yield from c.open(t, rtt)
    t += rtt * 2
    yield t, c.pkt(1, PSH | ACK, b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27")
    yield t + rtt, c.pkt(0, PSH | ACK, b"\xff\xfb\x18\xff\xfb\x20\xff\xfc\x23\xff\xfc\x27")
    t += rtt * 2
    yield t, c.pkt(1, PSH | ACK, b"Debian GNU/Linux 12\r\nlogin: ")
    t += rtt
    for word in (b"root\r\n", b"hunter2\r\n", b"ls -l\r\n", b"cat /etc/passwd\r\n", b"exit\r\n"):
        for ch in word:
            t += rng.uniform(0.08, 0.4)
            yield t, c.pkt(0, PSH | ACK, bytes((ch,)))
            yield t + rtt, c.pkt(1, PSH | ACK, bytes((ch,)))
        yield t + rtt * 2, c.pkt(1, PSH | ACK, b"output line\r\n" * rng.randint(1, 8) + b"# ")
    yield from c.close(t + 0.1, rtt)


def udp_talk(rng, t, client, server):
    if rng.random() < 0.7:
        sp, dp, q, a = rng.randint(32768, 60999), 53, 40, 120   # DNS
    else:
        sp, dp, q, a = 123, 123, 48, 48                          # NTP
    rtt = rng.uniform(0.0005, 0.03)
    for _ in range(rng.randint(1, 6)):
        yield t, frame(client, server, 17, udp(sp, dp, b"\x11" * q))
        yield t + rtt, frame(server, client, 17, udp(dp, sp, b"\x22" * a))
        t += rng.uniform(0.01, 2.0)


# kind: (share of the packets, about how many packets one session has)
MIX = {scan: (0.25, 330), http: (0.40, 40), ssh: (0.15, 300), telnet: (0.05, 100), udp_talk: (0.15, 7)}


def trace_packets(path):
    """(relative time, frame) of an Ethernet pcap; None for other link types or formats."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    if struct.unpack(e + "I", data[20:24])[0] != 1:
        return None
    out, off, t0 = [], 24, None
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        ts = sec + frac / (1e9 if nano else 1e6)
        t0 = ts if t0 is None else t0
        out.append((ts - t0, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000000, help="packets, about")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--traces", help="also mix in every Ethernet pcap of this folder")
    ap.add_argument("out")
    a = ap.parse_args()
    rng = random.Random(a.seed)

    victims4 = [Host(v4(i), False, 64) for i in range(1, 9)]
    victims6 = [Host(v6(i), True, 64) for i in range(1, 9)]
    gens, nhost = [], 1000
    for g, (share, per) in MIX.items():
        for _ in range(max(1, int(a.n * share / per))):
            six = rng.random() < 0.2
            nhost += 1
            h = Host(v6(nhost) if six else v4(nhost), six, rng.choice([48, 52, 56, 64, 116, 128]))
            victim = rng.choice(victims6 if six else victims4)
            start = rng.uniform(0, DURATION_S)
            gens.append(g(random.Random(rng.getrandbits(64)), start, h, victim))
    if a.traces:
        for path in sorted(glob.glob(a.traces + "/*.pcap")):
            pk = trace_packets(path)
            if pk:
                off = rng.uniform(0, DURATION_S)
                gens.append(iter([(off + rt, fr) for rt, fr in pk]))

    t_base = 1767225600  # 2026-01-01
    n, last = 0, 0
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        w = f.write
        for ts, fr in heapq.merge(*gens, key=lambda x: x[0]):
            us = last = max(last, int((t_base + ts) * 1e6))  # a session's replies may overtake it
            w(struct.pack("<IIII", us // 1000000, us % 1000000, len(fr), len(fr)))
            w(fr)
            n += 1
    print("%s: %d packets" % (a.out, n), file=sys.stderr)


if __name__ == "__main__":
    main()
