#!/usr/bin/env python3
"""A forged CrowdSec LAPI for test-crowdsec-hostile-lapi.sh: what a compromised or impersonated
LAPI could send a bouncer. Serves on 127.0.0.1:PORT; the mode is re-read from MODE_FILE on each
request, so the test switches attacks without restarting it. Every request is appended to
LOG_FILE (method, path). Modes for GET /v1/decisions/stream:
  forged   one body of forged decisions (bad values, too wide ranges, absurd durations, wrong
           types) plus witness decisions that must be applied
  huge     a valid-looking body of HUGE_MB megabytes, streamed (never held here)
  nested   200000 nested arrays in "new"
  garbage  bytes that are not JSON, then a dropped connection
  witness  a small normal body: the witness WITNESS (the bridge recovered)
Login answers a token; alerts answer 201 []."""
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, mode_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
HUGE_MB = int(os.environ.get("HUGE_MB", "256"))


def dec(value, scope="Ip", typ="ban", duration="1h", i=[1000]):
    i[0] += 1
    return {"duration": duration, "id": i[0], "origin": "crowdsec", "scenario": "forged",
            "scope": scope, "type": typ, "value": value}


def forged():
    new = [
        dec("0.0.0.0/0", "Range"), dec("::/0", "Range"), dec("0.0.0.0/1", "Range"),
        dec("10.0.0.0/33", "Range"), dec("256.1.1.1"), dec("1.2.3.4\n5.6.7.8"), dec("1.2.3.4 "),
        dec("x" * 100000), dec(""), dec("198.51.100.3"),            # B's own address
        dec("203.0.113.1", duration="-5s"), dec("203.0.113.2", duration="garbage"),
        dec("203.0.113.3", typ="captcha"), dec("203.0.113.4", scope="Country"),
        dec("203.0.113.5", scope="Ip address"),                      # not a scope
        dec("203.0.113.10", duration="99999999h"),                    # past Go's int64 nanoseconds
        {"id": 1, "value": "203.0.113.6"},                            # fields missing
        dec("203.0.113.7", duration="20000h"),                        # 2.3 years: capped at [fleet] max_duration
        dec("203.0.113.8"),                                           # the witness: applied as it is
    ]
    return json.dumps({"deleted": [dec("203.0.113.9"), None, 5, "x"], "new": new}).encode()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass   # the bouncer hung up: expected of a bounded reader

    def note(self):
        with open(log_file, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def send(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.note()
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        if self.path.startswith("/v1/watchers/login"):
            self.send(200, b'{"code":200,"expire":"2099-01-01T00:00:00Z","token":"forged.token.x"}')
        else:
            self.send(201, b"[]")

    def do_GET(self):
        self.note()
        mode = open(mode_file).read().strip()
        if not self.path.startswith("/v1/decisions/stream"):
            return self.send(404, b'{"message":"no"}')
        try:
            if mode == "forged":
                return self.send(200, forged())
            if mode == "witness":
                w = os.environ.get("WITNESS", "203.0.113.99")
                return self.send(200, json.dumps({"deleted": None, "new": [dec(w)]}).encode())
            if mode == "nested":
                return self.send(200, b'{"deleted":null,"new":' + b"[" * 200000 + b"]" * 200000 + b"}")
            if mode == "garbage":
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                self.wfile.write(b"\x00\xff{{{" * 1000)
                self.close_connection = True
                return
            if mode == "huge":
                # No Content-Length: the body ends when the connection closes (HTTP/1.1 allows
                # it), so it is made as it goes, never held here.
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                self.wfile.write(b'{"deleted":null,"new":[')
                sent, k, chunk = 0, 0, []
                while sent < HUGE_MB * 1024 * 1024:
                    b = json.dumps(dec("10.%d.%d.%d" % (k >> 16 & 255, k >> 8 & 255, k & 255))).encode() + b","
                    chunk.append(b); sent += len(b); k += 1
                    if len(chunk) == 4096:
                        self.wfile.write(b"".join(chunk)); chunk = []
                self.wfile.write(b"".join(chunk) + json.dumps(dec("10.255.255.255")).encode() + b"]}")
                return
        except (BrokenPipeError, ConnectionResetError):
            return   # the bouncer gave up on the body: what a bounded reader does
        self.send(500, b'{"message":"unknown mode"}')


ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
