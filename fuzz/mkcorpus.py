#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/ from real inputs (docs/fuzzing.md). Run from the
source root; tests/traces holds the real captures (Zeek's, see its README).

  fuzz/mkcorpus.py [TRACES]

  config/   etc/nfsentry.conf and the golden files of tests/golden/config*
  control/  the requests of docs/control.md, and the malformed ones it lists
  stream/   decision stream bodies as crowdsec 1.4.6 sends them (docs/crowdsec.md), and broken ones
  pcap/     the small traces as they are, and captures of tests/replay/pcaptool.py in every
            link type pcapsrc reads, one pcapng, a VLAN stack, a damaged record
  packets/  the traces' packets, link header stripped, in fuzz-packets.c's record format
Files a fuzzing run found (crash-*, regress-*) are left as they are.
"""
import glob
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "replay"))
import pcaptool  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
COPY_RANGE = 256      # [queue] copy_range: what a live worker sees of a packet
MAX_PACKETS = 48      # per packets/ seed: enough for a handshake, a banner and some typing


def put(kind, name, data):
    with open(os.path.join(CORPUS, kind, name), "wb") as f:
        f.write(data)


def clean(kind):
    d = os.path.join(CORPUS, kind)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith(("crash-", "regress-")):
            os.remove(os.path.join(d, f))


def config_seeds():
    clean("config")
    files = ["etc/nfsentry.conf"] + sorted(glob.glob("tests/golden/config/*.conf")) + \
        sorted(glob.glob("tests/golden/config-bad/*.conf")) + sorted(glob.glob("tests/golden/config-warn/*.conf"))
    for f in files:
        put("config", os.path.basename(os.path.dirname(f)) + "-" + os.path.basename(f), open(f, "rb").read())
    for f in sorted(glob.glob("tests/golden/config/*.dump")):  # --dump-config output loads too
        put("config", "dump-" + os.path.basename(f), open(f, "rb").read())


def control_seeds():
    clean("control")
    text = open("docs/control.md").read()
    values = {"A": '"2001:db8::1"', "N": "600", "CIDR": '"192.0.2.0/24"', "T": '"0123456789abcdef"', "SEQ": "3",
              "O": '["nfsentry","manual"]'}
    reqs = []
    for r in re.findall(r"^\| `(\{\"command\".*?\})` \|", text, re.M):
        if "..." in r:
            continue  # a shape, not a request: its seeds are below
        reqs.append(re.sub(r":([A-Z]+)([,}])", lambda m: ":" + values[m.group(1)] + m.group(2), r))
    reqs += [
        '{"command":"ban","address":"192.0.2.7"}',
        '{"command":"ban","address":"198.51.100.0/24","seconds":-1}',
        '{"command":"unban","address":"10.0.0.1"}',
        '{"command":"sources","limit":99999999999}',
        '{"command":"flows","limit":"x"}',
        '{"command":"nope"}',
        '{"command":7}',
        '{"command":"status","command":"bans"}',
        '["command","status"]',
        '{"command":"status"',
        "not json",
        "",
        '{"command":"bans"}\n{"command":"reload"}',
        '{"command":"evidence","verify":true}',
        '{"command":"watch","from":0}',
        '{"command":"fleet","ban":[{"address":"198.51.100.0/24","seconds":60},{"address":"2001:db8::1","seconds":1}],'
        '"unban":["192.0.2.9","garbage"]}',
        '{"command":"fleet","ban":[{"address":"0.0.0.0/1","seconds":1e99},["x"],null],"unban":[{}]}',
        '{"command":"fleet","ban":"x"}',
        '{"command":"evidence","token":"F6500A6A1C9341CCA0D4FD5F59F33DD4BF668964C7EB0530EFF1EC3F0176C103"}',
    ]
    # The records fuzz-control.c saves at start (it prints their tokens): intact, edited, last.
    for t in ("f6500a6a1c9341cca0d4fd5f59f33dd4bf668964c7eb0530eff1ec3f0176c103",
              "b1daba033f6a6687f453281ceacac316d9a7889083ec6689812123580b3b894b",
              "d2773b678ec8471b82f5d3d15cb1675752d728cef364e6448e69b9ee97ffd524"):
        reqs.append('{"command":"evidence","token":"%s"}' % t)
    for i, r in enumerate(reqs):
        put("control", "req-%02d" % i, r.encode())


def stream_seeds():
    clean("stream")
    dec = '{"duration":"%s","id":%d,"origin":"%s","scenario":"nfsentry/scan","scope":"%s","type":"%s","value":"%s"}'
    seeds = {
        "startup": '{"deleted":null,"new":[%s,%s,%s,%s]}' % (
            dec % ("59m59.63568882s", 1, "nfsentry", "Ip", "ban", "192.0.2.7"),
            dec % ("3h59m59.638968975s", 2, "cscli", "Range", "ban", "2001:db8:5::/64"),
            dec % ("4h", 3, "cscli", "Ip", "ban", "2001:db8:9::1"),
            dec % ("1m29.948247577s", 4, "cscli", "Range", "ban", "198.51.100.0/24")),
        "deleted": '{"deleted":[%s],"new":null}' % (dec % ("-160.760779ms", 1, "nfsentry", "Ip", "ban", "192.0.2.7")),
        "empty": '{"deleted":null,"new":null}',
        "both": '{"new":[%s,%s],"deleted":[%s,%s]}' % (
            dec % ("1h", 10, "cscli", "Ip", "ban", "203.0.113.5"), dec % ("2h", 11, "cscli", "Ip", "ban", "203.0.113.5"),
            dec % ("-1s", 10, "cscli", "Ip", "ban", "203.0.113.5"), dec % ("-1s", 12, "cscli", "Ip", "ban", "203.0.113.6")),
        "others": '{"new":[%s,%s,%s],"deleted":null}' % (
            dec % ("4h", 20, "cscli", "Ip", "captcha", "192.0.2.8"), dec % ("4h", 21, "cscli", "Country", "ban", "FR"),
            dec % ("4h", 22, "cscli", "Range", "ban", "198.51.100.77/24")),
        "broken": '{"new":[{"id":"7"},{"duration":"forever","id":8,"scope":"Ip","type":"ban","value":"192.0.2.1"},'
                  '{"duration":"1h","id":9,"scope":"Ip","type":"ban","value":"192.0.2.0/24"},42,null,[]]}',
        "not-json": '{"new":[',
    }
    for name, body in seeds.items():
        put("stream", name, body.encode())


def frames(path):
    """(time, frame, linktype) of a classic pcap, either byte order, either precision."""
    b = open(path, "rb").read()
    magic = struct.unpack("<I", b[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(e + "I", b[20:24])[0]
    off, out = 24, []
    while off + 16 <= len(b):
        sec, frac, incl, _ = struct.unpack(e + "IIII", b[off:off + 16])
        out.append((sec + frac / (1e9 if nano else 1e6), b[off + 16:off + 16 + incl], linktype))
        off += 16 + incl
    return out


def strip(frame, linktype):
    if linktype == 1:
        off = 12
        while frame[off:off + 2] in (b"\x81\x00", b"\x88\xa8"):
            off += 4
        return frame[off + 2:] if frame[off:off + 2] in (b"\x08\x00", b"\x86\xdd") else None
    if linktype in (0, 108):
        return frame[4:]
    return frame  # raw


def record(kind, dt, ip):
    """One record of fuzz-packets.c: kind, time step, length, bytes (cut at copy_range)."""
    if len(ip) > COPY_RANGE:
        ip, kind = ip[:COPY_RANGE], kind | 0x10
    dt = max(dt, 0.0)  # time steps forward only
    if dt < 0.064:
        step = int(dt * 1000)
    elif dt < 1.28:
        step = 64 + int(dt * 100)
    else:
        step = 192 + min(63, int(dt / 10))
    return struct.pack("!BBH", kind, step, len(ip)) + ip


def stream(knobs, pkts, kind):
    out, last = bytes([knobs]), None
    for t, ip in pkts:
        out += record(kind, 0 if last is None else t - last, ip)
        last = t
    return out


def packets_seeds(traces):
    clean("packets")
    for path in sorted(glob.glob(os.path.join(traces, "*.pcap"))):
        name = os.path.basename(path)[:-5]
        pkts = [(t, ip) for t, fr, lt in frames(path) if (ip := strip(fr, lt))][:MAX_PACKETS]
        put("packets", "replay-" + name, stream(0, pkts, 2))
        # Live: the server's side, as the inspection queue sees it; every detector bans.
        put("packets", "inspect-" + name, stream(0x08 | 0x04, pkts, 1 | 1 << 2))
    # Closed-port attempts as the closed-port queue sees them, low threshold.
    scan = [(t, strip(fr, 1)) for t, fr in pcaptool_frames("synscan") if strip(fr, 1)[12:16] == pcaptool.ip4(
        pcaptool.SCANNER)]
    put("packets", "closed-synscan", stream(0x01, scan, 0))
    back = [(t, strip(fr, 1)) for t, fr in pcaptool_frames("backscatter")]
    put("packets", "closed-backscatter", stream(0x01 | 0x10, back, 0))
    put("packets", "replay-syndata", stream(0, [(t, strip(fr, 1)) for t, fr in pcaptool_frames("syndata")], 2))
    # A UDP scan seen through the ICMP port unreachables that quote its probes.
    put("packets", "replay-udpscan", stream(0, [(t, strip(fr, 1)) for t, fr in pcaptool_frames("udpscan")], 2))
    evasion_seeds()


def evasion_seeds():
    """Issue 10's evasions as the closed-port queue sees them (tests/integration/rawprobe.py
    builds the same packets): SYNs behind 9-12 and 2 KB of IPv6 destination options (cut at
    copy_range, tagged), this host's protocol unreachables quoting -sO and -sY probes (output
    hook), and SCTP INITs (input hook)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "rawprobe", os.path.join(HERE, "..", "tests", "integration", "rawprobe.py"))
    rp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rp)
    s6, d6, s4, d4 = "2001:db8:5::2", "2001:db8:1::1", "198.51.100.2", "198.51.100.1"
    local_dst, local_src = 1 << 2, 2 << 2
    recs = bytes([0x01])
    for port in range(1, 6):
        recs += record(local_dst, 0.001, rp.build("syn6-mixed", s6, d6, port))
        recs += record(local_dst, 0.001, rp.build("syn6-deep-1", s6, d6, port))
    put("packets", "closed-exthdr", recs)

    def sctp_init(dport):
        return struct.pack("!HHII", 40000, dport, 0, 0) + struct.pack("!BBH", 1, 0, 20) + bytes(16)

    recs = bytes([0x01])
    for proto, l4 in ((47, bytes(8)), (132, sctp_init(80)), (253, b"")):
        probe = rp.ipv4(s4, d4, proto, l4, 7)
        icmp = struct.pack("!BBHI", 3, 2, 0, 0) + probe
        recs += record(local_src, 0.3, rp.ipv4(d4, s4, 1, icmp, 9))
        probe6 = rp.ipv6(s6, d6, proto, l4)
        icmp6 = struct.pack("!BBHI", 4, 1, 0, 6) + probe6  # pointer 6: the next header byte
        recs += record(local_src, 0.3, rp.ipv6(d6, s6, 58, icmp6))
    for port in range(1, 4):
        recs += record(local_dst, 0.001, rp.ipv4(s4, d4, 132, sctp_init(port), port))
        recs += record(local_dst, 0.001, rp.ipv6(s6, d6, 132, sctp_init(port)))
    put("packets", "closed-protoscan", recs)


