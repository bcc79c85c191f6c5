#!/bin/bash
# nfsentryctl against a live daemon: every command of docs/control.md, the protocol's error
# cases (garbage, a client that closes at once, one that says nothing), and who may connect.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_ctl
OTHER=198.51.100.3   # an address nobody uses: banned and unbanned by hand
PORT=9000            # open, and not in inspect_skip_tcp (8080 is), so its connections are inspected

# ctl ARGS...: nfsentryctl -s $SOCK ARGS (bounded); sets CTL_RC, CTL_OUT, CTL_ERR.
ctl() {
	CTL_RC=0
	timeout 20 "$NFSENTRYCTL" -s "$SOCK" "$@" >"$TMPD/ctl.out" 2>"$TMPD/ctl.err" || CTL_RC=$?
	CTL_OUT=$(cat "$TMPD/ctl.out")
	CTL_ERR=$(cat "$TMPD/ctl.err")
	[ "$CTL_RC" != 124 ] || fail "nfsentryctl $* still running after 20 s"
}
ctl_ok() {
	ctl "$@"
	[ "$CTL_RC" = 0 ] || fail "nfsentryctl $* exited $CTL_RC: $CTL_ERR"
}
# ctl_fails RC PATTERN ARGS...: nfsentryctl ARGS exits RC and its stderr matches PATTERN (ERE,
# case-insensitive).
ctl_fails() {
	local rc=$1 pat=$2
	shift 2
	ctl "$@"
	[ "$CTL_RC" = "$rc" ] || fail "nfsentryctl $* exited $CTL_RC, not $rc (out: $CTL_OUT; err: $CTL_ERR)"
	grep -qiE -- "$pat" <<<"$CTL_ERR" || fail "nfsentryctl $*: stderr '$CTL_ERR' does not match '$pat'"
}
# answer_is EXPR: the Python expression EXPR holds for the last answer printed with --json, as
# the dict a (which must be one line of JSON).
answer_is() {
	python3 -c '
import json, sys
text = open(sys.argv[2]).read()
if text.count("\n") != 1 or not text.endswith("\n"):
    sys.exit("--json printed %d lines, not one" % text.count("\n"))
a = json.loads(text)
try:
    ok = eval(compile("(%s\n)" % sys.argv[1], "EXPR", "eval"), {"a": a})   # may span lines
except (KeyError, TypeError, IndexError) as err:
    sys.exit("%s: %r" % (type(err).__name__, err))
sys.exit(0 if ok else 1)
' "$1" "$TMPD/ctl.out"
}
# json_has COMMAND EXPR: `nfsentryctl --json COMMAND` succeeds and EXPR holds.
json_has() { ctl --json "$1" && [ "$CTL_RC" = 0 ] && answer_is "$2" 2>/dev/null; }
out_has() { grep -qE -- "$1" <<<"$CTL_OUT"; }
as_nobody() { setpriv --reuid=nobody "$@"; }
socket_ready() { [ -S "$SOCK" ]; }

chmod 755 "$TMPD"   # nobody must reach the socket to be refused by it
setup daemon.control_socket="$SOCK" ban.duration=10m
wait_until 5 socket_ready || fail "no control socket at $SOCK"
[ "$(stat -c %a "$SOCK")" = 660 ] || fail "control socket mode $(stat -c %a "$SOCK"), not 660"

step "status"
version=$("$NFSENTRY" --version | awk '{ print $2 }')
ctl_ok status
out_has "^version +$version\$" || fail "status has no 'version $version' line: $CTL_OUT"
out_has '^uptime +[0-9dhms]+$' || fail "status has no uptime: $CTL_OUT"
for q in 0 1; do out_has "^queue $q +closed-port +packets +[0-9]+" || fail "status has no line for queue $q: $CTL_OUT"; done
for q in 8 9; do out_has "^queue $q +inspection +packets +[0-9]+" || fail "status has no line for queue $q: $CTL_OUT"; done
for k in sources flows bans; do out_has "^$k +[0-9]+" || fail "status has no $k count: $CTL_OUT"; done
ctl_ok --json status
answer_is 'a["ok"] is True and a["version"] == "'"$version"'" and a["uptime"] >= 0
	and sorted(q["queue"] for q in a["queues"]) == [0, 1, 8, 9]
	and all(q["kind"] == ("closed-port" if q["queue"] < 8 else "inspection") for q in a["queues"])
	and all(isinstance(q[k], int) for q in a["queues"]
		for k in ("packets", "accepted", "dropped", "malformed", "enobufs", "id_gaps"))
	and all(isinstance(a[k], int) for k in ("sources", "flows", "bans", "bans_added"))' ||
	fail "status --json: $CTL_OUT"
