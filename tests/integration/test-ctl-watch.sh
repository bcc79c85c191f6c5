#!/bin/bash
# The control socket's watch and fleet commands against a live daemon (docs/control.md): an
# nmap scan shows in `nfsentryctl watch --json` as a ban of origin nfsentry, with its evidence
# token after it; a fleet request from a member of [fleet] group (reaching the socket through
# its ACL alone) bans in the fleet's sets, shows in `nfsentryctl bans` with origin crowdsec and
# in the watch, and its unban too; that member cannot ban, unban or reload. Attacks: a watcher
# that never reads while 20000 fleet bans go by, far more than its socket, its 64 KiB and the
# daemon's ring of 4096 events hold (the daemon answers others meanwhile, a reading watcher
# gets every event in order, none lost, and the stalled one, reading at last, gets the rest in
# order and is told how many it lost); a 5th watcher refused; fleet requests of garbage, and
# of over 1000 items, refused without harm.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_ctl
FLEET_GROUP=daemon   # [fleet] group; control_group stays empty (root only)
WATCH_PID=

# as_fleet CMD...: CMD as nobody with primary group $FLEET_GROUP and no other group.
as_fleet() { setpriv --reuid=nobody --regid="$FLEET_GROUP" --clear-groups "$@"; }
# fleet_req JSON: sends one request line as the fleet's member; prints the answer line.
fleet_req() { printf '%s\n' "$1" | as_fleet timeout 10 socat -t 10 - "UNIX-CONNECT:$SOCK"; }
# answer_is ANSWER EXPR: the Python expression EXPR holds for ANSWER parsed, as a.
answer_is() {
	python3 -c 'import json, sys; a = json.loads(sys.argv[1]); sys.exit(0 if eval("(%s\n)" % sys.argv[2]) else 1)' "$1" "$2"
}
# watched EXPR: a line of the watch (after its answer) for which EXPR holds, as e.
watched() {
	python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()[1:]
expr = compile("(%s\n)" % sys.argv[2], "EXPR", "eval")   # may span lines
sys.exit(0 if any(eval(expr, {"e": json.loads(l)}) for l in lines if l.strip()) else 1)' "$TMPD/watch.out" "$1"
}
socket_ready() { [ -S "$SOCK" ]; }
watch_answered() { [ -s "$TMPD/watch.out" ]; }

chmod 755 "$TMPD"   # nobody must reach the socket
setup daemon.control_socket="$SOCK" ban.duration=10m fleet.group="$FLEET_GROUP"
wait_until 5 socket_ready || fail "no control socket at $SOCK"
log_has "control socket: group $FLEET_GROUP may ask for status, bans, watch and fleet" ||
	fail "the daemon does not say the [fleet] group was let in"

step "nfsentryctl watch --json, as the [fleet] group's member"
as_fleet timeout 100 "$NFSENTRYCTL" -s "$SOCK" --json watch >"$TMPD/watch.out" 2>"$TMPD/watch.err" &
WATCH_PID=$!
wait_until 5 watch_answered || fail "watch: no answer: $(cat "$TMPD/watch.err")"
# and as text, by root, until the attack below needs its place
timeout 100 "$NFSENTRYCTL" -s "$SOCK" watch >"$TMPD/watch.txt" 2>&1 &
TEXT_PID=$!
answer_is "$(head -1 "$TMPD/watch.out")" 'a["ok"] is True and a["seq"] >= 1' ||
	fail "watch's answer: $(head -1 "$TMPD/watch.out")"

step "an nmap scan: a ban of origin nfsentry in the watch, its evidence token after"
scan -sS -p 1-100
wait_for_log "^banned $S4 for 10m"
wait_until 5 watched 'e["event"] == "ban" and e["address"] == "'"$S4"'" and e["origin"] == "nfsentry"
	and e["detector"] == "scan" and e["seconds"] == 600 and e["events"] >= 10 and e["until"] > '"$(date +%s)" ||
	fail "the watch shows no ban of $S4 by nfsentry: $(cat "$TMPD/watch.out")"
wait_until 10 watched 'e["event"] == "evidence" and e["address"] == "'"$S4"'" and len(e["token"]) == 64' ||
	fail "the watch shows no evidence token for $S4: $(cat "$TMPD/watch.out")"
text_has() { grep -qE -- "$1" "$TMPD/watch.txt"; }
wait_until 5 text_has "^#[0-9]+ ban $S4 for 10m by nfsentry \(scan, [0-9]+ events\)\$" &&
	wait_until 5 text_has "^#[0-9]+ evidence $S4 [0-9a-f]{64}\$" || fail "nfsentryctl watch as text: $(cat "$TMPD/watch.txt")"
kill "$TEXT_PID"

step "a fleet request through the socket, as the [fleet] group's member"
ans=$(fleet_req '{"command":"fleet","ban":[{"address":"203.0.113.0/24","seconds":300},{"address":"192.0.2.9","seconds":120},{"address":"2001:db8:77::/48","seconds":60},{"address":"garbage","seconds":60},{"address":"198.51.100.1","seconds":60},{"address":"0.0.0.0/1","seconds":60}],"unban":["192.0.2.200"]}') ||
	fail "fleet: no answer"
