#!/usr/bin/env python3
"""fakectl.py SOCKET ANSWER_FILE - a stand-in for nfsentry's control socket (docs/control.md)
for test-output.sh: one request per connection, answered with the canned answer named in
ANSWER_FILE (re-read for each connection), or by the request's command when it names "by-command".
Each request line is echoed to stdout so that the test sees what nfsentryctl sent."""
import json
import os
import socket
import sys

PCAP = "1MOyoQIABAAAAAAAAAAAAKAAAABlAAAAAPFTZUDiAQA8AAAAPAAAAEUAADw="  # a header and one packet
BY_COMMAND = {
    "status": {"ok": True, "version": "0.1.0", "uptime": 3725,
               "queues": [{"queue": 0, "kind": "closed-port", "packets": 123, "accepted": 1, "dropped": 122,
                           "malformed": 0, "enobufs": 0, "id_gaps": 3},
                          {"queue": 10, "kind": "inspection", "packets": 5, "accepted": 5, "dropped": 0,
                           "malformed": 1, "enobufs": 22, "id_gaps": 0}],
               "sources": 4, "flows": 2, "bans": 3, "bans_added": 7, "evidence_records": 12,
               "evidence_bytes": 40000, "metrics": {"x": 1}},
    "bans": {"ok": True, "bans": [
        {"address": "192.0.2.1", "detector": "scan", "origin": "nfsentry", "offence": 2, "seconds_left": 3599,
         "timeout": 7200, "token": "ab"},
        {"address": "2001:db8::/64", "detector": "manual\u001b[31m", "origin": "manual", "offence": 10,
         "seconds_left": 86400 * 3 + 5, "timeout": 86400 * 7},
        {"address": "198.51.100.0/24", "detector": "manual", "origin": "crowdsec", "offence": 1,
         "seconds_left": 59, "timeout": 60},
        5, {"address": "x"}]},
    "ban": {"ok": True, "address": "192.0.2.9", "seconds": 5400},
    "unban": {"ok": True, "address": "2001:db8:1::/64"},
    "allow": {"ok": True, "network": "10.0.0.0/8"},
    "sources": {"ok": True, "sources": [
        {"address": "198.51.100.7", "ports": 25, "seconds_since_first": 100, "seconds_since_last": 3,
         "counts": {"syn": 20, "fin": 5, "udp": 0}},
        {"address": "2001:db8::/64", "ports": 3, "seconds_since_first": 4000, "seconds_since_last": 0,
         "counts": {}},
        {"address": "1.1.1.1", "ports": 1, "counts": [1, "a", True]}]},
    "flows": {"ok": True, "flows": [
        {"client": "192.0.2.1", "cport": 40000, "server": "2001:db8::1", "sport": 22, "packets": 12345,
         "initiator_known": True, "drop": False},
        {"client": "1.2.3.4", "cport": 1, "server": "5.6.7.8", "sport": 80, "packets": 1,
         "initiator_known": False, "drop": True},
        {"client": "1.2.3.4"}]},
    "reload": {"ok": True},
    # A stream: the answer, then one event a line; then the stand-in closes, as a stopping daemon would.
    "watch": [{"ok": True, "seq": 41},
              {"event": "ban", "seq": 41, "origin": "nfsentry", "address": "192.0.2.7", "detector": "scan",
               "seconds": 3600, "until": 1700003600, "events": 12},
              {"event": "evidence", "seq": 42, "address": "192.0.2.7", "token": "ab" * 32},
              {"event": "ban", "seq": 43, "origin": "manual", "address": "2001:db8::/64", "detector": "manual",
               "seconds": 90, "until": 1700000090, "events": 0},
              {"event": "lost", "count": 17},
              {"event": "unban", "seq": 61, "origin": "crowdsec", "address": "198.51.100.0/24", "why": "fleet"},
              {"event": "unban", "seq": 62, "origin": "nfsentry", "address": "192.0.2.7\u0007", "why": "manual"},
              {"event": "future", "seq": 63, "address": "192.0.2.8"}],
    "evidence": {"ok": True, "token": "aa" * 32, "state": "intact", "intact": True, "seq": 3,
                 "record": {"event": "scan", "packets": {"count": 1, "pcap": PCAP}}},
}
NAMED = {
    "evidence-tampered": {"ok": True, "token": "bb" * 32, "state": "tampered", "intact": False, "seq": 4,
                          "actual": "cc" * 32, "chain": "broken\nlink",
                          "record": {"event": "scan", "packets": {"count": 1, "pcap": PCAP}}},
    "evidence-nopcap": {"ok": True, "token": "bb" * 32, "state": "intact", "intact": True, "seq": 4,
                        "record": {"event": "scan"}},
    "evidence-bad64": {"ok": True, "token": "bb" * 32, "state": "intact", "intact": True, "seq": 4,
                       "record": {"event": "scan", "packets": {"pcap": "!!!"}}},
    "verify": {"ok": True, "records": 3, "bytes": 999, "anchor": None, "intact": False,
               "problems": [{"seq": 2, "token": "dd", "problem": "missing\tfile"}]},
    "verify-ok": {"ok": True, "records": 3, "bytes": 999, "anchor": "ee" * 32, "intact": True, "problems": []},
    "refused": {"ok": False, "error": "permission denied\u0007"},
    "noerr": {"ok": False},
    "garbage": "not json",
    "nolist": {"ok": True},
    "closes": None,
}


def main():
    path, answer_file = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        data = b""
        while not data.endswith(b"\n"):
            d = c.recv(65536)
            if not d:
                break
            data += d
        sys.stdout.write("request " + data.decode("utf-8", "replace"))
        sys.stdout.flush()
        with open(answer_file) as f:
            name = f.read().strip()
        if name in NAMED:
            a = NAMED[name]
        else:
            try:
                req = json.loads(data)
            except ValueError:
                req = {}
            a = BY_COMMAND.get(req.get("command"), {"ok": False, "error": "unknown command"})
        if isinstance(a, list):
            c.sendall(b"".join(json.dumps(line).encode() + b"\n" for line in a))
        elif a is not None:
            c.sendall((a if isinstance(a, str) else json.dumps(a)).encode() + b"\n")
        c.close()


main()
