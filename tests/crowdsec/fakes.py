"""Stand-ins for nfsentry-crowdsec's two peers, for tests without root: the daemon's control
socket (docs/control.md: watch, bans, fleet) and CrowdSec's Local API (the bodies crowdsec
1.4.6 sends, docs/crowdsec.md). Each records what the bridge asked, and can be told to fail."""
import json
import os
import signal
import socket
import subprocess
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeDaemon:
    """A control socket: `watch` connections kept open (push() writes an event line to each),
    `bans` answered from self.bans, `fleet` recorded in self.fleet and answered with counts."""

    def __init__(self, path):
        self.path = path
        self.bans = []
        self.fleet = []          # the requests, as dicts
        self.requests = []       # every command name, in order
        self.watchers = []
        self.lock = threading.Lock()
        self.refuse_fleet = None  # an error text: answer ok false
        self.greeting = []        # events sent with the answer to `watch`
        daemon = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline()
                try:
                    req = json.loads(line)
                except ValueError:
                    self.wfile.write(b'{"ok":false,"error":"not JSON"}\n')
                    return
                cmd = req.get("command")
                with daemon.lock:
                    daemon.requests.append(cmd)
                if cmd == "watch":
                    # The answer and daemon.greeting's events in one write: one read gets both.
                    self.wfile.write(b'{"ok":true,"seq":1}\n' + b"".join((json.dumps(e) + "\n").encode()
                                                                       for e in daemon.greeting))
                    with daemon.lock:
                        daemon.watchers.append(self.connection)
                    # Held open until the peer closes (or the daemon stops).
                    while self.connection.recv(1):
                        pass
                    return
                if cmd == "bans":
                    ans = {"ok": True, "bans": daemon.bans}
                elif cmd == "fleet":
                    with daemon.lock:
                        daemon.fleet.append(req)
                    if daemon.refuse_fleet:
                        ans = {"ok": False, "error": daemon.refuse_fleet}
                    else:
                        ans = {"ok": True, "banned": len(req.get("ban", [])), "unbanned": len(req.get("unban", [])),
                               "protected": 0, "errors": []}
                else:
                    ans = {"ok": False, "error": "unknown command"}
                self.wfile.write((json.dumps(ans) + "\n").encode())

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(path, Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def push(self, event):
        data = (json.dumps(event) + "\n").encode()
        with self.lock:
            for c in list(self.watchers):
                try:
                    c.sendall(data)
                except OSError:
                    self.watchers.remove(c)

    def drop_watchers(self):
        with self.lock:
            for c in self.watchers:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.watchers = []

    def fleet_bans(self):
        with self.lock:
            return [b["address"] for r in self.fleet for b in r.get("ban", [])]

    def fleet_unbans(self):
        with self.lock:
            return [a for r in self.fleet for a in r.get("unban", [])]

    def stop(self):
        self.drop_watchers()
        self.server.shutdown()
        self.server.server_close()
        os.unlink(self.path)


class FakeLapi:
    """The LAPI's login, alerts and decision stream. self.alerts holds the alerts taken;
    self.fail_alerts = N answers the next N POSTs with self.fail_status and self.fail_message
    (by default a validation failure, as crowdsec 1.4.6 words it); self.expire_token
    makes the next alert POST answer 401 once."""

    def __init__(self, machine, password, api_key, tls=None):
        self.alerts, self.logins, self.posts, self.pulls = [], 0, 0, []
        self.headers_seen = []
        self.fail_alerts, self.fail_status, self.expire_token = 0, 503, False
        self.fail_message = "validation failure list:\n0.capacity in body is required"
        self.fail_after = 0       # alerts of a failed batch taken before the failure (1.4.6 is not atomic)
        self.stream = []          # bodies to serve to startup=false pulls, in order
        self.startup = {"new": None, "deleted": None}
        self.lock = threading.Lock()
        self.token = "tok1"
        self.redirect_to = None   # a URL: every GET answers 302 to it
        lapi = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def send(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lapi.lock:
                    lapi.headers_seen.append(dict(self.headers))
                if self.path == "/v1/watchers/login":
                    req = json.loads(body)
                    if req.get("machine_id") != machine or req.get("password") != password:
                        return self.send(401, {"code": 401, "message": "incorrect Username or Password"})
                    with lapi.lock:
                        lapi.logins += 1
                        lapi.token = "tok%d" % lapi.logins
                    return self.send(200, {"code": 200, "expire": "2099-01-01T00:00:00Z", "token": lapi.token})
                if self.path == "/v1/alerts":
                    with lapi.lock:
                        lapi.posts += 1
                        if self.headers.get("Authorization") != "Bearer " + lapi.token:
                            return self.send(401, {"code": 401, "message": "cookie token is empty"})
                        if lapi.expire_token:
                            lapi.expire_token = False
                            lapi.token = "expired"
                            return self.send(401, {"code": 401, "message": "Token is expired"})
                        if lapi.fail_alerts:
                            lapi.fail_alerts -= 1
                            lapi.alerts += json.loads(body)[:lapi.fail_after]
                            return self.send(lapi.fail_status, {"message": lapi.fail_message})
                        alerts = json.loads(body)
                        lapi.alerts += alerts
                    return self.send(201, [str(i) for i in range(len(alerts))])
                self.send(404, {"message": "not found"})

            def do_GET(self):
                if lapi.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", lapi.redirect_to + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/v1/alerts?"):
                    with lapi.lock:
                        lapi.held_asked = getattr(lapi, "held_asked", 0) + 1
                        if self.headers.get("Authorization") != "Bearer " + lapi.token:
                            return self.send(401, {"code": 401, "message": "cookie token is empty"})
                        return self.send(200, [dict(a, machine_id=machine) for a in lapi.alerts])
                if not self.path.startswith("/v1/decisions/stream"):
                    return self.send(404, {"message": "not found"})
                if self.headers.get("X-Api-Key") != api_key:
                    return self.send(403, {"message": "access forbidden"})
                with lapi.lock:
                    startup = "startup=true" in self.path
                    lapi.pulls.append(startup)
                    if startup:
                        body = lapi.startup
                    elif lapi.stream:
                        body = lapi.stream.pop(0)
                    else:
                        body = {"new": None, "deleted": None}
                self.send(200, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        if tls:
            # tls: {"cert": PEM, "key": PEM, "client_ca": PEM or None (then no client certificate asked)}
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls["cert"], tls["key"])
            if tls.get("client_ca"):
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(tls["client_ca"])
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(cond, what, timeout=10.0):
    """Polls @cond every 20 ms for at most @timeout seconds; raises with @what if it never held."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def stop(proc):
    """SIGTERM to @proc if it still runs, SIGKILL if it has not exited 10 s later; its status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


class Tap:
    """TAP lines for meson (protocol tap): check() one line per check, waits() a bounded wait
    that is a check, done() the plan; failed counts the failures."""

    def __init__(self):
        self.n = self.failed = 0

    def check(self, cond, what):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what), flush=True)

    def waits(self, cond, what, timeout=10.0):
        try:
            wait_for(cond, what, timeout)
            self.check(True, what)
            return True
        except AssertionError:
            self.check(False, what + " (timed out)")
            return False

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0
