#!/usr/bin/env python3
"""test-bridge-tls: nfsentry-crowdsec's transport to the LAPI. Over https ([lapi] ca_file,
cert_file, key_file) against a stand-in LAPI with certificates made here by openssl: the LAPI's
own CA is trusted only when named, and a LAPI that asks for a client certificate gets one only
when configured. A LAPI that accepts and never answers is waited for [lapi] timeout, not
forever; a redirect is not followed. No root.

  test-bridge-tls.py BUILT-NFSENTRY-CROWDSEC"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakes import FakeDaemon, FakeLapi, Tap, stop, wait_for  # noqa: E402

tap = Tap()
check = tap.check


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by it."""
    p = lambda name: os.path.join(d, name)  # noqa: E731
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
            "-keyout", p("ca.key"), "-out", p("ca.pem"))
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", p(name + ".key"),
                "-out", p(name + ".csr"))
        with open(p(name + ".ext"), "w") as f:
            f.write(ext + "\n")
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                "-CAcreateserial", "-days", "2", "-extfile", p(name + ".ext"), "-out", p(name + ".pem"))
    return p


def run(exe, tmp, lapi, extra, want_applied, what):
    """Runs the bridge (apply only) against @lapi with [lapi] lines @extra; checks whether the
    start-up decision reaches the stand-in daemon."""
    sock = os.path.join(tmp, "control.sock")
    daemon = FakeDaemon(sock)
    conf = os.path.join(tmp, "crowdsec.conf")
    log = os.path.join(tmp, "bridge.log")
    with open(conf, "w") as f:
        f.write("[lapi]\nurl = %s\ncredentials = %s\n%s[publish]\nenabled = no\n"
                "[daemon]\ncontrol_socket = %s\nstate_dir = %s\n" % (lapi.url, os.path.join(tmp, "creds"), extra, sock,
                                                                     os.path.join(tmp, "state")))
    bridge = subprocess.Popen([exe, "-c", conf], stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        if want_applied:
            try:
                wait_for(lambda: "203.0.113.5" in daemon.fleet_bans(), what, 10)
                check(True, what)
            except AssertionError:
                check(False, what + " (timed out)")
        else:
            time.sleep(2.5)
            check(not daemon.fleet_bans() and bridge.poll() is None, what)
    finally:
        rc = stop(bridge)
        daemon.stop()
    check(rc == 0, "  and it stops on SIGTERM with status 0 (%s)" % rc)
    text = open(log).read()
    if tap.failed:
        sys.stdout.write("# " + text.replace("\n", "\n# ") + "\n")
    return text


def main():
    exe = sys.argv[1]
    if not shutil.which("openssl"):
        print("1..0 # SKIP openssl not found")
        return 0
    tmp = tempfile.mkdtemp(prefix="test-bridge-tls.")
    p = make_certs(tmp)
    with open(os.path.join(tmp, "creds"), "w") as f:
        f.write("[bouncer]\napi_key = key-0123\n")
    os.chmod(os.path.join(tmp, "creds"), 0o600)
    startup = {"new": [{"duration": "1h", "id": 1, "origin": "cscli", "scenario": "t", "scope": "Ip", "type": "ban",
                        "value": "203.0.113.5"}], "deleted": None}

    lapi = FakeLapi("m1", "pw", "key-0123", tls={"cert": p("server.pem"), "key": p("server.key")})
    lapi.startup = startup
    try:
        run(exe, tmp, lapi, "ca_file = %s\n" % p("ca.pem"), True, "https with ca_file naming the LAPI's CA: applied")
        text = run(exe, tmp, lapi, "", False, "https without ca_file (the system's CAs): nothing taken from it")
        check("certificate" in text.lower() and text.count("cannot pull") == 1,
              "the certificate problem is logged, once")
    finally:
        lapi.stop()

    lapi = FakeLapi("m1", "pw", "key-0123", tls={"cert": p("server.pem"), "key": p("server.key"), "client_ca": p("ca.pem")})
    lapi.startup = startup
    try:
        run(exe, tmp, lapi, "ca_file = %s\n" % p("ca.pem"), False, "a LAPI asking for a client certificate, none configured")
        run(exe, tmp, lapi, "ca_file = %s\ncert_file = %s\nkey_file = %s\n" % (p("ca.pem"), p("client.pem"), p("client.key")),
            True, "with cert_file and key_file: applied")
    finally:
        lapi.stop()

    # Accepts, reads, never answers: the bridge gives up after [lapi] timeout each time, stays
    # up and stops on SIGTERM.
    class Stalled:
        def __init__(self):
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.sock.listen(16)
            self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
            self.held = []
            threading.Thread(target=self.serve, daemon=True).start()

        def serve(self):
            while True:
                try:
                    self.held.append(self.sock.accept()[0])
                except OSError:
                    return

    stalled = Stalled()
    text = run(exe, tmp, stalled, "timeout = 1s\n", False, "a LAPI that never answers: nothing applied, the bridge up")
    check("timed out" in text.lower() or "timeout" in text.lower(), "the timeout is logged")
    stalled.sock.close()

    # A redirect (to a LAPI that would answer) is not followed.
    lapi = FakeLapi("m1", "pw", "key-0123")
    lapi.startup = startup
    redirect = FakeLapi("m1", "pw", "key-0123")
    redirect.redirect_to = lapi.url
    try:
        text = run(exe, tmp, redirect, "", False, "a redirect is not followed")
        check("HTTP 302" in text, "its status is logged")
    finally:
        lapi.stop()
        redirect.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
