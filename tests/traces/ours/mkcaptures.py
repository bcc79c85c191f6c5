#!/usr/bin/env python3
"""mkcaptures.py - makes the captures of tests/traces/ours, the ones this project made itself (issue 14):
typed shell sessions and machine protocols that the `interactive` detector must tell apart.

Run as root from the source root: python3 tests/traces/ours/mkcaptures.py [OUTDIR=tests/traces/ours [NAME...]]
(NAME: typed-shell, paced-shell, http2, postgres, mysql, resp, dnp3; all when none).
Debian packages: tcpdump, socat, bash, nghttp2-server (nghttpd), postgresql (server and
psql), mariadb-server and mariadb-client (version 15 and 10.11 in Debian 12). Two network
namespaces joined by a veth pair, with the documentation addresses 192.0.2.1 (client) and
192.0.2.2 (server); nothing leaves them.
Every random choice is seeded, so a rerun makes sessions of the same shape (times differ).

The captures:
- typed-shell-2323.pcap: a person at a bind shell (socat, bash in a pty) on port 2323, keys
  80-400 ms apart, pauses of 2-5 s to read: Zhang & Paxson sec. 3's criteria.
- paced-shell-2323.pcap: the same commands dripped out by a script at 200 ms +- 2 ms a key,
  the attacker who paces keystrokes like a machine (docs/security.md).
- http2-poll-80.pcap: nghttpd on port 80 without TLS, a client polling a page over one HTTP/2
  connection (prior knowledge) at irregular intervals (0.2-1.5 s). The client is framed by
  hand in Python: curl 7.88's `--rate` breaks HTTP/2 connection reuse.
- postgres-queries-5432.pcap: psql sending short queries at irregular intervals (0.1-1.5 s),
  as an application does.
- mysql-queries-3306.pcap: the mariadb client doing the same against MariaDB.
- resp-poll-6379.pcap: a client sending Redis PING every 0.5 s (what `redis-cli -i 0.5 ping`
  does), a Python server answering PONG.
- dnp3-poll-20000.pcap: a DNP3 master reading an outstation's class 0 data every second
  (18-byte requests with the link CRCs), both in Python.
"""
import os
import pty
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

NS_C, NS_S = "nfscap-c", "nfscap-s"
CLIENT, SERVER = "192.0.2.1", "192.0.2.2"
COMMANDS = ["id", "uname -a", "ls -la /tmp", "cat /etc/hostname", "ps ax | head -5", "echo hello world",
            "df -h /", "exit"]


STARTED = []  # every server and tcpdump started, stopped at the end whatever happened


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    STARTED.append(p)
    return p


