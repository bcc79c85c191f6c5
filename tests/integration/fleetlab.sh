# shellcheck shell=bash
# Two hosts sharing one CrowdSec LAPI (issue 13): source it from a test-crowdsec-*.sh script.
#
#   host A ($VNS): 198.51.100.1/24, 2001:db8:1::1/64, nfsentry A (lib.sh's daemon: $CONF, $LOG)
#   host B ($BNS): 198.51.100.3/24, 2001:db8:1::3/64, nfsentry B ($CONF_B, $LOG_B)
#   scanner ($SNS): 198.51.100.2/24, 2001:db8:1::2/64 on a bridge joining A and B (one segment,
#   so the address banned on A is the one B must drop)
# The LAPI (crowdsec-lab.sh) and both bridges (nfsentry-crowdsec, one per host) run in the root
# namespace: the LAPI listens on 127.0.0.1 there, and the daemons' control sockets are files.
# The EXIT trap stops the bridges, the LAPI, then runs lib.sh's cleanup (and deletes $BNS).
#
#   fleet_setup [A and B config overrides]   namespaces, rulesets, daemons, LAPI, both bridges
#   fleet_hosts [...]                          the same without the bridges
#   bridge_start A|B [crowdsec.conf overrides] / bridge_stop A|B [SIGNAL]
#   in_b CMD..., fleet_has A|B SET VALUE, fleet_gone ..., ctl A|B ARGS...
#   fetch_b PORT (from the scanner to B's echo server; see listen_tcp_b)

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$LIB_DIR/lib.sh"
. "$LIB_DIR/crowdsec-lab.sh"

NFSENTRY_CROWDSEC=${NFSENTRY_CROWDSEC:-$LIB_DIR/../../build/crowdsec/nfsentry-crowdsec}
NFSENTRYCTL=${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}
[ -x "$NFSENTRY_CROWDSEC" ] || fail "no nfsentry-crowdsec binary at $NFSENTRY_CROWDSEC (build it first)"
[ -x "$NFSENTRYCTL" ] || fail "no nfsentryctl binary at $NFSENTRYCTL (build it first)"

B4=198.51.100.3 B6=2001:db8:1::3
BNS=nfst-$TEST_NAME-$$-b
CONF_B=$TMPD/b/nfsentry.conf
LOG_B=$TMPD/b/daemon.log
DAEMON_B_PID=
# The bridges poll the stream this often (s): the propagation bound is UPDATE + 1 s.
UPDATE=${FLEET_UPDATE:-2}
declare -A BRIDGE_PID=() BRIDGE_LOG=() BRIDGE_CONF=() BRIDGE_RUNS=([A]=0 [B]=0)
MACHINE_PW=fleet-machine-pw-$$
mkdir -p "$TMPD/b"

FLEET_PIDS=()   # more root-namespace processes of a test, killed at exit
fleet_cleanup() {
	local h p
	for p in "${FLEET_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for h in "${!BRIDGE_PID[@]}"; do
		[ -n "${BRIDGE_PID[$h]}" ] && kill -KILL "${BRIDGE_PID[$h]}" 2>/dev/null
	done
	[ -n "$DAEMON_B_PID" ] && kill -KILL "$DAEMON_B_PID" 2>/dev/null
	if [ -e "/run/netns/$BNS" ]; then
		ip netns pids "$BNS" | xargs -r kill -KILL
		ip netns del "$BNS"
	fi
	lapi_cleanup
}
# shellcheck disable=SC2154 # fleet_rc is assigned in the trap itself
trap 'fleet_rc=$?; set +e; exec 2>/dev/null; fleet_cleanup; (exit $fleet_rc); cleanup' EXIT

in_b() { ip netns exec "$BNS" "$@"; }

# fail_fleet MESSAGE: fail with the bridges' and B's logs too.
fail_fleet() {
	local h
	for h in A B; do
		[ -s "${BRIDGE_LOG[$h]:-/nonexistent}" ] || continue
		echo "--- bridge $h log (${BRIDGE_LOG[$h]}; without the polls that changed nothing) ---" >&2
		grep -v '^debug: fleet: 0 new, 0 deleted' "${BRIDGE_LOG[$h]}" | tail -n 40 >&2
	done
	if [ -s "$LOG_B" ]; then
		echo "--- daemon B log ---" >&2
		tail -n 30 "$LOG_B" >&2
	fi
	[ -n "$LAPI_LOG" ] && { echo "--- LAPI log ---" >&2; tail -n 15 "$LAPI_LOG" >&2; }
	fail "$@"
}