answer_is "$ans" 'a["ok"] is True and a["banned"] == 3 and a["invalid"] == 1 and a["protected"] == 1
	and a["too_wide"] == 1 and a["absent"] == 1 and len(a["errors"]) == 3' || fail "fleet answered: $ans"
set_has fleetnet4 203.0.113.0/24 || fail "203.0.113.0/24 not in fleetnet4: $(set_elems fleetnet4)"
set_has fleet4 192.0.2.9 || fail "192.0.2.9 not in fleet4: $(set_elems fleet4)"
set_has fleetnet6 2001:db8:77::/48 || fail "2001:db8:77::/48 not in fleetnet6: $(set_elems fleetnet6)"
! set_has fleet4 198.51.100.1 || fail "this host's own address was banned by the fleet"
"$NFSENTRYCTL" -s "$SOCK" bans >"$TMPD/bans.out" || fail "nfsentryctl bans failed"
grep -qE '^203\.0\.113\.0/24 +manual +crowdsec +' "$TMPD/bans.out" || fail "bans has no crowdsec row for 203.0.113.0/24: $(cat "$TMPD/bans.out")"
grep -qE "^$S4 +scan +nfsentry +" "$TMPD/bans.out" || fail "bans has no nfsentry row for $S4: $(cat "$TMPD/bans.out")"
"$NFSENTRYCTL" -s "$SOCK" bans --origin nfsentry,manual >"$TMPD/bans.out" || fail "nfsentryctl bans --origin failed"
grep -qE "^$S4 +scan +nfsentry +" "$TMPD/bans.out" && ! grep -q crowdsec "$TMPD/bans.out" ||
	fail "bans --origin nfsentry,manual: $(cat "$TMPD/bans.out")"
"$NFSENTRYCTL" -s "$SOCK" --json bans >"$TMPD/bans.json"
answer_is "$(cat "$TMPD/bans.json")" 'any(b["address"] == "192.0.2.9" and b["origin"] == "crowdsec" and 0 < b["seconds_left"] <= 120
	for b in a["bans"])' || fail "bans --json: 192.0.2.9 not of origin crowdsec: $(cat "$TMPD/bans.json")"
wait_until 5 watched 'e["event"] == "ban" and e["address"] == "203.0.113.0/24" and e["origin"] == "crowdsec"' ||
	fail "the watch shows no fleet ban: $(tail -5 "$TMPD/watch.out")"
ans=$(fleet_req '{"command":"fleet","unban":["192.0.2.9"]}')
answer_is "$ans" 'a["unbanned"] == 1' || fail "fleet unban answered: $ans"
wait_until 5 watched 'e["event"] == "unban" and e["address"] == "192.0.2.9" and e["origin"] == "crowdsec" and e["why"] == "fleet"' ||
	fail "the watch shows no fleet unban: $(tail -5 "$TMPD/watch.out")"
! set_has fleet4 192.0.2.9 || fail "192.0.2.9 still in fleet4 after the fleet's unban"

step "the [fleet] group may not ban, unban, allow or reload"
for cmd in "ban 192.0.2.10" "unban $S4" "allow 192.0.2.0/24" reload "sources"; do
	rc=0
	# shellcheck disable=SC2086 # the command and its argument are words
	as_fleet "$NFSENTRYCTL" -s "$SOCK" $cmd >"$TMPD/f.out" 2>"$TMPD/f.err" || rc=$?
	[ "$rc" = 1 ] && grep -q 'the \[fleet\] group may ask for status, bans, watch and fleet only' "$TMPD/f.err" ||
		fail "the [fleet] group's $cmd: exit $rc: $(cat "$TMPD/f.out" "$TMPD/f.err")"
done
ban4_has "$S4" || fail "the fleet's member lifted $S4's ban"
as_fleet "$NFSENTRYCTL" -s "$SOCK" status >/dev/null || fail "the [fleet] group's status refused"
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups "$NFSENTRYCTL" -s "$SOCK" status >/dev/null 2>"$TMPD/f.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'permission denied' "$TMPD/f.err" || fail "a stranger reached the socket: exit $rc $(cat "$TMPD/f.err")"