def pcaptool_frames(cmd):
    tmp = os.path.join(CORPUS, ".tmp.pcap")
    sys.argv = ["pcaptool.py", cmd, tmp]
    pcaptool.main()
    out = [(t, fr) for t, fr, _ in frames(tmp)]
    os.remove(tmp)
    return out


def pcapng(linktype, pkts):
    """A pcapng file: section header, one interface, enhanced packet blocks."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", linktype, 0, 65535))
    for t, fr in pkts:
        us = int(t * 1e6)
        out += block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF, len(fr), len(fr)) + fr)
    return out


def pcap(linktype, pkts):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for t, fr in pkts:
        out += struct.pack("<IIII", int(t), int(t * 1e6) % 1000000, len(fr), len(fr)) + fr
    return out


def pcap_seeds(traces):
    clean("pcap")
    for path in sorted(glob.glob(os.path.join(traces, "*.pcap"))):
        if os.path.getsize(path) <= 2048:
            put("pcap", os.path.basename(path), open(path, "rb").read())
    scan = pcaptool_frames("synscan")[:6]
    ips = [(t, strip(fr, 1)) for t, fr in scan]
    put("pcap", "synscan-en10mb.pcap", pcap(1, scan))
    put("pcap", "backscatter-en10mb.pcap", pcap(1, pcaptool_frames("backscatter")[:6]))
    put("pcap", "syndata-en10mb.pcap", pcap(1, pcaptool_frames("syndata")))
    put("pcap", "udpscan-en10mb.pcap", pcap(1, pcaptool_frames("udpscan")[:24]))
    put("pcap", "synscan.pcapng", pcapng(1, scan))
    put("pcap", "synscan-raw.pcap", pcap(101, ips))
    put("pcap", "synscan-ipv4.pcap", pcap(228, ips))
    put("pcap", "synscan-null.pcap", pcap(0, [(t, struct.pack("<I", 2) + ip) for t, ip in ips]))
    put("pcap", "synscan-loop.pcap", pcap(108, [(t, struct.pack(">I", 2) + ip) for t, ip in ips]))
    sll = b"\0\0\0\1\0\6\2\0\0\0\0\1\0\0"  # packet type, ARPHRD_ETHER, address length, address
    put("pcap", "synscan-sll.pcap", pcap(113, [(t, sll + b"\x08\x00" + ip) for t, ip in ips]))
    sll2 = b"\x08\x00\0\0" + struct.pack(">I", 2) + b"\0\1\0\6\2\0\0\0\0\1\0\0"
    put("pcap", "synscan-sll2.pcap", pcap(276, [(t, sll2 + ip) for t, ip in ips]))
    qinq = [(t, fr[:12] + b"\x88\xa8\0\x0a\x81\x00\0\x14" + fr[12:]) for t, fr in scan]
    put("pcap", "synscan-qinq.pcap", pcap(1, qinq))
    put("pcap", "unsupported-80211.pcap", pcap(105, [(0, bytes(60))]))
    whole = pcap(1, scan)
    put("pcap", "synscan-cut.pcap", whole[:24 + 16 + len(scan[0][1]) + 8])


def main():
    os.chdir(os.path.join(HERE, ".."))
    traces = sys.argv[1] if len(sys.argv) > 1 else "tests/traces"
    config_seeds()
    control_seeds()
    stream_seeds()
    pcap_seeds(traces)
    packets_seeds(traces)


if __name__ == "__main__":
    main()
