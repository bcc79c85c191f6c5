#!/bin/bash
# Evidence records of a scan ban (docs/evidence.md; Carrier & Shields, STOP sec. 6.5): the
# events carry tokens; `nfsentryctl evidence TOKEN` verifies the record and shows what was
# detected, the settings that applied and the scanner's packets; the pcap opens with tcpdump;
# an edited record is reported tampered, a deleted one breaks the chain; records are root's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NFSENTRYCTL=${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}
command -v tcpdump >/dev/null || fail "needs tcpdump"
SOCK=$TMPD/control.sock
EV=$TMPD/evidence
ctl() { timeout 20 "$NFSENTRYCTL" -s "$SOCK" "$@"; }
token_of() { python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["token"])'; }
record_file() { ls "$EV"/*-"$1".json; }

setup evidence.packets=4
step "a SYN scan of ports 1-100 gets $S4 banned"
scan -sS -p 1-100
wait_for_event 'e["event"] == "ban" and e["src"] == "'"$S4"'" and len(e.get("token", "")) == 64'
wait_for_event 'e["event"] == "scan" and len(e.get("token", "")) == 64'
scan_token=$(events_match 'e["event"] == "scan"' | head -1 | token_of)
ban_token=$(events_match 'e["event"] == "ban"' | head -1 | token_of)
[ "$scan_token" != "$ban_token" ] || fail "the scan and its ban share one record"

step "records are root's: folder 0700, files 0600"
[ "$(stat -c %a "$EV")" = 700 ] || fail "$EV is mode $(stat -c %a "$EV")"
[ "$(stat -c %a "$(record_file "$ban_token")")" = 600 ] || fail "a record is not mode 0600"
# The token is the SHA-256 of the file's bytes.
[ "$(sha256sum <"$(record_file "$ban_token")" | cut -d' ' -f1)" = "$ban_token" ] ||
	fail "the ban's token is not the SHA-256 of its record"
# The log carries the token, not the private details (packets, processes).
grep -q "$ban_token" "$LOG" || fail "the log does not carry the ban's token"
! grep -q '"pcap"' "$LOG" || fail "the log carries a record's packets"

step "nfsentryctl evidence: intact, and what it holds"
ctl evidence "$scan_token" --pcap "$TMPD/scan.pcap" >"$TMPD/show.out" 2>"$TMPD/show.err" ||
	fail "evidence $scan_token: $(cat "$TMPD/show.out" "$TMPD/show.err")"
grep -qx 'verdict   intact' "$TMPD/show.out" || fail "not intact: $(cat "$TMPD/show.out")"
ctl --json evidence "$scan_token" >"$TMPD/rec.json" || fail "evidence --json failed"
python3 - "$TMPD/rec.json" "$S4" <<'PY' || fail "the record is not as expected: $(head -c 3000 "$TMPD/rec.json")"
import json, sys
a = json.load(open(sys.argv[1]))
r = a["record"]
assert a["intact"] is True and a["state"] == "intact", a
e = r["event"]
assert e["event"] == "scan" and e["src"] == sys.argv[2] and e["ports"] >= 10 and "token" not in e, e
assert r["config"]["scan"]["threshold"] == 10 and r["config"]["actions"]["scan"] == "ban", r["config"]
assert r["packets"]["count"] == 4 and len(r["packets"]["list"]) == 4, r["packets"]
assert r["host"].get("hostname") and r["host"].get("kernel"), r.get("host")
assert r["seq"] >= 1 and (r["prev"] is None or len(r["prev"]) == 64)
PY

step "the pcap opens with tcpdump: the scanner's last 4 SYNs"
tcpdump -nn -r "$TMPD/scan.pcap" >"$TMPD/tcpdump.out" 2>"$TMPD/tcpdump.err" ||
	fail "tcpdump cannot read it: $(cat "$TMPD/tcpdump.err")"
[ "$(grep -c "IP $S4\.[0-9]* > $V4\.[0-9]*: Flags \[S\]" "$TMPD/tcpdump.out")" = 4 ] ||
	fail "not 4 SYNs from $S4: $(cat "$TMPD/tcpdump.out")"
[ "$(stat -c %a "$TMPD/scan.pcap")" = 600 ] || fail "the pcap is not mode 0600"

step "the ban's record holds the same packets, and the chain verifies"
ctl evidence "$ban_token" >/dev/null || fail "evidence $ban_token is not intact"
ctl evidence --verify >"$TMPD/verify.out" || fail "evidence --verify: $(cat "$TMPD/verify.out")"
grep -qx intact "$TMPD/verify.out" || fail "evidence --verify: $(cat "$TMPD/verify.out")"

step "an edited record is reported tampered"
f=$(record_file "$scan_token")
sed -i 's/"ports":\([0-9]*\)/"ports":3/' "$f"
rc=0
ctl evidence "$scan_token" >"$TMPD/show.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a tampered record exits $rc, not 1"
grep -q '^record    tampered: its bytes now hash to [0-9a-f]\{64\}$' "$TMPD/show.out" ||
	fail "not reported tampered: $(cat "$TMPD/show.out")"
grep -q 'NOT INTACT' "$TMPD/show.out" || fail "no NOT INTACT verdict: $(cat "$TMPD/show.out")"
rc=0
ctl evidence --verify >"$TMPD/verify.out" || rc=$?
[ "$rc" = 1 ] && grep -q "tampered" "$TMPD/verify.out" || fail "--verify misses the edit: $(cat "$TMPD/verify.out")"

step "a deleted record breaks the chain, across a restart too"
# The scan's record and the ban's are saved by two threads: either may come first.
scan_seq=$(basename "$f" | cut -d- -f1)
ban_seq=$(basename "$(record_file "$ban_token")" | cut -d- -f1)
rm -f "$f"
stop_daemon
start_daemon
rc=0
ctl evidence --verify >"$TMPD/verify.out" || rc=$?
# A record with a successor breaks its link; the newest one is missed by the head file.
[ "$rc" = 1 ] && grep -Eq "a record was deleted or replaced|the newest record is gone" "$TMPD/verify.out" ||
	fail "--verify misses the deletion: $(cat "$TMPD/verify.out")"
rc=0
ctl evidence "$scan_token" >"$TMPD/show.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "no evidence record with token $scan_token" "$TMPD/show.out" ||
	fail "a deleted record: $(cat "$TMPD/show.out")"

if [ "$((10#$ban_seq))" -gt "$((10#$scan_seq))" ]; then
	step "the ban's record survives the restart: intact, but its link to the deleted one is broken"
	ctl evidence "$ban_token" >"$TMPD/show.out" 2>&1 || true
	grep -qx 'record    intact' "$TMPD/show.out" && grep -q '^chain     BROKEN: ' "$TMPD/show.out" ||
		fail "the ban's record after a restart: $(cat "$TMPD/show.out")"

	step "the newest record deleted while the daemon is stopped: the head file names it"
	stop_daemon
	rm -f "$(record_file "$ban_token")"
	start_daemon
	rc=0
	ctl evidence --verify >"$TMPD/verify.out" || rc=$?
	[ "$rc" = 1 ] && grep -q "seq $((10#$ban_seq)) .*the newest record is gone" "$TMPD/verify.out" ||
		fail "--verify misses the deleted newest record: $(cat "$TMPD/verify.out")"
else
	step "the ban's record survives the restart, intact; the deleted newest one is named by the head file"
	ctl evidence "$ban_token" >"$TMPD/show.out" 2>&1 || fail "the ban's record: $(cat "$TMPD/show.out")"
	grep -q "the newest record is gone" "$TMPD/verify.out" || fail "--verify: $(cat "$TMPD/verify.out")"
fi
pass