def stop_all():
    for p in STARTED:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def run(*cmd, check=True):
    return subprocess.run(cmd, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ns(name, *cmd):
    return ["ip", "netns", "exec", name, *cmd]


def setup():
    teardown()
    run("ip", "netns", "add", NS_C)
    run("ip", "netns", "add", NS_S)
    run("ip", "link", "add", "nfscap0", "netns", NS_C, "type", "veth", "peer", "name", "nfscap1", "netns", NS_S)
    for n, dev, addr in ((NS_C, "nfscap0", CLIENT), (NS_S, "nfscap1", SERVER)):
        run(*ns(n, "ip", "addr", "add", addr + "/24", "dev", dev))
        run(*ns(n, "ip", "link", "set", dev, "up"))
        run(*ns(n, "ip", "link", "set", "lo", "up"))
        # Segmentation offloads off, so the capture holds the segments as sent.
        run(*ns(n, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"), check=False)


def teardown():
    for n in (NS_C, NS_S):
        run("ip", "netns", "del", n, check=False)


class Capture:
    """tcpdump on the server's side of the veth, for one TCP port, into @path."""

    def __init__(self, path, port):
        self.p = spawn(ns(NS_S, "tcpdump", "-i", "nfscap1", "-U", "-w", path, "tcp", "port", str(port)),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)

    def stop(self):
        time.sleep(1)
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=10)


def wait_port(port, deadline=10):
    end = time.time() + deadline
    while time.time() < end:
        if subprocess.run(ns(NS_C, "bash", "-c", f"exec 3<>/dev/tcp/{SERVER}/{port}"),
                          stderr=subprocess.DEVNULL).returncode == 0:
            return
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} not up after {deadline} s")


def shell(path, gap):
    """A bind shell on 2323 and a client typing COMMANDS through a pty; @gap(rng, ch) -> seconds."""
    port = 2323
    srv = spawn(ns(NS_S, "env", "-i", "HOME=/tmp", "PS1=$ ", "TERM=xterm", "socat",
                   f"TCP-LISTEN:{port},reuseaddr",
                   "EXEC:bash --norc --noprofile -i,pty,stderr,setsid,sigint,sane"),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    cap = Capture(path, port)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("ip", ns(NS_C, "socat", "-,raw,echo=0", f"TCP:{SERVER}:{port}"))
    rng = random.Random(14)
    end = time.time() + 120

    def drain(seconds):
        stop = time.time() + seconds
        while time.time() < stop:
            r, _, _ = select.select([fd], [], [], max(0.0, stop - time.time()))
            if r:
                try:
                    os.read(fd, 4096)
                except OSError:
                    return

    drain(1.5)
    for cmd in COMMANDS:
        for ch in cmd + "\r":
            os.write(fd, ch.encode())
            drain(gap(rng, ch))
        if time.time() > end:
            break
    drain(1)
    os.waitpid(pid, 0)
    srv.wait(timeout=10)
    cap.stop()


def typed_gap(rng, ch):
    # A person: 80-400 ms a key; after Enter, 2-5 s reading the output.
    return rng.uniform(2.0, 5.0) if ch == "\r" else rng.uniform(0.08, 0.4)


def paced_gap(rng, ch):
    return 0.2 + rng.uniform(-0.002, 0.002)


H2_CLIENT = r'''
import random, socket, struct, sys, time
# HTTP/2 with prior knowledge (RFC 9113 sec. 3.3), framed by hand: the preface, SETTINGS, then
# GET requests whose HPACK headers are indexed after the first, as real clients send them.
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = socket.create_connection((host, port))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def frame(typ, flags, sid, body):
    return struct.pack(">I", len(body))[1:] + bytes([typ, flags]) + struct.pack(">I", sid) + body
c.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b""))
c.settimeout(0.05)
def drain():
    try:
        while c.recv(65536):
            pass
    except socket.timeout:
        pass
drain()
c.sendall(frame(4, 1, 0, b""))                   # SETTINGS ACK
path, auth = b"/status", host.encode()
first = b"\x82\x86" + bytes([0x44, len(path)]) + path + bytes([0x41, len(auth)]) + auth
again = b"\x82\x86\xbf\xbe"                       # :path, :authority from the dynamic table
rng = random.Random(80)
for i in range(n):
    c.sendall(frame(1, 5, 1 + 2 * i, first if i == 0 else again))  # HEADERS, END_STREAM|END_HEADERS
    time.sleep(rng.uniform(0.2, 1.5))
    drain()
c.sendall(frame(7, 0, 0, struct.pack(">II", 1 + 2 * (n - 1), 0)))  # GOAWAY
c.close()
'''


def http2(path):
    port = 80
    www = tempfile.mkdtemp(prefix="nfscap-www.")
    with open(os.path.join(www, "status"), "w") as f:
        f.write("ok\n")
    srv = spawn(ns(NS_S, "nghttpd", "--no-tls", "-d", www, str(port)),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    cap = Capture(path, port)
    subprocess.run(ns(NS_C, sys.executable, "-c", H2_CLIENT, SERVER, str(port), "40"), check=True, timeout=90)
    cap.stop()
    srv.terminate()
    srv.wait(timeout=10)
    shutil.rmtree(www)


def queries(path, port, srv, data, client, choices):
    """Captures @client (a database's command-line client) sending 40 of @choices at irregular
    0.1-1.5 s, as an application does, to @srv on @port; then stops @srv and removes @data."""
    wait_port(port, 30)
    cap = Capture(path, port)
    cli = subprocess.Popen(ns(NS_C, *client), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    rng = random.Random(port)
    for _ in range(40):
        cli.stdin.write((rng.choice(choices) + "\n").encode())
        cli.stdin.flush()
        time.sleep(rng.uniform(0.1, 1.5))
    cli.stdin.close()
    cli.wait(timeout=10)
    cap.stop()
    srv.terminate()
    srv.wait(timeout=30)
    shutil.rmtree(data)


def postgres(path):
    port = 5432
    data = tempfile.mkdtemp(prefix="nfscap-pg.")
    shutil.chown(data, "postgres", "postgres")
    pgbin = "/usr/lib/postgresql/15/bin"
    subprocess.run(["runuser", "-u", "postgres", "--", f"{pgbin}/initdb", "-D", data + "/db", "--auth=trust"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(data + "/db/pg_hba.conf", "a") as f:
        f.write("host all all 192.0.2.0/24 trust\n")
    srv = spawn(ns(NS_S, "runuser", "-u", "postgres", "--", f"{pgbin}/postgres", "-D", data + "/db",
                   "-c", f"listen_addresses={SERVER}", "-c", f"unix_socket_directories={data}",
                   "-c", "ssl=off", "-p", str(port)),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    queries(path, port, srv, data, ["psql", "-h", SERVER, "-U", "postgres", "-d", "postgres", "-q", "-X"],
            ["SELECT 1;", "SELECT now();", "SELECT 2+2;", "BEGIN;", "COMMIT;"])


def mysql(path):
    port = 3306
    data = tempfile.mkdtemp(prefix="nfscap-my.")
    shutil.chown(data, "mysql", "mysql")
    subprocess.run(["mariadb-install-db", "--user=mysql", f"--datadir={data}/db", "--skip-test-db"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = spawn(ns(NS_S, "mariadbd", "--no-defaults", "--user=mysql", f"--datadir={data}/db",
                   f"--socket={data}/sock", f"--pid-file={data}/pid", f"--bind-address={SERVER}",
                   f"--port={port}", "--skip-grant-tables", "--skip-log-error"),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    queries(path, port, srv, data, ["mariadb", "--no-defaults", "-h", SERVER, "-u", "root", "-N", "-B"],
            ["SELECT 1;", "SELECT NOW();", "SELECT 2+2;", "DO 0;", "SELECT @@port;"])


SERVER_PY = r'''
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
c, _ = s.accept()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
reply = bytes.fromhex(sys.argv[3])
while True:
    b = c.recv(4096)
    if not b:
        break
    c.sendall(reply)
'''


def poll(path, port, request, reply, period, count):
    srv = spawn(ns(NS_S, sys.executable, "-c", SERVER_PY, SERVER, str(port), reply.hex()))
    time.sleep(1)
    cap = Capture(path, port)
    client = r'''
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req, period, n = bytes.fromhex(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
t = time.monotonic()
for i in range(n):
    c.sendall(req)
    c.recv(4096)
    t += period
    time.sleep(max(0.0, t - time.monotonic()))
c.close()
'''
    subprocess.run(ns(NS_C, sys.executable, "-c", client, SERVER, str(port), request.hex(), str(period), str(count)),
                   check=True, timeout=count * period + 30)
    srv.wait(timeout=10)
    cap.stop()


def dnp3_crc(b):
    crc = 0
    for x in b:
        crc ^= x
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return struct.pack("<H", ~crc & 0xFFFF)


def dnp3_frame(ctrl, dst, src, user):
    head = bytes([0x05, 0x64, 5 + len(user), ctrl]) + struct.pack("<HH", dst, src)
    out = head + dnp3_crc(head)
    for i in range(0, len(user), 16):
        out += user[i:i + 16] + dnp3_crc(user[i:i + 16])
    return out


def main():
    if os.geteuid() != 0:
        raise SystemExit("run as root (network namespaces, tcpdump)")
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/traces/ours"
    only = sys.argv[2:]  # names of captures to make (all when none)
    want = lambda name: not only or name in only
    setup()
    try:
        if want("typed-shell"):
            shell(os.path.join(out, "typed-shell-2323.pcap"), typed_gap)
        if want("paced-shell"):
            shell(os.path.join(out, "paced-shell-2323.pcap"), paced_gap)
        if want("http2"):
            http2(os.path.join(out, "http2-poll-80.pcap"))
        if want("postgres"):
            postgres(os.path.join(out, "postgres-queries-5432.pcap"))
        if want("mysql"):
            mysql(os.path.join(out, "mysql-queries-3306.pcap"))
        if want("resp"):
            poll(os.path.join(out, "resp-poll-6379.pcap"), 6379, b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n", 0.5, 50)
        # DNP3 read of class 0 (group 60 var 1, all objects): transport FIR|FIN, application
        # control FIR|FIN, function READ; the outstation answers with a short response.
        req = dnp3_frame(0xC4, 10, 1, bytes([0xC0, 0xC0, 0x01, 0x3C, 0x01, 0x06]))
        resp = dnp3_frame(0x44, 1, 10, bytes([0xC0, 0xC0, 0x81, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x03,
                                              0x01, 0x01, 0x01, 0x01]))
        if want("dnp3"):
            poll(os.path.join(out, "dnp3-poll-20000.pcap"), 20000, req, resp, 1.0, 32)
    finally:
        stop_all()
        teardown()


if __name__ == "__main__":
    main()
