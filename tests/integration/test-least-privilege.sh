#!/bin/bash
# What the systemd unit grants is enough: an unprivileged user with CAP_NET_ADMIN alone
# (ambient, as AmbientCapabilities= gives it) binds the queues, reads and writes the sets,
# and bans. Without the capability it refuses to start with a clear message.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

setup_netns
load_ruleset
# The unprivileged daemon writes its socket, events and metrics where it may: its state dir.
write_config daemon.control_socket=$TMPD/state/control.sock daemon.metrics_file=$TMPD/state/metrics.prom
chown -R nobody: "$TMPD/state"
chmod 755 "$TMPD"

step "as nobody without capabilities: a clear refusal"
run_daemon_fg_as() { RUN_RC=0; RUN_OUT=$(timeout 10 ip netns exec "$VNS" setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$NFSENTRY" -c "$CONF" 2>&1) || RUN_RC=$?; }
run_daemon_fg_as
[ "$RUN_RC" != 0 ] || fail "started without CAP_NET_ADMIN"
grep -q "CAP_NET_ADMIN" <<<"$RUN_OUT" || fail "the refusal does not name CAP_NET_ADMIN: $RUN_OUT"

step "as nobody with CAP_NET_ADMIN only"
DAEMON_PREFIX=(setpriv --reuid=nobody --regid=nogroup --clear-groups --bounding-set=-all,+net_admin
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin)
start_daemon
# ip netns exec and setpriv both exec, so $DAEMON_PID is nfsentry itself.
[ "$(ps -o user= -p "$DAEMON_PID" | tr -d ' ')" = nobody ] || fail "the daemon is not running as nobody"
grep -q '^CapEff:.*0000000000001000$' "/proc/$DAEMON_PID/status" || fail "effective capabilities are not CAP_NET_ADMIN alone: $(grep CapEff "/proc/$DAEMON_PID/status")"
scan -sS -p 1-100
wait_for_log "^banned $S4 "
ban4_has "$S4" || fail "$S4 not in ban4"
[ -s "$TMPD/state/offences" ] || fail "offence history not written by the unprivileged daemon"
pass
