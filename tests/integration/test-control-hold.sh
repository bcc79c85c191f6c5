#!/bin/bash
# The control socket cannot be held (issue 10, item 11; docs/control.md, "Limits"):
# 1. a client trickling its request a byte every 2 s is cut off at the whole-request limit
#    (5 s from the connection), not kept for as long as it keeps sending;
# 2. with 300 clients connected that each sent part of a line and stalled, `nfsentryctl
#    status` is answered while the stalled clients are still held (before any of them reached
#    its limit: so not served after them), and every stalled client is cut off in the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CTL=${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}
LIMIT=5 # REQUEST_TIMEOUT_S in daemon/control/server.c
setup

step "a client sends its request a byte every 2 s"
held=$(timeout 60 python3 - "$TMPD/control.sock" <<'PY'
import select, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
start = time.monotonic()
req, answer = b'{"command":"status"', b""
for i in range(20):  # 40 s at most
    try:
        s.send(req[i % len(req):i % len(req) + 1])
    except OSError:
        break
    r, _, _ = select.select([s], [], [], 2)
    if r:
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            break
        answer += data
print("%.1f %d" % (time.monotonic() - start, len(answer)))
PY
)
echo "held for ${held% *} s (limit $LIMIT s); answer bytes: ${held#* }"
awk -v h="${held% *}" -v l=$LIMIT 'BEGIN { exit !(h >= l - 1 && h < 2 * l) }' ||
	fail "the trickling client was held ${held% *} s, not cut off at the ${LIMIT} s limit"
[ "${held#* }" = 0 ] || fail "the trickling client got an answer"

step "300 clients send part of a line and stall; nfsentryctl status meanwhile"
out=$(timeout 90 python3 - "$TMPD/control.sock" "$CTL" <<'PY'
import socket, subprocess, sys, time
path, ctl = sys.argv[1], sys.argv[2]
stalled, give_up = [], time.monotonic() + 10
while len(stalled) < 300 and time.monotonic() < give_up:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)   # a full backlog is EAGAIN: try again shortly, for 10 s at most
    try:
        s.connect(path)
        s.send(b'{"command":"sta')
        stalled.append(s)
    except BlockingIOError:
        s.close()
        time.sleep(0.01)
def held():
    n = 0
    for s in stalled:
        try:
            if s.recv(1, socket.MSG_PEEK):
                n += 1   # an answer: not what a stalled client gets, but still open
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n
t0 = time.monotonic()
st = subprocess.run([ctl, "-s", path, "status"], capture_output=True, text=True)
t1 = time.monotonic()
during = held()
end = time.monotonic() + 20
while held() and time.monotonic() < end:
    time.sleep(0.2)
print(len(stalled), st.returncode, during, held(), "%.2f" % (t1 - t0))
print(st.stdout.splitlines()[0] if st.stdout else st.stderr.strip())
PY
)
echo "$out"
read -r connected rc during after took <<<"$(head -n1 <<<"$out")"
echo "connected $connected stalled clients; status exited $rc after $took s with $during stalled clients still held; $after held 20 s later"
[ "$rc" = 0 ] || fail "nfsentryctl status failed while clients stalled: $(tail -n1 <<<"$out")"
[ "$connected" = 300 ] || fail "only $connected of 300 clients could connect within 10 s"
[ "$during" -gt 0 ] ||
	fail "status was answered only after every stalled client had been cut off (connected $connected)"
[ "$after" = 0 ] || fail "$after stalled clients are still held 20 s later"
daemon_alive || fail "the daemon died"
timeout 10 "$CTL" -s "$TMPD/control.sock" status >/dev/null || fail "status fails after the stall"
pass