fleet_netns() {
	ip netns add "$VNS"
	ip netns add "$SNS"
	ip netns add "$BNS"
	in_s ip link add br0 type bridge
	ip link add veth-v netns "$VNS" type veth peer name veth-s netns "$SNS"
	ip link add veth-b netns "$BNS" type veth peer name veth-sb netns "$SNS"
	in_s ip link set veth-s master br0
	in_s ip link set veth-sb master br0
	local ns
	for ns in "$VNS" "$SNS" "$BNS"; do ip netns exec "$ns" ip link set lo up; done
	in_v ip addr add "$V4/24" dev veth-v
	in_v ip addr add "$V6/64" dev veth-v nodad
	in_b ip addr add "$B4/24" dev veth-b
	in_b ip addr add "$B6/64" dev veth-b nodad
	in_s ip addr add "$S4/24" dev br0
	in_s ip addr add "$S6/64" dev br0 nodad
	in_v ip link set veth-v up
	in_b ip link set veth-b up
	in_s ip link set veth-s up
	in_s ip link set veth-sb up
	in_s ip link set br0 up
}

# fleet_conf FILE: append the [fleet] section (the tests' overrides: FLEET_CONF lines).
fleet_conf() {
	{
		echo "[fleet]"
		local line
		for line in "${FLEET_CONF[@]}"; do echo "$line"; done
	} >>"$1"
}
FLEET_CONF=()

start_daemon_b() {
	ip netns exec "$BNS" "$NFSENTRY" -c "$CONF_B" >"$LOG_B" 2>&1 &
	DAEMON_B_PID=$!
	wait_until 10 daemon_b_ready || fail_fleet "daemon B did not log 'running:' within 10 s"
}
daemon_b_ready() {
	grep -q 'nfsentry .* running: ' "$LOG_B" && return 0
	kill -0 "$DAEMON_B_PID" 2>/dev/null || fail_fleet "daemon B exited during startup"
	return 1
}

