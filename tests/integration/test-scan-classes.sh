#!/bin/bash
# Scan classes (Bejtlich): nmap's SYN, connect, FIN, NULL, Xmas, ACK and UDP scans of 20 closed
# ports, each from its own source address, make one scan event per source with the class
# syn, connect, fin, null, xmas, ack and udp.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup
# nmap -S spoofs the source of raw-packet scans; the addresses are the scanner's own, so the
# answers come back. A connect scan goes through the kernel: it uses the main address.
for i in 11 12 13 14 15 16 17; do in_s ip addr add "198.51.100.$i/24" dev veth-s; done

bad=()
check_class() { # SOURCE CLASS NMAP-OPTION...
	local src=$1 class=$2 scan_ev
	shift 2
	step "nmap $* -p 1-20 from $src: expect class $class"
	scan "$@" -p 1-20
	scan_ev="e['event'] == 'scan' and e['src'] == '$src'"
	wait_for_event "$scan_ev"
	echo "  $(events_match "$scan_ev")"
	[ "$(event_count "$scan_ev")" = 1 ] || bad+=("$*: $(event_count "$scan_ev") scan events from $src")
	events_match "$scan_ev and e['detector'] == 'scan' and e['action'] == 'ban' and e['dst'] == '$V4' and
		e['ports'] >= 10" >/dev/null || bad+=("$*: the scan event is not as expected")
	events_match "$scan_ev and e['class'] == '$class'" >/dev/null ||
		bad+=("$*: class $(events_match "$scan_ev" | python3 -c 'import json, sys; print(json.loads(sys.stdin.readline()).get("class"))'), expected $class")
	wait_until 5 ban4_has "$src" || bad+=("$*: $src not banned")
	wait_until 5 events_match "e['event'] == 'ban' and e['src'] == '$src' and e['detector'] == 'scan'" >/dev/null ||
		bad+=("$*: no ban event for $src")
}
check_class 198.51.100.11 syn -sS -S 198.51.100.11 -e veth-s
check_class "$S4" connect -sT
check_class 198.51.100.12 fin -sF -S 198.51.100.12 -e veth-s
check_class 198.51.100.13 null -sN -S 198.51.100.13 -e veth-s
check_class 198.51.100.14 xmas -sX -S 198.51.100.14 -e veth-s
check_class 198.51.100.15 ack -sA -S 198.51.100.15 -e veth-s
check_class 198.51.100.16 udp -sU -S 198.51.100.16 -e veth-s
[ ${#bad[@]} = 0 ] || fail "$(printf '%s; ' "${bad[@]}")"
pass