# The metrics file'"'"'s numbers, the same way: every family of docs/metrics.md.
answer_is 'all(f in a["metrics"] for f in ("nfsentry_queue_packets_total", "nfsentry_kernel_queue_waiting",
	"nfsentry_detections_total", "nfsentry_bans_active", "nfsentry_ban_latency_seconds",
	"nfsentry_verdict_latency_seconds", "nfsentry_sources_tracked", "nfsentry_flows_inspected",
	"nfsentry_evidence_bytes"))
	and sorted(s["labels"]["queue"] for s in a["metrics"]["nfsentry_queue_packets_total"]["samples"]) == ["0", "1", "8", "9"]
	and a["metrics"]["nfsentry_verdict_latency_seconds"]["type"] == "histogram"' ||
	fail "status --json has not every metric: $CTL_OUT"

step "flows: a connection to open port $PORT"
listen_tcp "$PORT"
fetch_ok "$V4" "$PORT" || fail "the scanner cannot reach open port $PORT"
flow_listed='any(f["client"] == "'"$S4"'" and f["server"] == "'"$V4"'" and f["sport"] == '"$PORT"'
	and f["cport"] > 0 and f["packets"] >= 1 and f["initiator_known"] is True for f in a["flows"])'
wait_until 5 json_has flows "$flow_listed" || fail "flows does not list $S4 -> $V4:$PORT: $CTL_OUT $CTL_ERR"
ctl_ok flows
out_has "^$S4:[0-9]+ +$V4:$PORT +[0-9]+ " || fail "flows table has no $S4 -> $V4:$PORT row: $CTL_OUT"
ctl_ok --json flows --limit 1
answer_is 'len(a["flows"]) <= 1' || fail "flows --limit 1 listed more: $CTL_OUT"

step "a scan: bans and sources"
scan -sS -p 1-100
wait_for_log "^banned $S4 for 10m \(offence 1\)"
scan_banned_at=$(date +%s)
wait_until 5 json_has bans 'any(b["address"] == "'"$S4"'" and b["detector"] == "scan" and b["offence"] == 1
	and b["origin"] == "nfsentry" and 0 < b["seconds_left"] <= 600 and b["timeout"] == 600 for b in a["bans"])' ||
	fail "bans does not list $S4 (scan, offence 1, time left): $CTL_OUT $CTL_ERR"
ctl_ok bans
out_has "^$S4 +scan +nfsentry +1 +[0-9]+[dhms]" || fail "bans table has no row for $S4 (scan, origin nfsentry): $CTL_OUT"
# The ban's evidence token reaches the ban table once its record is saved.
wait_until 5 json_has bans 'any(b["address"] == "'"$S4"'" and len(b.get("token", "")) == 64 for b in a["bans"])' ||
	fail "bans --json does not carry the ban's evidence token: $CTL_OUT"
ban_token=$(python3 -c 'import json, sys; print([b["token"] for b in json.load(open(sys.argv[1]))["bans"] if b["address"] == sys.argv[2]][0])' "$TMPD/ctl.out" "$S4")
json_has sources 'any(s["address"] == "'"$S4"'" and s["ports"] >= 10 and s["seconds_since_first"] >= s["seconds_since_last"] >= 0
	for s in a["sources"])' || fail "sources does not list $S4 with 10 ports or more: $CTL_OUT $CTL_ERR"
ctl_ok sources
out_has "^$S4 +[0-9]+ " || fail "sources table has no row for $S4: $CTL_OUT"
ctl_ok status
out_has '^bans +[1-9]' || fail "status counts no active ban: $CTL_OUT"

step "ban $OTHER --for 2m, then unban it"
ctl_fails 2 'not a duration' ban "$OTHER" --for 5x
ctl_fails 2 'not an IPv4 or IPv6 address' ban 198.51.100.300
ctl_fails 2 'missing ADDRESS' ban
! ban4_has "$OTHER" || fail "a refused command line banned $OTHER"
ctl_ok ban "$OTHER" --for 2m
out_has "^banned $OTHER for 2m\$" || fail "ban said: $CTL_OUT"
ban4_has "$OTHER" || fail "$OTHER not in ban4: $(set_elems ban4)"
[ "$(elem_timeout ban4 "$OTHER")" = 120 ] || fail "$OTHER's timeout is not 2m: $(set_elems ban4)"
wait_for_event 'e["event"] == "ban" and e["src"] == "'"$OTHER"'" and e["detector"] == "manual"'
wait_until 5 json_has bans 'any(b["address"] == "'"$OTHER"'" and b["detector"] == "manual" and b["timeout"] == 120
	and b["origin"] == "manual" and 0 < b["seconds_left"] <= 120 for b in a["bans"])' || fail "bans does not list $OTHER: $CTL_OUT $CTL_ERR"