# bridge_conf HOST [section.key=value ...]: the bridge's crowdsec.conf and credentials file.
bridge_conf() {
	local h=$1 dir=$TMPD/bridge-$1 sock
	shift
	[ "$h" = A ] && sock=$TMPD/control.sock || sock=$TMPD/b/control.sock
	mkdir -p "$dir/state"
	(umask 077 && printf '[machine]\nid = host-%s\npassword = %s\n\n[bouncer]\napi_key = fleet-key-%s-%s\n' \
		"$h" "$MACHINE_PW" "$h" "$$" >"$dir/credentials")
	local -A kv=(
		[lapi.url]=$LAPI_URL
		[lapi.credentials]=$dir/credentials
		[lapi.timeout]=5s
		[publish.enabled]=true
		[publish.batch]=0s   # at once: the issue's bound is update_frequency + 1 s
		[apply.enabled]=true
		[apply.update_frequency]=${UPDATE}s
		[daemon.control_socket]=$sock
		[daemon.state_dir]=$dir/state
		[daemon.log_level]=debug
	)
	local arg sec key
	for arg in "$@"; do kv[${arg%%=*}]=${arg#*=}; done
	BRIDGE_CONF[$h]=$dir/crowdsec.conf
	: >"${BRIDGE_CONF[$h]}"
	for sec in lapi publish apply daemon; do
		echo "[$sec]" >>"${BRIDGE_CONF[$h]}"
		for key in "${!kv[@]}"; do
			[ "${key%%.*}" = "$sec" ] && echo "${key#*.} = ${kv[$key]}" >>"${BRIDGE_CONF[$h]}"
		done
		echo >>"${BRIDGE_CONF[$h]}"
	done
}

# bridge_start HOST [section.key=value ...]: (re)write its config and run it until it is
# subscribed to its daemon's watch (publishing) or has started (apply only).
bridge_start() {
	local h=$1
	shift
	bridge_conf "$h" "$@"
	BRIDGE_READY_RE="watching nfsentry's bans at "
	[[ " $* " != *" publish.enabled=false "* ]] || BRIDGE_READY_RE="nfsentry-crowdsec .*: LAPI "
	BRIDGE_RUNS[$h]=$((BRIDGE_RUNS[$h] + 1))
	BRIDGE_LOG[$h]=$TMPD/bridge-$h.${BRIDGE_RUNS[$h]}.log
	: >"${BRIDGE_LOG[$h]}"
	"$NFSENTRY_CROWDSEC" -c "${BRIDGE_CONF[$h]}" >"${BRIDGE_LOG[$h]}" 2>&1 &
	BRIDGE_PID[$h]=$!
	wait_until 10 bridge_ready "$h" || fail_fleet "bridge $h did not log '$BRIDGE_READY_RE' within 10 s"
}
bridge_ready() {
	grep -Eq -- "$BRIDGE_READY_RE" "${BRIDGE_LOG[$1]}" && return 0
	kill -0 "${BRIDGE_PID[$1]}" 2>/dev/null || fail_fleet "bridge $1 exited during startup"
	return 1
}
bridge_alive() { [ -n "${BRIDGE_PID[$1]:-}" ] && kill -0 "${BRIDGE_PID[$1]}" 2>/dev/null; }
bridge_gone() { ! bridge_alive "$1"; }
# shellcheck disable=SC2034 # BRIDGE_RC is for the tests
bridge_stop() {
	kill -"${2:-TERM}" "${BRIDGE_PID[$1]}"
	wait_until 10 bridge_gone "$1" || fail_fleet "bridge $1 still running 10 s after SIG${2:-TERM}"
	BRIDGE_RC=0   # for the tests
	wait "${BRIDGE_PID[$1]}" 2>/dev/null || BRIDGE_RC=$?
	BRIDGE_PID[$1]=
}
bridge_log_has() { grep -Eq -- "$2" "${BRIDGE_LOG[$1]}"; }

# fleet_setup [section.key=value ...]: everything, both daemons with the same overrides, then
# FLEET_A's on A and FLEET_B's on B.
FLEET_A=() FLEET_B=()
fleet_setup() {
	fleet_hosts "$@"
	bridge_start A
	bridge_start B
}
# fleet_hosts [section.key=value ...]: fleet_setup without the bridges (bench/crowdsec-apply.sh
# fills the LAPI first).
fleet_hosts() {
	fleet_netns
	load_ruleset
	in_b "$NFSENTRY" load-ruleset "$NFSENTRY_RULESET" >"$TMPD/load-ruleset-b.out" 2>&1 ||
		fail "load-ruleset in B: $(cat "$TMPD/load-ruleset-b.out")"
	write_config "$@" "${FLEET_A[@]}"
	fleet_conf "$CONF"
	local conf_a=$CONF events_a=$EVENTS
	CONF=$CONF_B EVENTS=$TMPD/b/events.json
	write_config daemon.state_dir="$TMPD/b/state" daemon.events="$TMPD/b/events.json" \
		daemon.metrics_file="$TMPD/b/metrics.prom" daemon.control_socket="$TMPD/b/control.sock" \
		evidence.dir="$TMPD/b/evidence" "$@" "${FLEET_B[@]}"
	fleet_conf "$CONF_B"
	CONF=$conf_a EVENTS=$events_a
	start_daemon
	start_daemon_b
	lapi_start
	lapi_add_machine host-A "$MACHINE_PW"
	lapi_add_machine host-B "$MACHINE_PW"
	lapi_add_bouncer bouncer-A "fleet-key-A-$$"
	lapi_add_bouncer bouncer-B "fleet-key-B-$$"
}

# ctl HOST ARGS...: nfsentryctl on HOST's control socket; prints its stdout.
ctl() {
	local sock=$TMPD/control.sock
	[ "$1" = B ] && sock=$TMPD/b/control.sock
	shift
	timeout 10 "$NFSENTRYCTL" -s "$sock" "$@"
}

# fleet_elems HOST SET / fleet_has HOST SET VALUE: lib.sh's set_elems in HOST's namespace.
fleet_elems() {
	local ns=$VNS
	[ "$1" = B ] && ns=$BNS
	VNS=$ns set_elems "$2"
}
fleet_has() { fleet_elems "$1" "$2" | awk -v a="$3" '$1 == a { f = 1 } END { exit !f }'; }
fleet_gone() { ! fleet_has "$@"; }

# rule_packets HOST SETNAME: packets counted by the prerouting rule matching @SETNAME.
rule_packets() {
	local ns=$VNS
	[ "$1" = B ] && ns=$BNS
	ip netns exec "$ns" nft -j list chain inet nfsentry prerouting 2>/dev/null | python3 -c '
import json, sys
want = "@" + sys.argv[1]
n = 0
for obj in json.load(sys.stdin)["nftables"]:
    exprs = obj.get("rule", {}).get("expr", [])
    if any(x.get("match", {}).get("right") == want for x in exprs):
        n += sum(x["counter"]["packets"] for x in exprs if "counter" in x)
print(n)
' "$2"
}

# listen_tcp_b PORT: serve "hi" on B (v4 and v6). fetch_b PORT [SRC]: lib.sh's fetch to B.
listen_tcp_b() {
	ip netns exec "$BNS" socat "TCP6-LISTEN:$1,fork,reuseaddr,ipv6only=0" SYSTEM:'echo hi' </dev/null >/dev/null 2>&1 &
	wait_until 5 port_listening_b "$1" || fail "socat did not listen on port $1 in B"
}
port_listening_b() { in_b ss -Hltn "sport = :$1" | grep -q .; }
fetch_b() { fetch "$B4" "$@"; }
fetch_b_ok() { [ "$(fetch_b "$@")" = hi ]; }
fetch_b_blocked() { ! fetch_b_ok "$@"; }

# lapi_alerts_of MACHINE: "SCOPE:VALUE ORIGIN SCENARIO" per decision of MACHINE's alerts.
lapi_alerts_of() {
	lapi_cscli alerts list -a -o json --limit 0 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin) or []:
    if a.get("machine_id") != sys.argv[1]:
        continue
    for d in a.get("decisions") or []:
        print("%s:%s %s %s" % (d["scope"], d["value"], d["origin"], d["scenario"]))
' "$1"
}

# ms_now: milliseconds since the epoch.
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
