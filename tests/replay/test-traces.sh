#!/bin/bash
# `nfsentry replay` over the real traces of tests/traces (Zeek's, see its README), over those made for
# this project (tests/traces/ours: typed sessions, machine protocols) and over small captures made here
# (pcaptool.py): what is reported, what is not, and how a damaged or unsupported file is refused. No root
# needed. Run from the source root (meson's workdir):
#   NFSENTRY=build/daemon/nfsentry tests/replay/test-traces.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
NFSENTRY=${NFSENTRY:-$HERE/../../build/daemon/nfsentry}
TRACES=${TRACES:-tests/traces}
TOOL=$HERE/pcaptool.py
TMPD=$(mktemp -d "/tmp/nfsentry-replay.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT

[ -x "$NFSENTRY" ] || { echo "FAIL: no nfsentry binary at $NFSENTRY" >&2; exit 1; }
[ -d "$TRACES" ] || { echo "FAIL: no traces at $TRACES (run from the source root)" >&2; exit 1; }

bad=()
problem() { echo "  PROBLEM: $*"; bad+=("$*"); }

# replay FILE [OPTION]: run the replay (bounded), sets RC and OUT (events) / ERR (stderr) files.
OUT=$TMPD/out.json ERR=$TMPD/err.txt
replay() {
	RC=0
	timeout 60 "$NFSENTRY" replay "$@" >"$OUT" 2>"$ERR" || RC=$?
	[ "$RC" != 124 ] || { echo "FAIL: replay of $1 still running after 60 s" >&2; exit 1; }
}
# same_single FILE: the replay of FILE with --single-thread (reading and the engine in one
# thread) prints the same bytes on stdout and stderr, with the same exit status, as the replay
# just run (a reader thread and the engine's, when there are two CPUs). Keeps OUT, ERR, RC.
same_single() {
	local rc=$RC
	cp "$OUT" "$TMPD/pipelined.json"
	cp "$ERR" "$TMPD/pipelined.err"
	replay "$1" --single-thread
	cmp -s "$OUT" "$TMPD/pipelined.json" || problem "$(basename "$1"): --single-thread printed other events"
	cmp -s "$ERR" "$TMPD/pipelined.err" || problem "$(basename "$1"): --single-thread printed another summary: $(cat "$ERR")"
	[ "$RC" = "$rc" ] || problem "$(basename "$1"): --single-thread exit status $RC, pipelined $rc"
	cp "$TMPD/pipelined.json" "$OUT"
	cp "$TMPD/pipelined.err" "$ERR"
	RC=$rc
}
# count EXPR: events of $OUT for which the Python expression EXPR (over the dict e) is true.
count() {
	python3 -c '
import json, sys
n = 0
for line in open(sys.argv[2]):
    e = json.loads(line)
    try:
        n += bool(eval(sys.argv[1], {"e": e}))
    except (KeyError, TypeError):
        pass
print(n)
' "$1" "$OUT"
}
BACKDOOR='e["event"] == "backdoor"'

echo "== the traces of $TRACES"
ntraces=0
for t in "$TRACES"/*.pcap "$TRACES"/*.pcapng "$TRACES"/ours/*.pcap; do
	[ -e "$t" ] || continue
	name=$(basename "$t")
	ntraces=$((ntraces + 1))
	replay "$t"
	same_single "$t"
	echo "$name: rc $RC; $(tail -n 1 "$ERR")"
	sed 's/^/    /' "$OUT"
	[ "$RC" = 0 ] || problem "$name: exit status $RC: $(cat "$ERR")"
	grep -q "^$t: .* frames, .* IP packets ([0-9]* malformed), .* not IP; [0-9]* events$" "$ERR" ||
		problem "$name: no summary line on stderr: $(cat "$ERR")"
	case $name in
	ssh-ssh-on-port-80.pcap)
		[ "$(count "$BACKDOOR")" = 1 ] || problem "$name: $(count "$BACKDOOR") backdoor events, expected 1"
		[ "$(count "$BACKDOOR"' and e["detector"] == "ssh-sig" and e["dport"] == 80 and "OpenSSH" in e["evidence"]')" = 1 ] ||
			problem "$name: no ssh-sig event on port 80 quoting OpenSSH"
		;;
	ssh-ssh1-ssh2-fingerprints.pcap)
		# One per SSH connection on 2222 (counted here from the trace itself); port 22 is
		# SSH at home, not reported.
		want=$(python3 "$TOOL" ssh-conns "$t" 2222)
		[ "$want" -ge 1 ] || problem "$name: pcaptool found no SSH connection on 2222"
		got=$(count "$BACKDOOR"' and e["detector"] == "ssh-sig" and e["dport"] == 2222')
		[ "$got" = "$want" ] || problem "$name: $got ssh-sig events on 2222, the trace holds $want SSH connections there"
		[ "$(count "$BACKDOOR")" = "$want" ] || problem "$name: backdoor events besides ssh-sig on 2222"
		;;
	typed-shell-2323.pcap)
		# A person at a bind shell (mkcaptures.py): the timing test must still find it,
		# once, from the client's keystrokes, with the steady and opening tests in place.
		[ "$(count "$BACKDOOR")" = 1 ] || problem "$name: $(count "$BACKDOOR") backdoor events, expected 1"
		[ "$(count "$BACKDOOR"' and e["detector"] == "interactive" and e["dport"] == 2323 and e["sent_by"] == "client" and e["gamma"] >= 0.2 and e["alpha"] >= 0.2')" = 1 ] ||
			problem "$name: no interactive event for the typed session on 2323"
		;;
	*)
		# Everything else is silent, our machine-protocol captures too (HTTP/2, PostgreSQL,
		# MariaDB, Redis and DNP3 polling), and paced-shell-2323.pcap: keystrokes dripped at a steady
		# 200 ms are taken for a machine, the trade-off docs/security.md records.
		[ "$(count "$BACKDOOR")" = 0 ] || problem "$name: unexpected backdoor events"
		;;
	esac
	if [ "$name" = ipv4-fragmented-syn.pcap ]; then
		grep -q "(0 malformed)" "$ERR" || problem "$name: malformed packets: $(cat "$ERR")"
	fi
done
[ "$ntraces" -ge 1 ] || problem "no traces in $TRACES"

echo "== a truncated trace: exit 1, the events before the damage, a message"
src=$TRACES/ssh-ssh-on-port-80.pcap
k=$(python3 "$TOOL" frame-of "$src" SSH-2.0)
python3 "$TOOL" cut "$src" "$TMPD/cut.pcap" $((k + 5))
replay "$TMPD/cut.pcap"
same_single "$TMPD/cut.pcap"
echo "rc $RC; $(cat "$ERR")"
[ "$RC" = 1 ] || problem "truncated: exit status $RC, expected 1"
[ "$(count "$BACKDOOR"' and e["detector"] == "ssh-sig" and e["dport"] == 80')" = 1 ] ||
	problem "truncated: the ssh-sig event from before the damage is missing: $(cat "$OUT")"
grep -qi "truncated" "$ERR" || problem "truncated: stderr does not say so: $(cat "$ERR")"

echo "== a capture of no packets (the file header alone): exit 0, no events, a summary"
head -c 24 "$TRACES/ssh-ssh-on-port-80.pcap" >"$TMPD/empty.pcap"
replay "$TMPD/empty.pcap"
same_single "$TMPD/empty.pcap"
echo "rc $RC; $(cat "$ERR")"
[ "$RC" = 0 ] || problem "empty: exit status $RC, expected 0"
[ ! -s "$OUT" ] || problem "empty: events: $(cat "$OUT")"
grep -q ", 0 frames, 0 IP packets (0 malformed), 0 not IP; 0 events$" "$ERR" || problem "empty: summary: $(cat "$ERR")"

echo "== options: an unknown one is refused (usage, exit 2)"
replay "$TMPD/empty.pcap" --no-such-option
[ "$RC" = 2 ] || problem "unknown replay option: exit status $RC, expected 2"

echo "== not a capture: exit 1, a message"
replay "$TRACES/README.md"
echo "rc $RC; $(cat "$ERR")"
[ "$RC" = 1 ] || problem "not a capture: exit status $RC, expected 1"
[ -s "$ERR" ] || problem "not a capture: nothing on stderr"
[ ! -s "$OUT" ] || problem "not a capture: output on stdout: $(cat "$OUT")"

echo "== link type 105 (IEEE 802.11): exit 1, the message names it"
python3 "$TOOL" linktype "$TMPD/wifi.pcap" 105
replay "$TMPD/wifi.pcap"
echo "rc $RC; $(cat "$ERR")"
[ "$RC" = 1 ] || problem "link type 105: exit status $RC, expected 1"
grep -qE '105|802' "$ERR" || problem "link type 105: the message does not name it: $(cat "$ERR")"

# scan_and_ban CAPTURE CLASS: pcaptool's CAPTURE holds one CLASS scan of 198.51.100.2 by
# 198.51.100.1, and the replay bans the scanner.
scan_and_ban() {
	python3 "$TOOL" "$1" "$TMPD/$1.pcap"
	replay "$TMPD/$1.pcap"
	sed 's/^/    /' "$OUT"
	[ "$RC" = 0 ] || problem "$1: exit status $RC: $(cat "$ERR")"
	[ "$(count 'e["event"] == "scan" and e["class"] == "'"$2"'" and e["src"] == "198.51.100.1" and e["dst"] == "198.51.100.2" and e["action"] == "ban"')" = 1 ] ||
		problem "$1: no single $2 scan event from 198.51.100.1"
	[ "$(count 'e["event"] == "ban" and e["src"] == "198.51.100.1"')" = 1 ] || problem "$1: no ban event"
}

echo "== a SYN scan of 15 ports, each reset: scan (syn) and ban"
scan_and_ban synscan syn

echo "== a UDP scan of 15 ports, each answered by ICMP port unreachable: scan (udp) and ban"
scan_and_ban udpscan udp

echo "== SYN-ACK backscatter (ack 674719802) to 12 ports: backscatter, tool synk4, no ban"
python3 "$TOOL" backscatter "$TMPD/backscatter.pcap"
replay "$TMPD/backscatter.pcap"
sed 's/^/    /' "$OUT"
[ "$RC" = 0 ] || problem "backscatter: exit status $RC: $(cat "$ERR")"
[ "$(count 'e["event"] == "backscatter" and e.get("tool") == "synk4" and e["src"] == "203.0.113.80" and e["action"] == "alert"')" = 1 ] ||
	problem "backscatter: no backscatter event with tool synk4 from 203.0.113.80"
[ "$(count 'e["event"] in ("ban", "scan")')" = 0 ] || problem "backscatter: a scan or ban event"

echo "== a SYN with 64 bytes of data to a closed port: probe, no scan"
python3 "$TOOL" syndata "$TMPD/syndata.pcap"
replay "$TMPD/syndata.pcap"
sed 's/^/    /' "$OUT"
[ "$RC" = 0 ] || problem "syndata: exit status $RC: $(cat "$ERR")"
[ "$(count 'e["event"] == "probe" and e["class"] == "syn-data" and e["src"] == "198.51.100.1" and e["dport"] == 4567 and e.get("payload_len") == 64')" = 1 ] ||
	problem "syndata: no probe (syn-data) event for the 64-byte SYN to port 4567"
[ "$(count 'e["event"] in ("ban", "scan")')" = 0 ] || problem "syndata: a scan or ban event"

echo "== SYN flood from 1500 forged sources against an open port: one flood event, no ban"
python3 "$TOOL" flood "$TMPD/flood.pcap"
replay "$TMPD/flood.pcap"
sed 's/^/    /' "$OUT"
[ "$RC" = 0 ] || problem "flood: exit status $RC: $(cat "$ERR")"
[ "$(count 'e["event"] == "flood" and e["dst"] == "198.51.100.2" and e["dport"] == 80 and e["action"] == "alert" and e.get("syns", 0) >= 1000')" = 1 ] ||
	problem "flood: not exactly one flood event for port 80"
[ "$(count 'e["event"] in ("ban", "scan")')" = 0 ] || problem "flood: a scan or ban event (forged sources must not be banned)"

if [ ${#bad[@]} -gt 0 ]; then
	echo "FAIL: ${#bad[@]} problem(s):" >&2
	printf '  %s\n' "${bad[@]}" >&2
	exit 1
fi
echo "PASS: replay traces ($ntraces traces, 7 made here)"