ctl_ok bans
out_has "^$OTHER +manual +manual +1 +[0-9ms]+ +2m\$" || fail "bans table has no row for $OTHER: $CTL_OUT"
ctl_ok unban "$OTHER"
out_has "^unbanned $OTHER\$" || fail "unban said: $CTL_OUT"
log_has "banned $OTHER for 120s \(by hand: uid 0, through the control socket\)" &&
	log_has "unbanned $OTHER \(by hand: uid 0, through the control socket\)" ||
	fail "the log does not say who banned and unbanned $OTHER"
ban4_gone "$OTHER" || fail "$OTHER still in ban4 after unban: $(set_elems ban4)"
wait_for_event 'e["event"] == "unban" and e["src"] == "'"$OTHER"'" and e["detector"] == "manual"'
wait_until 5 json_has bans 'all(b["address"] != "'"$OTHER"'" for b in a["bans"])' ||
	fail "bans still lists $OTHER after unban: $CTL_OUT"
ctl_fails 1 '^nfsentryctl: .*not banned' unban "$OTHER"

step "an IPv6 ban covers the address's /64; unban by the prefix bans lists"
ctl_ok ban 2001:db8:2::5 --for 90s
out_has '^banned 2001:db8:2::/64 for 1m30s$' || fail "ban said: $CTL_OUT"
ban6_has 2001:db8:2::/64 || fail "2001:db8:2::/64 not in ban6: $(set_elems ban6)"
[ "$(elem_timeout ban6 2001:db8:2::/64)" = 90 ] || fail "2001:db8:2::/64's timeout is not 90s: $(set_elems ban6)"
ctl_ok bans
out_has '^2001:db8:2::/64 +manual ' || fail "bans table has no row for 2001:db8:2::/64: $CTL_OUT"
ctl_ok unban 2001:db8:2::/64
out_has '^unbanned 2001:db8:2::/64$' || fail "unban said: $CTL_OUT"
! set_has ban6 2001:db8:2::/64 || fail "2001:db8:2::/64 still in ban6: $(set_elems ban6)"

step "ban 127.0.0.1 is refused (allowlisted)"
ctl_fails 1 '^nfsentryctl: .*allowlisted' ban 127.0.0.1
set_elems ban4 | grep -q '^127\.' && fail "127.0.0.1 landed in ban4: $(set_elems ban4)"

step "allow $S4/32, unban it: its next scan is not banned"
ctl_fails 2 'not an IPv4 or IPv6 address or network' allow 198.51.100.0/33
ctl_fails 2 'host bits set; the network is 198\.51\.100\.0/24' allow 198.51.100.1/24
ctl_ok allow "$S4/32"
out_has "^allowed $S4(/32)? " || fail "allow said: $CTL_OUT"
ctl_ok unban "$S4"
ban4_gone "$S4" || fail "$S4 still in ban4 after unban"
# A source that requested a ban may not request again for 10 s (the tracker's hold): wait it
# out, so the next scan does reach the ban writer and its allowlist.
sleep $(( 11 - ($(date +%s) - scan_banned_at) > 0 ? 11 - ($(date +%s) - scan_banned_at) : 0 ))
log_mark
scan -sS -p 200-300
wait_for_log "^not banning $S4 .*allowlisted by $S4(/32)?$"
assert_not_banned

step "reload"
log_mark
ctl_ok reload
wait_for_log "configuration reloaded"

step "evidence (the records themselves: test-evidence)"
ctl_fails 1 '^nfsentryctl: "abc" is not a token \(64 lowercase hex digits\)$' evidence abc
ctl_fails 1 'not a token' evidence abc --pcap "$TMPD/evidence.pcap"
[ ! -e "$TMPD/evidence.pcap" ] || fail "a refused evidence request wrote its pcap file"
ctl_fails 1 '^nfsentryctl: no evidence record with token 0{64}' evidence "$(printf '0%.0s' $(seq 64))"
ctl_fails 2 'missing TOKEN' evidence
ctl_fails 2 'takes no TOKEN' evidence --verify abc
ctl --json evidence abc
[ "$CTL_RC" = 1 ] || fail "evidence --json exited $CTL_RC, not 1"
answer_is 'a["ok"] is False and "not a token" in a["error"]' || fail "evidence --json: $CTL_OUT"
token=$(events_match 'e["event"] == "ban" and e["detector"] == "scan"' | head -1 |
	python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["token"])')
ctl_ok evidence "$token"
out_has '^verdict +intact$' || fail "evidence $token: not intact: $CTL_OUT"
ctl_ok evidence --verify
out_has '^intact$' || fail "evidence --verify: $CTL_OUT"
[ "$token" = "$ban_token" ] || fail "the ban table's token $ban_token is not the ban event's $token"

step "garbage, unknown commands, clients that close at once or say nothing"
for line in 'nonsense' '{"command":"frobnicate"}' '[1,2]' '{"command":7}'; do
	out=$(printf '%s\n' "$line" | timeout 10 socat - "UNIX-CONNECT:$SOCK") || fail "socat: no answer to '$line'"
	python3 -c '
