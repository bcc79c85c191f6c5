#!/usr/bin/python3
"""rawprobe.py - closed- and open-port probes written as whole Ethernet frames on a packet
socket, for the evasions of issue 10 that a socket cannot send: TCP SYNs behind long IPv6
extension header chains (test-ipv6-exthdr-scan.sh) and UDP in link-layer broadcast frames
(test-broadcast-udp.sh). Unlike malformed.py's packets, these are well-formed (checksums
right), so the victim's kernel answers them; the answers are read on the same packet socket.

Usage: rawprobe.py IFACE DST_MAC KIND SRC DST PORTS [WAIT]

  KIND   syn6-dstopts-N    TCP SYN behind N 8-byte destination options headers (N >= 1)
         syn6-deep-N       TCP SYN behind N destination options headers, each 2 KB if N is
                           small: the transport header lies far past [queue] copy_range
         syn6-mixed        per port, 9 to 12 destination options headers (9 + port % 4)
         udp               a UDP datagram ("probe"), IPv4 or IPv6 by DST
  SRC, DST  the IP source and destination (DST may be a broadcast or multicast address)
  PORTS  comma-separated ports or ranges, e.g. 1-100,7000
  WAIT   seconds to read answers after the last probe (default 1)

Prints one line per answer from DST's side: "synack PORT", "rst PORT", "udp PORT",
"icmp TYPE/CODE", then "sent N"."""
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "replay"))
from pcaptool import csum  # noqa: E402 (the Internet checksum of the capture builder)

SPORT = 45678
ETH_P_ALL = 0x0003


def ports_of(spec):
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out += range(int(a), int(b or a) + 1)
    return out


def is6(addr):
    return ":" in addr


def pseudo(src, dst, proto, length):
    if is6(src):
        return (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
                struct.pack("!IxxxB", length, proto))
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, length)


def tcp_syn(src, dst, dport):
    seg = struct.pack("!HHIIBBHHH", SPORT, dport, 1000 + dport, 0, 5 << 4, 0x02, 1024, 0, 0)
    s = csum(pseudo(src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", s) + seg[18:]


def udp(src, dst, dport, payload=b"probe"):
    seg = struct.pack("!HHHH", SPORT, dport, 8 + len(payload), 0) + payload
    s = csum(pseudo(src, dst, 17, len(seg)) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", s) + seg[8:]


def dstopts(nh, length8):
    """A destination options header of (length8 + 1) * 8 bytes. Linux refuses more than 7
    bytes of padding in a row (ip6_parse_tlv) and more than 8 options (net.ipv6.
    max_dst_opts_number), so it is filled with at most 8 options of type 0x1e (RFC 4727's
    experimental type; its top bits 00 tell a receiver to skip it), up to 255 bytes each."""
    out, left = struct.pack("!BB", nh, length8), (length8 + 1) * 8 - 2
    while left:
        if left == 1:
            out, left = out + b"\0", 0
        else:
            n = min(left - 2, 255)
            out, left = out + struct.pack("!BB", 0x1E, n) + b"\x5a" * n, left - n - 2
    return out


def chain(n, length8, proto):
    """@n destination options headers before @proto, as (first next header, bytes)."""
    hdrs = b"".join(dstopts(60 if k < n - 1 else proto, length8) for k in range(n))
    return 60, hdrs


def ipv6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def ipv4(src, dst, proto, payload, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0, socket.inet_aton(src),
                      socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def build(kind, src, dst, port):
    if kind == "udp":
        seg = udp(src, dst, port)
        return ipv6(src, dst, 17, seg) if is6(src) else ipv4(src, dst, 17, seg, port)
    if kind.startswith("syn6-dstopts-"):
        n, length8 = int(kind.rsplit("-", 1)[1]), 0
    elif kind.startswith("syn6-deep-"):
        n = int(kind.rsplit("-", 1)[1])
        length8 = min(255, max(0, 2048 // (8 * n) - 1))  # about 2 KB of headers in all
    elif kind == "syn6-mixed":
        n, length8 = 9 + port % 4, 0
    else:
        raise SystemExit("unknown kind %s" % kind)
    nh, hdrs = chain(n, length8, 6)
    return ipv6(src, dst, nh, hdrs + tcp_syn(src, dst, port))


def answer(frame, src):
    """What @frame says back to us (to @src), or None."""
    et = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if et == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        if socket.inet_ntoa(ip[16:20]) != src:
            return None
        proto, l4 = ip[9], ip[ihl:]
    elif et == 0x86DD and len(ip) >= 40:
        if socket.inet_ntop(socket.AF_INET6, ip[24:40]) != src:
            return None
        proto, l4 = ip[6], ip[40:]
    else:
        return None
    if proto == 6 and len(l4) >= 14 and struct.unpack("!H", l4[2:4])[0] == SPORT:
        port, flags = struct.unpack("!H", l4[0:2])[0], l4[13]
        if flags & 0x12 == 0x12:
            return "synack %d" % port
        if flags & 0x04:
            return "rst %d" % port
    if proto == 17 and len(l4) >= 8 and struct.unpack("!H", l4[2:4])[0] == SPORT:
        return "udp %d" % struct.unpack("!H", l4[0:2])[0]
    if proto in (1, 58) and len(l4) >= 2:
        return "icmp %d/%d" % (l4[0], l4[1])
    return None


def main():
    if len(sys.argv) not in (7, 8):
        print(__doc__, file=sys.stderr)
        return 2
    iface, kind, src, dst = sys.argv[1], sys.argv[3], sys.argv[4], sys.argv[5]
    dst_mac = bytes.fromhex(sys.argv[2].replace(":", ""))
    wait = float(sys.argv[7]) if len(sys.argv) == 8 else 1.0
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    src_mac = s.getsockname()[4]
    ethertype = b"\x86\xdd" if is6(src) else b"\x08\x00"
    ports = ports_of(sys.argv[6])
    for port in ports:
        s.send(dst_mac + src_mac + ethertype + build(kind, src, dst, port))
    seen = set()
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        a = answer(frame, src)
        if a and a not in seen:
            seen.add(a)
            print(a)
    print("sent %d" % len(ports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
