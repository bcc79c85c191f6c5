#!/usr/bin/python3
"""malformed.py - malformed and fragmented packets for test-malformed.sh, written as whole
Ethernet frames on a packet socket, so that nothing in this host's stack fixes them up.

Usage: malformed.py IFACE DST_MAC KIND COUNT
       malformed.py --list      (the kinds, one a line: KIND FAMILY)

Every packet goes from the scanner (198.51.100.2, 2001:db8:1::2) to the victim's closed
port 1 (198.51.100.1, 2001:db8:1::1). COUNT copies are sent, each with its own IP id or
fragment id, so that fragments of different copies never meet in reassembly."""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "replay"))
from pcaptool import csum  # noqa: E402 (the Internet checksum of the capture builder)

SRC4, DST4 = "198.51.100.2", "198.51.100.1"
SRC6, DST6 = "2001:db8:1::2", "2001:db8:1::1"
PORT = 1


def tcp(doff=5, flags=0x02, payload=b"", sport=40000):
    """A TCP header of 20 bytes (options as zero padding when doff > 5 and room is wanted);
    the data offset field says @doff, whatever the real length."""
    return struct.pack("!HHIIBBHHH", sport, PORT, 1, 0, doff << 4, flags, 1024, 0, 0) + payload


def udp(length=None, payload=b"hello"):
    return struct.pack("!HHHH", 40000, PORT, 8 + len(payload) if length is None else length, 0) + payload


def ipv4(proto, l4, ident, ihl=5, tot_len=None, version=4, frag=0, bad_sum=False):
    opts = b"\x01" * (ihl * 4 - 20) if ihl > 5 else b""
    tot = 20 + len(opts) + len(l4) if tot_len is None else tot_len
    hdr = struct.pack("!BBHHHBBH4s4s", version << 4 | (ihl & 15), 0, tot, ident, frag, 64, proto, 0,
                      socket.inet_aton(SRC4), socket.inet_aton(DST4))
    s = csum(hdr + opts)
    if bad_sum:
        s ^= 0x5A5A
    return hdr[:10] + struct.pack("!H", s) + hdr[12:] + opts + l4


def tcp4_sum(seg):
    """@seg with its TCP checksum set (pseudo-header of the lab's IPv4 addresses)."""
    pseudo = socket.inet_aton(SRC4) + socket.inet_aton(DST4) + struct.pack("!BBH", 0, 6, len(seg))
    return seg[:16] + struct.pack("!H", csum(pseudo + seg[:16] + b"\0\0" + seg[18:])) + seg[18:]


def ipv6(nh, payload, plen=None):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload) if plen is None else plen, nh, 64,
                       socket.inet_pton(socket.AF_INET6, SRC6), socket.inet_pton(socket.AF_INET6, DST6)) + payload


def opts_hdr(nh, length8=0):
    """A hop-by-hop or destination options header of (length8 + 1) * 8 bytes, PadN-filled."""
    out, left = struct.pack("!BB", nh, length8), (length8 + 1) * 8 - 2
    while left:
        n = min(left - 2, 255)
        out, left = (out + b"\0", left - 1) if left == 1 else (out + struct.pack("!BB", 1, n) + b"\0" * n, left - n - 2)
    return out


def frag6(nh, offset, more, ident, data):
    return struct.pack("!BBHI", nh, 0, offset << 3 | (1 if more else 0), ident) + data


def frag4(ident, offset8, more, data):
    return ipv4(6, data, ident, frag=(0x2000 if more else 0) | offset8)


