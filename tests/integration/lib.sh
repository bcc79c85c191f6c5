# shellcheck shell=bash
# Shared helpers for the root-only integration tests; source it from a test-<name>.sh script.
#
# Each test gets its own pair of network namespaces joined by a veth pair:
#   victim  ($VNS): 198.51.100.1/24, 2001:db8:1::1/64, runs nfsentry
#   scanner ($SNS): 198.51.100.2/24, 2001:db8:1::2/64
# Only these TEST-NET addresses are used, and no traffic leaves the two namespaces.
# An EXIT trap kills the daemon and every process left in the namespaces, deletes the
# namespaces and removes the temporary directory. Every wait is bounded.
#
# Run by hand:  sudo tests/integration/test-syn-scan.sh   (NFSENTRY and NFSENTRY_RULESET
# default to the build tree; meson test sets both.)

set -euo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NFSENTRY=${NFSENTRY:-$LIB_DIR/../../build/daemon/nfsentry}
NFSENTRY_RULESET=${NFSENTRY_RULESET:-$LIB_DIR/../../nft/nfsentry.nft}
TEST_NAME=$(basename "$0" .sh)
TEST_NAME=${TEST_NAME#test-}

V4=198.51.100.1 S4=198.51.100.2
V6=2001:db8:1::1 S6=2001:db8:1::2

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: $TEST_NAME needs root (network namespaces, nftables)"
	exit 77
fi
for tool in ip nft nmap curl socat ss python3 timeout; do
	command -v "$tool" >/dev/null || { echo "FAIL: $TEST_NAME needs $tool" >&2; exit 1; }
done
[ -x "$NFSENTRY" ] || { echo "FAIL: no nfsentry binary at $NFSENTRY (build it first)" >&2; exit 1; }

VNS=nfst-$TEST_NAME-$$-v
SNS=nfst-$TEST_NAME-$$-s
TMPD=$(mktemp -d "/tmp/nfsentry-$TEST_NAME.XXXXXX")
CONF=$TMPD/nfsentry.conf
EVENTS=$TMPD/events.json   # [daemon] events of write_config; see events_match
LOG=$TMPD/daemon.log
LOG_MARK=0          # wait_for_log/log_has only look at lines after this one
DAEMON_PID=
DAEMON_RUNS=0
DAEMON_PREFIX=(env)   # a command the daemon runs under, e.g. setpriv (test-least-privilege)
: >"$TMPD/resolv.conf"   # hermetic default: no resolvers to protect
: >"$LOG"

cleanup() {
	local rc=$? ns
	set +e
	exec 2>/dev/null   # no "Killed" job notices
	[ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID"
	for ns in "$VNS" "$SNS"; do
		[ -e "/run/netns/$ns" ] || continue
		ip netns pids "$ns" | xargs -r kill -KILL
		ip netns del "$ns"
	done
	wait
	rm -rf "$TMPD"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_v() { ip netns exec "$VNS" "$@"; }
in_s() { ip netns exec "$SNS" "$@"; }

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	if [ -s "$LOG" ]; then
		echo "--- daemon log ($LOG) ---" >&2
		tail -n 40 "$LOG" >&2
	fi
	if [ -s "$EVENTS" ]; then
		echo "--- events ($EVENTS) ---" >&2
		tail -n 20 "$EVENTS" >&2
	fi
	exit 1
}
pass() { echo "PASS: $TEST_NAME"; exit 0; }
step() { echo "== $*"; }

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; false on timeout.
# NFSENTRY_TIME_SCALE (default 1) multiplies SECONDS: tests/vm runs on an emulated CPU.
wait_until() {
	local deadline=$(( $(date +%s%N) + ${1%.*} * ${NFSENTRY_TIME_SCALE:-1} * 1000000000 ))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# need_ctl: sets NFSENTRYCTL (default: the build tree's) and SOCK, the control socket of
# write_config; fails without nfsentryctl or setpriv (the tests of who may connect use it).
need_ctl() {
	NFSENTRYCTL=${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}
	[ -x "$NFSENTRYCTL" ] || fail "no nfsentryctl binary at $NFSENTRYCTL (build it first)"
	command -v setpriv >/dev/null || fail "needs setpriv"
	SOCK=$TMPD/control.sock
}

setup_netns() {
	ip netns add "$VNS"
	ip netns add "$SNS"
	ip link add veth-v netns "$VNS" type veth peer name veth-s netns "$SNS"
	in_v ip link set lo up
	in_s ip link set lo up
	in_v ip addr add "$V4/24" dev veth-v
	in_v ip addr add "$V6/64" dev veth-v nodad
	in_s ip addr add "$S4/24" dev veth-s
	in_s ip addr add "$S6/64" dev veth-s nodad
	in_v ip link set veth-v up
	in_s ip link set veth-s up
}

# load_ruleset [FILE]: load the (shipped) ruleset into the victim namespace. NFSENTRY_LOAD=nft
# (tests/vm, kernels with nft_queue) loads it verbatim with nft -f, and then nft must list
# native queue statements, not xt NFQUEUE targets.
# shellcheck disable=SC2120
load_ruleset() {
	local how=("$NFSENTRY" load-ruleset)
	[ "${NFSENTRY_LOAD:-}" = nft ] && how=(nft -f)
	in_v "${how[@]}" "${1:-$NFSENTRY_RULESET}" >"$TMPD/load-ruleset.out" 2>&1 ||
		fail "${how[*]} ${1:-$NFSENTRY_RULESET}: $(cat "$TMPD/load-ruleset.out")"
	[ "${NFSENTRY_LOAD:-}" = nft ] || return 0
	local json
	json=$(in_v nft -j list ruleset)
	[[ $json == *'{"queue": {'* && $json != *'{"xt": {'* ]] || fail "nft -f: no native queue statements listed"
}

# write_config [section.key=value ...]: write $CONF from the test defaults plus overrides.
write_config() {
	local -A kv=(
		[daemon.state_dir]=$TMPD/state
		[daemon.events]=$EVENTS
		[daemon.metrics_file]=$TMPD/metrics.prom
		[daemon.control_socket]=$TMPD/control.sock
		[daemon.log_level]=info
		[ban.duration]=30s
		[allow.resolv_conf]=$TMPD/resolv.conf
		[evidence.dir]=$TMPD/evidence
		# An emulated CPU (tests/vm) walks /proc several times slower: scale the budget
		# as the waits are, or attribution is cut short there.
		[evidence.attribution_budget_ms]=$((200 * ${NFSENTRY_TIME_SCALE:-1}))
	)
	local arg sec key
	for arg in "$@"; do kv[${arg%%=*}]=${arg#*=}; done
	mkdir -p "$TMPD/state"
	: >"$CONF"
	for sec in daemon queue scan ban allow detect evidence fleet; do
		echo "[$sec]" >>"$CONF"
		for key in "${!kv[@]}"; do
			[ "${key%%.*}" = "$sec" ] && echo "${key#*.} = ${kv[$key]}" >>"$CONF"
		done
		echo >>"$CONF"
	done
	return 0
}

# start_daemon: run nfsentry -c $CONF in the victim namespace, wait for its `running:` line.
# Each start logs to a new file, $LOG.
start_daemon() {
	DAEMON_RUNS=$((DAEMON_RUNS + 1))
	LOG=$TMPD/daemon.$DAEMON_RUNS.log
	LOG_MARK=0
	: >"$LOG" # before the daemon's own redirection: daemon_ready may look first
	# Not through in_v: $! must be the daemon itself, not a subshell running a function.
	ip netns exec "$VNS" "${DAEMON_PREFIX[@]}" "$NFSENTRY" -c "$CONF" >"$LOG" 2>&1 &
	DAEMON_PID=$!
	wait_until 10 daemon_ready || fail "daemon did not log 'running:' within 10 s"
}
daemon_ready() {
	grep -q 'nfsentry .* running: ' "$LOG" && return 0
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited during startup"
	return 1
}
daemon_alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }
daemon_gone() { ! daemon_alive; }

# shellcheck disable=SC2034 # DAEMON_RC is for the tests
# stop_daemon [SIGNAL]: signal the daemon (TERM by default), wait up to 10 s for it to exit.
# Sets DAEMON_RC to its exit status.
stop_daemon() {
	kill -"${1:-TERM}" "$DAEMON_PID"
	wait_until 10 daemon_gone 2>/dev/null || fail "daemon still running 10 s after SIG${1:-TERM}"
	DAEMON_RC=0
	wait "$DAEMON_PID" 2>/dev/null || DAEMON_RC=$?
	DAEMON_PID=
}

# shellcheck disable=SC2034 # RUN_RC and RUN_OUT are for the tests
# run_daemon_fg: run the daemon in the foreground (bounded to 10 s); sets RUN_RC, RUN_OUT.
run_daemon_fg() {
	RUN_RC=0
	RUN_OUT=$(timeout 10 ip netns exec "$VNS" "$NFSENTRY" -c "$CONF" "$@" 2>&1) || RUN_RC=$?
	[ "$RUN_RC" != 124 ] || fail "nfsentry $* still running after 10 s"
}

log_mark() { LOG_MARK=$(wc -l <"$LOG"); }
# (Not grep -q: under pipefail, tail killed by an early match would make a long log fail.)
log_has() { tail -n "+$((LOG_MARK + 1))" "$LOG" | grep -E -- "$1" >/dev/null; }
# wait_for_log PATTERN [SECONDS]: wait for an extended regexp in the log (after log_mark).
wait_for_log() {
	wait_until "${2:-10}" log_has "$1" || fail "no log line matching '$1' within ${2:-10} s"
}

# events_match EXPR: print the events (lines of $EVENTS) for which the Python expression EXPR
# is true, with the event as the dict e, e.g. 'e["event"] == "ban" and e["src"] == "'$S4'"';
# status 0 when one matched, 1 when none did, 2 (and a message) when EXPR is broken. A field
# the event lacks makes EXPR false.
events_match() {
	python3 -c '
import json, sys
try:
    expr = compile("(%s\n)" % sys.argv[1], "EXPR", "eval")   # may span lines
except SyntaxError as err:
    print("bad expression: %s" % err, file=sys.stderr)
    sys.exit(2)
found = False
try:
    lines = open(sys.argv[2]).readlines()
except FileNotFoundError:
    lines = []
for line in lines:
    if not line.endswith("\n"):
        break                     # being written
    e = json.loads(line)
    try:
        hit = eval(expr, {"e": e})
    except (KeyError, TypeError, IndexError):
        hit = False
    if hit:
        found = True
        print(line, end="")
sys.exit(0 if found else 1)
' "$1" "$EVENTS" || { local rc=$?; [ "$rc" = 1 ] || fail "events_match '$1' exited $rc"; return 1; }
}
event_count() { { events_match "$1" || [ $? = 1 ]; } | wc -l; }
# wait_for_event EXPR [SECONDS]: wait (10 s by default) for an event matching EXPR.
wait_for_event() {
	wait_until "${2:-10}" events_match "$1" >/dev/null || fail "no event matching '$1' within ${2:-10} s"
}
# no_event EXPR: fail when an event matches EXPR.
no_event() {
	if events_match "$1" >"$TMPD/no_event.out"; then
		fail "unexpected event(s) matching '$1': $(cat "$TMPD/no_event.out")"
	fi
}

# listen_tcp PORT...: serve "hi" on each TCP port in the victim namespace (v4 and v6).
listen_tcp() {
	local p
	for p in "$@"; do
		ip netns exec "$VNS" socat "TCP6-LISTEN:$p,fork,reuseaddr,ipv6only=0" SYSTEM:'echo hi' </dev/null >/dev/null 2>&1 &
	done
	for p in "$@"; do
		wait_until 5 port_listening "$p" || fail "socat did not listen on port $p"
	done
}
port_listening() { in_v ss -Hltn "sport = :$1" | grep -q .; }

# fetch HOST PORT [SRC]: connect from the scanner, print what the victim serves; fails
# when no connection is made within 2 s. HOST/SRC: IPv4, or IPv6 without brackets.
fetch() {
	local host=$1 opts=connect-timeout=2
	[[ $host == *:* ]] && host="[$host]"
	[ -n "${3:-}" ] && opts+=",bind=$( [[ $3 == *:* ]] && echo "[$3]" || echo "$3" )"
	timeout 5 ip netns exec "$SNS" socat -u -T 2 "TCP:$host:$2,$opts" STDOUT 2>/dev/null
}
fetch_ok() { [ "$(fetch "$@")" = hi ]; }

# scan [nmap options...]: nmap from the scanner (no retries, no ping, no DNS); the target is
# the victim's IPv4 address, or its IPv6 one when the options include -6.
scan() {
	local target=$V4 slow=()
	[[ " $* " == *" -6 "* ]] && target=$V6
	# nmap's wait for an answer (at least 100 ms) scales too: under emulation an answer that
	# passes through the daemon can take longer, and the port would be reported filtered.
	[ "${NFSENTRY_TIME_SCALE:-1}" = 1 ] || slow=(--min-rtt-timeout "$((NFSENTRY_TIME_SCALE * 250))ms")
	timeout 60 ip netns exec "$SNS" nmap -n -Pn --max-retries 0 "${slow[@]}" "$@" "$target" >"$TMPD/nmap.out" 2>&1 ||
		fail "nmap $* failed: $(cat "$TMPD/nmap.out")"
}

# set_elems SET: one line per element of inet nfsentry SET: "VALUE TIMEOUT EXPIRES" (seconds,
# 0 when absent); an interval prints as ADDR/LEN or FIRST-LAST.
set_elems() {
	in_v nft -j list set inet nfsentry "$1" 2>/dev/null | python3 -c '
import json, sys
for obj in json.load(sys.stdin)["nftables"]:
    for e in obj.get("set", {}).get("elem", []):
        d = e["elem"] if isinstance(e, dict) and "elem" in e else {"val": e}
        v = d["val"]
        if isinstance(v, dict) and "prefix" in v:
            v = "%s/%s" % (v["prefix"]["addr"], v["prefix"]["len"])
        elif isinstance(v, dict) and "range" in v:
            v = "%s-%s" % tuple(v["range"])
        print(v, d.get("timeout", 0), d.get("expires", 0))
'
}
set_has() { set_elems "$1" | awk -v a="$2" '$1 == a { f = 1 } END { exit !f }'; }
set_empty() { [ -z "$(set_elems "$1")" ]; }
ban4_has() { set_has ban4 "$1"; }
ban4_gone() { ! set_has ban4 "$1"; }
ban6_has() { set_has ban6 "$1"; }
# elem_timeout SET VALUE: the element's timeout in seconds (empty when absent).
elem_timeout() { set_elems "$1" | awk -v a="$2" '$1 == a { print $2 }'; }

# drop_counter [4|6|net4|net6]: packets counted by the prerouting drop rule for @ban4 (default),
# @ban6, @bannet4 or @bannet6.
drop_counter() {
	in_v nft -j list chain inet nfsentry prerouting 2>/dev/null | python3 -c '
import json, sys
want = "@ban" + sys.argv[1]
for obj in json.load(sys.stdin)["nftables"]:
    exprs = obj.get("rule", {}).get("expr", [])
    if any(x.get("match", {}).get("right") == want for x in exprs):
        print(next(x["counter"]["packets"] for x in exprs if "counter" in x))
' "${1:-4}"
}

# queued_packets: packets the daemon got from its closed-port queues so far (its SIGUSR1
# statistics; the inspection queues, 8 and up by default, see open connections too).
queued_packets() {
	local mark=$LOG_MARK
	log_mark
	kill -USR1 "$DAEMON_PID"
	wait_for_log '^tracking [0-9]+ sources' 5
	tail -n "+$((LOG_MARK + 1))" "$LOG" | awk '$1 == "queue" && $2 + 0 < 8 { n += $3 } END { print n + 0 }'
	LOG_MARK=$mark
}

# assert_not_banned: after the daemon had time to see the scan, no ban and no ban log.
assert_not_banned() {
	sleep 1
	set_empty ban4 || fail "ban4 is not empty: $(set_elems ban4)"
	set_empty ban6 || fail "ban6 is not empty: $(set_elems ban6)"
	! log_has "^banned " || fail "the daemon logged a ban"
	daemon_alive || fail "the daemon died"
}

# setup [section.key=value ...]: the usual start: namespaces, ruleset, config, daemon.
setup() {
	setup_netns
	load_ruleset
	write_config "$@"
	start_daemon
}

# session HOST TAG [SRC]: a client in the scanner namespace that connects to the echo server on
# $ECHO_PORT of HOST (from SRC), says hello, then waits for $TMPD/TAG.go and says it again; it
# writes what came back to $TMPD/TAG.out ("ok 1" after the first exchange, "ok 2" after the
# second, or why it failed). Runs in the background, at most 200 s.
session() {
	ip netns exec "$SNS" timeout 200 python3 -c '
import os, socket, sys, time
host, port, tag, tmpd, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
out = os.path.join(tmpd, tag + ".out")
def say(what):
    with open(out + ".tmp", "w") as f:
        f.write(what + "\n")
    os.rename(out + ".tmp", out)
try:
    s = socket.create_connection((host, port), timeout=5, source_address=(src, 0) if src else None)
    for n in (1, 2):
        if n == 2:
            while not os.path.exists(os.path.join(tmpd, tag + ".go")):
                time.sleep(0.1)
        msg = b"hello %d\n" % n
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(64)
            if not chunk:
                raise OSError("closed by the server")
            got += chunk
        say("ok %d" % n if got == msg else "bad echo %r" % got)
except OSError as err:
    say("error %s" % err)
' "$1" "$ECHO_PORT" "$2" "$TMPD" "${3:-}" &
}
session_says() { [ "$(cat "$TMPD/$1.out" 2>/dev/null)" = "$2" ]; }

# NMAPS: scans running in the background (not the daemon: a bare wait would wait for it).
NMAPS=()
wait_nmaps() {
	local p
	for p in "${NMAPS[@]}"; do wait "$p" || fail "an nmap failed"; done
	NMAPS=()
}

# spread NET|PREFIX6 FIRST_PORT: a distributed scan: 30 sources (NET.10-.39, or the /64s
# PREFIX6:1:: .. PREFIX6:30::), 9 distinct closed ports each (270 across the prefix, each
# source below a threshold of 10), nmap -S from each, ten at a time.
spread() {
	local i src ports opts=()
	for i in $(seq 1 30); do
		if [[ $1 == *:* ]]; then
			src=$1:$i::2 opts=(-6)
			in_s ip addr replace "$src/64" dev veth-s nodad
		else
			src=$1.$((9 + i)) opts=()
			in_s ip addr replace "$src/24" dev veth-s
		fi
		ports=$(($2 + i * 9))-$(($2 + i * 9 + 8))
		scan "${opts[@]}" -sS -p "$ports" -S "$src" -e veth-s &
		NMAPS+=($!)
		[ $((i % 10)) != 0 ] || wait_nmaps
	done
	wait_nmaps
}

# ctl_metric NAME [LABEL=VALUE]: the sum of the running daemon's samples of metric NAME (those
# with that label, when given), asked over the control socket (`nfsentryctl --json status`
# carries every metric of docs/metrics.md), so nothing waits for the metrics file.
ctl_metric() {
	local ctl=${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}
	timeout 10 "$ctl" -s "$TMPD/control.sock" --json status 2>/dev/null | python3 -c '
import json, sys
name, want = sys.argv[1], sys.argv[2:]
fam = json.load(sys.stdin)["metrics"].get(name)
if fam is None:
    sys.exit("no metric %s" % name)
print(int(sum(s["value"] for s in fam["samples"] if s.get("name", name) == name and
              all(s["labels"].get(k) == v for k, v in (w.split("=", 1) for w in want)))))
' "$@" || fail "cannot read metric $1 over the control socket"
}

# root_shell_visit: a root shell listens on the victim's port 4444 (socat EXEC:'sh -i', as an
# intruder leaves it) and a client from the scanner namespace connects to it for 2 s: its
# "# " prompt is root-sig's evidence against the client.
root_shell_visit() {
	ip netns exec "$VNS" socat TCP-LISTEN:4444,reuseaddr EXEC:'sh -i',stderr </dev/null >/dev/null 2>&1 &
	wait_until 5 port_listening 4444 || fail "socat did not listen on 4444"
	timeout 10 ip netns exec "$SNS" python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 4444), timeout=3)
time.sleep(2)
' "$V4" >/dev/null 2>&1 || true
}

# ruleset_without SETS FILE: the shipped ruleset as an older install has it, into FILE: the
# sets whose names match the regexp SETS (e.g. 'bannet[46]') and every rule that names one of
# them are left out.
ruleset_without() {
	python3 - "$NFSENTRY_RULESET" "$1" >"$2" <<'EOF'
import re, sys
s = open(sys.argv[1]).read()
s = re.sub(r"\tset (%s) \{[^}]*\}\n" % sys.argv[2], "", s)
print("\n".join(l for l in s.splitlines() if not re.search(r"@(%s)\b" % sys.argv[2], l)))
EOF
}