step "attack: a watcher that never reads, while 20000 fleet bans go by; a 5th watcher refused"
python3 - "$SOCK" "$TMPD" <<'PY' || fail "the stalled watcher"
import json, socket, sys, threading, time
path, tmpd = sys.argv[1], sys.argv[2]
def dial(line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(line.encode() + b"\n")
    return s
def first_line(s):
    buf = b""
    while b"\n" not in buf:
        d = s.recv(1)
        if not d:
            break
        buf += d
    return json.loads(buf)
def ask(req):
    s = dial(json.dumps(req))
    a = first_line(s)
    s.close()
    return a
stalled = dial('{"command":"watch"}')
stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # fills at once
start = first_line(stalled)["seq"]
reader = dial('{"command":"watch"}')   # the third, with nfsentryctl's
first_line(reader)
fourth = dial('{"command":"watch"}')
assert first_line(fourth)["ok"] is True, "a 4th watcher refused"
fifth = first_line(dial('{"command":"watch"}'))
if fifth["ok"] is not False or not fifth["error"].startswith("too many watchers"):
    sys.exit("a 5th watcher: %r" % fifth)
fourth.close()
def lines(s, until_seq, limit_s):
    buf, out, deadline = b"", [], time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        buf += d
        while b"\n" in buf:
            l, buf = buf.split(b"\n", 1)
            out.append(json.loads(l))
            if out[-1].get("seq", 0) >= until_seq - 1:
                return out
    return out
# The reader reads all along, until the last fleet ban's event.
N = 20
read = []
def read_all():
    read.extend(lines(reader, start + N * 1000 + 1, 60))
t = threading.Thread(target=read_all)
t.start()
# 20000 fleet bans in 20 requests; status answered after each while the stalled one takes nothing.
for r in range(N):
    bans = [{"address": "100.%d.%d.%d" % (64 + r, i // 256, i % 256), "seconds": 60} for i in range(1000)]
    a = ask({"command": "fleet", "ban": bans})
    if a.get("banned") != 1000:
        sys.exit("fleet request %d: %r" % (r, {k: v for k, v in a.items() if k != "errors"}))
    st = ask({"command": "status"})
    if st.get("ok") is not True:
        sys.exit("status while a watcher stalls: %r" % st)
end = ask({"command": "watch"})   # its answer's seq: where the next event will be
if end.get("ok") is not True:
    sys.exit("a watcher after the 4th left: %r" % end)
end_seq = end["seq"]
t.join(70)
# The reader kept up: every event, in order, none lost.
seqs = [e["seq"] for e in read if "seq" in e]
lost = sum(e["count"] for e in read if e["event"] == "lost")
if seqs != list(range(start, end_seq)) or lost:
    sys.exit("the reader: %d events + %d lost, for %d put" % (len(seqs), lost, end_seq - start))
# The stalled one reads at last: in order, and told what it lost.
stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
got = lines(stalled, end_seq, 20)
seqs = [e["seq"] for e in got if "seq" in e]
lost = sum(e["count"] for e in got if e["event"] == "lost")
if seqs != sorted(seqs) or not lost or len(seqs) + lost != end_seq - start:
    sys.exit("the stalled watcher: %d events + %d told lost, for %d put" % (len(seqs), lost, end_seq - start))
print("stalled watcher: %d events, %d told lost, of %d" % (len(seqs), lost, end_seq - start))
PY
daemon_alive || fail "the daemon died"
kill -0 "$WATCH_PID" 2>/dev/null || fail "nfsentryctl watch ended: $(cat "$TMPD/watch.err")"

step "attack: fleet requests of garbage"
for line in '{"command":"fleet","ban":"x"}' '{"command":"fleet","ban":[1,2,[3],{"address":{}}]}' \
	'{"command":"fleet","unban":[null,true,"1.2.3.4/99","::/200"]}' '{"command":"fleet","ban":[{"address":"1.2.3.4","seconds":"60"}]}' \
	'{"command":"fleet","ban":[{"address":"1.2.3.4","seconds":1e99}]}' '{"command":"fleet"'; do
	ans=$(fleet_req "$line") || fail "no answer to $line"
	answer_is "$ans" '(a["ok"] is False and a["error"]) or (a["ok"] is True and a["banned"] == 0 and a["invalid"] >= 1)' ||
		fail "garbage $line answered $ans"
done
python3 -c 'import json; print(json.dumps({"command": "fleet", "unban": ["192.0.2.%d" % (i % 250) for i in range(1001)]}))' >"$TMPD/big.json"
ans=$(as_fleet timeout 10 socat -t 10 - "UNIX-CONNECT:$SOCK" <"$TMPD/big.json")
answer_is "$ans" 'a["ok"] is False and "at most 1000" in a["error"]' || fail "1001 items answered: $ans"
head -c 70000 /dev/urandom | as_fleet timeout 10 socat -t 10 - "UNIX-CONNECT:$SOCK" >/dev/null || true
daemon_alive || fail "the daemon died of garbage"
as_fleet "$NFSENTRYCTL" -s "$SOCK" status >/dev/null || fail "status after the garbage"

step "a reload that changes [fleet] group: said to wait for a restart; the socket unchanged"
write_config daemon.control_socket="$SOCK" ban.duration=10m fleet.group=nogroup
log_mark
kill -HUP "$DAEMON_PID"
wait_for_log "reload: \[daemon\] control_socket, control_group and \[fleet\] group take effect at the next restart"
as_fleet "$NFSENTRYCTL" -s "$SOCK" status >/dev/null || fail "the [fleet] group refused after a reload"

step "the daemon stops: watch ends, exit 1"
stop_daemon
wait_until 5 eval '! kill -0 "$WATCH_PID" 2>/dev/null' || fail "nfsentryctl watch still running after the daemon stopped"
rc=0
wait "$WATCH_PID" || rc=$?
[ "$rc" = 1 ] && grep -q 'closed the connection' "$TMPD/watch.err" || fail "watch ended with $rc: $(cat "$TMPD/watch.err")"
pass