# KIND: (family, builder(i) -> list of IP packets). What the kernel and nfsentry make of each
# kind is the test's business (test-malformed.sh); the comments say what the bytes are.
def kinds():
    syn = tcp4_sum(tcp())
    syn_data = tcp4_sum(tcp(payload=b"12345678"))  # 28 bytes: splits 16 + 12
    return {
        # IPv4, well-formed IP: the transport header is what is wrong
        "tcp-truncated": ("4", lambda i: [ipv4(6, syn[:8], 1000 + i)]),
        "tcp-doff-short": ("4", lambda i: [ipv4(6, tcp(doff=3), 1100 + i)]),
        "tcp-doff-long": ("4", lambda i: [ipv4(6, tcp(doff=15), 1200 + i)]),
        "udp-len-long": ("4", lambda i: [ipv4(17, udp(length=200), 1300 + i)]),
        "udp-len-short": ("4", lambda i: [ipv4(17, udp(length=4), 1400 + i)]),
        # IPv4 headers the kernel refuses before any hook
        "ihl-short": ("4", lambda i: [ipv4(6, syn, 1500 + i, ihl=3)]),
        "ihl-long": ("4", lambda i: [ipv4(6, syn, 1600 + i, ihl=15)[:40]]),
        "totlen-long": ("4", lambda i: [ipv4(6, syn, 1700 + i, tot_len=1000)]),
        "bad-version": ("4", lambda i: [ipv4(6, syn, 1800 + i, version=5)]),
        "bad-checksum": ("4", lambda i: [ipv4(6, syn, 1900 + i, bad_sum=True)]),
        # IPv4 fragments: reassembled before the input hook
        "frag-tiny": ("4", lambda i: [frag4(2000 + i, 0, True, syn_data[:16]), frag4(2000 + i, 2, False, syn_data[16:])]),
        "frag-overlap": ("4", lambda i: [frag4(2100 + i, 0, True, syn_data[:16]), frag4(2100 + i, 1, False, syn_data[8:])]),
        "frag-truncated": ("4", lambda i: [frag4(2200 + i, 0, True, syn[:8]), frag4(2200 + i, 1, False, syn[8:12])]),
        # IPv6
        "v6-tcp-truncated": ("6", lambda i: [ipv6(6, tcp(sport=41000 + i)[:8])]),
        "v6-exthdr-9": ("6", lambda i: [ipv6(60, b"".join(opts_hdr(60 if k < 8 else 6) for k in range(9)) + tcp(sport=41100 + i))]),
        "v6-exthdr-past-capture": ("6", lambda i: [ipv6(60, opts_hdr(6, length8=32) + tcp(sport=41200 + i))]),
        "v6-exthdr-overrun": ("6", lambda i: [ipv6(60, struct.pack("!BB", 6, 200) + b"\x01\x04\0\0\0\0" + tcp(sport=41300 + i))]),
        "v6-exthdr-3": ("6", lambda i: [ipv6(0, opts_hdr(60) + opts_hdr(60) + opts_hdr(6) + tcp(sport=41400 + i))]),
        "v6-plen-long": ("6", lambda i: [ipv6(6, tcp(sport=41500 + i), plen=1000)]),
        "v6-frag": ("6", lambda i: [ipv6(44, frag6(6, 0, True, 3000 + i, tcp(sport=41600 + i, payload=b"12345678")[:16])),
                                    ipv6(44, frag6(6, 2, False, 3000 + i, tcp(sport=41600 + i, payload=b"12345678")[16:]))]),
        "v6-frag-overlap": ("6", lambda i: [ipv6(44, frag6(6, 0, True, 3100 + i, tcp(sport=41700 + i, payload=b"12345678")[:16])),
                                            ipv6(44, frag6(6, 1, False, 3100 + i, tcp(sport=41700 + i, payload=b"12345678")[8:]))]),
        "v6-atomic-frag": ("6", lambda i: [ipv6(44, frag6(6, 0, False, 3200 + i, tcp(sport=41800 + i)))]),
    }


def main():
    table = kinds()
    if sys.argv[1:] == ["--list"]:
        for name, (fam, _) in table.items():
            print(name, fam)
        return 0
    if len(sys.argv) != 5 or sys.argv[3] not in table:
        print(__doc__, file=sys.stderr)
        return 2
    iface, dst_mac, kind, count = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), sys.argv[3], int(sys.argv[4])
    fam, build = table[kind]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = s.getsockname()[4]
    ethertype = b"\x08\x00" if fam == "4" else b"\x86\xdd"
    for i in range(count):
        for pkt in build(i):
            s.send(dst_mac + src_mac + ethertype + pkt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
