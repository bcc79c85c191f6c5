#!/usr/bin/env python3
"""Makes and reads the small capture files of test-traces.sh (struct only, no scapy).

  pcaptool.py synscan OUT        a SYN scan of 15 closed ports, each answered by a reset
  pcaptool.py backscatter OUT    SYN-ACKs with ack 674719802 (synk4) to 12 ports, each reset
  pcaptool.py syndata OUT        a SYN with 64 bytes of data to a closed port, and the reset
  pcaptool.py udpscan OUT        UDP probes of 15 closed ports, each answered by an ICMP port unreachable
  pcaptool.py linktype OUT N     a pcap header with link type N and one 60-byte frame
  pcaptool.py cut IN OUT K       IN cut 8 bytes into the header of its record K (0-based)
  pcaptool.py frame-of IN TEXT   the index of IN's first record that contains TEXT
  pcaptool.py ssh-conns IN PORT  TCP connections of IN to PORT where one side sent an SSH banner
"""
import struct
import sys

SCANNER, VICTIM = "198.51.100.1", "198.51.100.2"   # the scan goes from .1 to .2
REFLECTOR = "203.0.113.80"                          # a spoofing victim answering the flood


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp4(src, dst, sport, dport, flags, seq=0, ack=0, win=1024, data=b"", ttl=64, ip_id=1):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, win, 0, 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(hdr) + len(data))
    hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr + data)) + hdr[18:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(hdr) + len(data), ip_id, 0, ttl, 6, 0,
                      ip4(src), ip4(dst))
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    return iph + hdr + data


def ip4hdr(src, dst, proto, payload, ttl=64, ip_id=1):
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ip_id, 0, ttl, proto, 0, ip4(src), ip4(dst))
    return iph[:10] + struct.pack("!H", csum(iph)) + iph[12:] + payload


def udp4(src, dst, sport, dport, data=b""):
    return ip4hdr(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data)


def port_unreachable4(src, probe):
    """@src's ICMP port unreachable quoting @probe's IP header and 8 bytes, as Linux sends."""
    body = struct.pack("!BBHI", 3, 3, 0, 0) + probe[:28]
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    return ip4hdr(src, ".".join(str(b) for b in probe[12:16]), 1, body)


def ether(ip):
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def write_pcap(path, frames, linktype=1):
    """frames: (seconds, bytes) pairs."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for t, fr in frames:
            f.write(struct.pack("<IIII", int(t), int(t * 1e6) % 1000000, len(fr), len(fr)))
            f.write(fr)


def records(path):
    """(offset, timestamp, data) of each record of a classic little- or big-endian pcap."""
    b = open(path, "rb").read()
    magic = struct.unpack("<I", b[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(e + "I", b[20:24])[0]
    off, out = 24, []
    while off + 16 <= len(b):
        sec, usec, incl, _ = struct.unpack(e + "IIII", b[off:off + 16])
        out.append((off, sec + usec / 1e6, b[off + 16:off + 16 + incl], linktype))
        off += 16 + incl
    return out


def ip_of(frame, linktype):
    if linktype == 1:
        return frame[14:] if frame[12:14] == b"\x08\x00" else None
    if linktype in (101, 228, 12):
        return frame
    if linktype == 0:
        return frame[4:]
    return None


def main():
    cmd, out = sys.argv[1], sys.argv[2]
    t0 = 1700000000.0
    if cmd == "synscan":
        fr = []
        for i, port in enumerate(range(1000, 1015)):
            t = t0 + i * 0.01
            fr.append((t, ether(tcp4(SCANNER, VICTIM, 40000, port, SYN, seq=1000 + i, ip_id=4242 + i))))
            fr.append((t + 0.001, ether(tcp4(VICTIM, SCANNER, port, 40000, RST | ACK, ack=1001 + i, win=0))))
        write_pcap(out, fr)
    elif cmd == "backscatter":
        # The flood's victim answers SYNs forged with this host's address; this host never
        # sent them, so it resets each SYN-ACK (as Linux does).
        fr = []
        for i in range(12):
            t, port = t0 + i * 0.01, 2000 + i * 7
            fr.append((t, ether(tcp4(REFLECTOR, SCANNER, 80, port, SYN | ACK, seq=5000 + i,
                                     ack=674719802, win=5840, ttl=50))))
            fr.append((t + 0.001, ether(tcp4(SCANNER, REFLECTOR, port, 80, RST, seq=674719802, win=0))))
        write_pcap(out, fr)
    elif cmd == "flood":
        # 1500 SYNs in 0.75 s to an open port, from forged sources spread over
        # 10.123.0.0/16; the victim answers each with a SYN-ACK.
        fr = []
        for i in range(1500):
            t, src = t0 + i * 0.0005, "10.123.%d.%d" % ((i * 37) % 256, (i * 101) % 254 + 1)
            fr.append((t, ether(tcp4(src, VICTIM, 1024 + i % 60000, 80, SYN, seq=i * 7919))))
            fr.append((t + 0.0001, ether(tcp4(VICTIM, src, 80, 1024 + i % 60000, SYN | ACK, seq=99, ack=i * 7919 + 1,
                                              win=64240))))
        write_pcap(out, fr)
    elif cmd == "syndata":
        write_pcap(out, [
            (t0, ether(tcp4(SCANNER, VICTIM, 40001, 4567, SYN, seq=77, data=bytes(range(64))))),
            (t0 + 0.001, ether(tcp4(VICTIM, SCANNER, 4567, 40001, RST | ACK, ack=78 + 64, win=0))),
        ])
    elif cmd == "udpscan":
        fr = []
        for i, port in enumerate(range(2000, 2015)):
            t, probe = t0 + i * 0.01, udp4(SCANNER, VICTIM, 40000, port)
            fr.append((t, ether(probe)))
            fr.append((t + 0.001, ether(port_unreachable4(VICTIM, probe))))
        write_pcap(out, fr)
    elif cmd == "linktype":
        write_pcap(out, [(t0, bytes(60))], linktype=int(sys.argv[3]))
    elif cmd == "cut":
        src, k = sys.argv[2], int(sys.argv[4])
        off = records(src)[k][0]
        open(sys.argv[3], "wb").write(open(src, "rb").read()[:off + 8])
    elif cmd == "frame-of":
        text = sys.argv[3].encode()
        print(next(i for i, r in enumerate(records(out)) if text in r[2]))
    elif cmd == "ssh-conns":
        port, conns = int(sys.argv[3]), set()
        for _, _, frame, lt in records(out):
            ip = ip_of(frame, lt)
            if not ip or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            tcp = ip[(ip[0] & 15) * 4:]
            sport, dport = struct.unpack("!HH", tcp[:4])
            payload = tcp[(tcp[12] >> 4) * 4:]
            if port in (sport, dport) and payload[:6] in (b"SSH-1.", b"SSH-2."):
                a, b = (ip[12:16], sport), (ip[16:20], dport)
                conns.add((min(a, b), max(a, b)))
        print(len(conns))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
