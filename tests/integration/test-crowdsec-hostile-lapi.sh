#!/bin/bash
# Issue 13, the attacker's view: a compromised or impersonated LAPI (hostile-lapi.py) feeds host
# B's bridge forged decisions (all of IPv4 and IPv6 as ranges, B's own address, bad values,
# absurd and negative durations, other types and scopes, missing fields, junk in "deleted"), a
# 128 MB stream body, 200,000 nested arrays and bytes that are not JSON. Nothing forged is
# applied, the one long decision is capped at [fleet] max_duration (7d), the bridge neither dies
# nor grows with the body (apply.max_decisions 5000, peak memory under 64 MiB), daemon B stays
# up, and a normal decision afterwards is still applied.
set -euo pipefail
. "$(dirname "$0")/fleetlab.sh"

fleet_hosts
FAKE_PORT=$(lapi_free_port)
echo forged >"$TMPD/hostile.mode"
: >"$TMPD/hostile.log"
HUGE_MB=128 python3 "$LIB_DIR/hostile-lapi.py" "$FAKE_PORT" "$TMPD/hostile.mode" "$TMPD/hostile.log" \
	>"$TMPD/hostile.out" 2>&1 &
FAKE_PID=$!
FLEET_PIDS+=("$FAKE_PID")
fake_up() { curl -fso /dev/null -XPOST "http://127.0.0.1:$FAKE_PORT/v1/watchers/login" -d '{}'; }
wait_until 5 fake_up || fail_fleet "hostile-lapi.py did not answer: $(cat "$TMPD/hostile.out")"
polls() { grep -c '^GET /v1/decisions/stream' "$TMPD/hostile.log" || true; }
# after_polls N: wait for N more stream requests than now (each attack is met at least N times).
after_polls() {
	local want=$(( $(polls) + $1 ))
	polls_reached() { [ "$(polls)" -ge "$want" ]; }
	wait_until $(( ($1 + 1) * (UPDATE + 10) )) polls_reached || fail_fleet "the bridge stopped pulling ($(polls) requests)"
}
bridge_ok() {
	bridge_alive B || fail_fleet "the bridge died on $1"
	kill -0 "$DAEMON_B_PID" 2>/dev/null || fail_fleet "daemon B died on $1"
	ctl B status >/dev/null || fail_fleet "daemon B does not answer after $1"
}

step "forged decisions"
bridge_start B lapi.url="http://127.0.0.1:$FAKE_PORT" publish.enabled=false apply.max_decisions=5000
wait_until $((UPDATE + 5)) fleet_has B fleet4 203.0.113.8 || fail_fleet "the witness among the forged decisions was not applied"
after_polls 2
bridge_ok "forged decisions"
for s in fleetnet4 fleetnet6 fleet6; do
	[ -z "$(fleet_elems B "$s")" ] || fail_fleet "forged decisions applied in $s: $(fleet_elems B "$s")"
done
got=$(fleet_elems B fleet4 | awk '{ print $1 }' | sort | tr '\n' ' ')
[ "$got" = "203.0.113.7 203.0.113.8 " ] || fail_fleet "fleet4 should hold only 203.0.113.7 and .8; it holds: $got"
t=$(fleet_elems B fleet4 | awk '$1 == "203.0.113.7" { print $2 }')
[ "$t" -le 604800 ] || fail_fleet "a 99999999h decision got a timeout of $t s, more than [fleet] max_duration 7d"
if grep -q 'x\{200\}' "${BRIDGE_LOG[B]}"; then fail_fleet "the bridge logged a 100 kB forged value whole"; fi

step "a 128 MB stream body"
echo huge >"$TMPD/hostile.mode"
after_polls 2
bridge_ok "a 128 MB body"
n=$(fleet_elems B fleet4 | wc -l)
[ "$n" -le 5002 ] || fail_fleet "fleet4 holds $n elements, more than apply.max_decisions 5000 (+2)"
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/${BRIDGE_PID[B]}/status")
echo "bridge peak memory: $((hwm / 1024)) MiB; fleet4: $n elements"
[ "$hwm" -lt $((64 * 1024)) ] || fail_fleet "the bridge grew to $((hwm / 1024)) MiB on a 128 MB body"

for attack in nested garbage; do
	step "stream body: $attack"
	echo "$attack" >"$TMPD/hostile.mode"
	after_polls 2
	bridge_ok "$attack"
done

step "a normal decision afterwards"
echo witness >"$TMPD/hostile.mode"
wait_until $((2 * UPDATE + 10)) fleet_has B fleet4 203.0.113.99 || fail_fleet "the bridge no longer applies decisions after the attacks"
kill "$FAKE_PID"
pass