import json, sys
a = json.loads(sys.argv[1])
sys.exit(0 if a["ok"] is False and isinstance(a["error"], str) and a["error"] else 1)
' "$out" || fail "answer to '$line' is not ok:false with an error: $out"
done
python3 - "$SOCK" <<'EOF' || fail "connecting and closing at once failed"
import socket, sys
for payload in (b"", b'{"command":"sta', b'{"command":"status"}'):
    for _ in range(20):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        if payload:
            s.sendall(payload)
        s.close()
EOF
daemon_alive || fail "the daemon died after clients closed at once"
# docs/control.md: a client that takes over 5 s to send its line is disconnected, without an
# answer; meanwhile others are served.
python3 - "$SOCK" "$NFSENTRYCTL" <<'EOF' || fail "a silent client"
import socket, subprocess, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
t0 = time.monotonic()
r = subprocess.run([sys.argv[2], "-s", sys.argv[1], "status"], capture_output=True, timeout=15)
if r.returncode != 0:
    sys.exit("status while a client is silent: exit %d: %s" % (r.returncode, r.stderr.decode()))
s.settimeout(10)
try:
    data = s.recv(4096)
except socket.timeout:
    sys.exit("the silent client was still connected after %.1f s" % (time.monotonic() - t0))
except ConnectionResetError:
    data = b""
took = time.monotonic() - t0
if data:
    sys.exit("the silent client got an answer: %r" % data)
if not 4 <= took <= 8:
    sys.exit("the silent client was disconnected after %.1f s, not about 5" % took)
EOF
daemon_alive || fail "the daemon died"
ctl_ok status

step "who may connect"
as_nobody_rc=0
as_nobody --regid=nogroup --clear-groups "$NFSENTRYCTL" -s "$SOCK" status >"$TMPD/ctl.out" 2>"$TMPD/ctl.err" ||
	as_nobody_rc=$?
[ "$as_nobody_rc" = 1 ] || fail "nobody: exit $as_nobody_rc, not 1: $(cat "$TMPD/ctl.out" "$TMPD/ctl.err")"
grep -qi 'permission denied' "$TMPD/ctl.err" || fail "nobody: not 'permission denied': $(cat "$TMPD/ctl.err")"
ctl_ok status

# control_group: its members by primary gid are served; the socket's group lets a member by a
# supplementary group connect, and SO_PEERCRED refuses it.
stop_daemon
write_config daemon.control_socket="$SOCK" daemon.control_group=daemon ban.duration=10m
start_daemon
wait_until 5 socket_ready || fail "no control socket at $SOCK after a restart"
[ "$(stat -c '%a %U %G' "$SOCK")" = "660 root daemon" ] || fail "control socket is $(stat -c '%a %U %G' "$SOCK"), not 660 root daemon"
as_nobody --regid=daemon --clear-groups "$NFSENTRYCTL" -s "$SOCK" status >"$TMPD/ctl.out" 2>"$TMPD/ctl.err" ||
	fail "nobody with primary group daemon (control_group) is refused: $(cat "$TMPD/ctl.err")"
grep -q '^version ' "$TMPD/ctl.out" || fail "nobody in control_group: no status: $(cat "$TMPD/ctl.out")"
# Evidence is root's only, whatever control_group allows (STOP sec. 3.1.1, goal 2).
as_nobody_rc=0
as_nobody --regid=daemon --clear-groups "$NFSENTRYCTL" -s "$SOCK" evidence --verify >"$TMPD/ctl.out" 2>"$TMPD/ctl.err" ||
	as_nobody_rc=$?
[ "$as_nobody_rc" = 1 ] && grep -qx 'nfsentryctl: evidence records are readable by root only' "$TMPD/ctl.err" ||
	fail "nobody in control_group read evidence: exit $as_nobody_rc: $(cat "$TMPD/ctl.out" "$TMPD/ctl.err")"
as_nobody_rc=0
as_nobody --regid=nogroup --groups=daemon "$NFSENTRYCTL" -s "$SOCK" status >"$TMPD/ctl.out" 2>"$TMPD/ctl.err" ||
	as_nobody_rc=$?
[ "$as_nobody_rc" = 1 ] || fail "nobody in control_group only as a supplementary group: exit $as_nobody_rc, not 1"
grep -qx 'nfsentryctl: permission denied' "$TMPD/ctl.err" ||
	fail "nobody in control_group only as a supplementary group: not the server's 'permission denied': $(cat "$TMPD/ctl.err")"

step "the daemon gone"
stop_daemon
ctl_fails 1 "^nfsentryctl: cannot reach nfsentry at $SOCK: .*\(is it running\?\)\$" status
pass
