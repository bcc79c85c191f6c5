#!/bin/bash
# Issue 12: main.c starts the daemon in named steps and stops them in reverse. The stop order
# is what the shutdown fixes rely on (the control socket before the writer it waits on; the
# writer's thread, then the evidence thread that still sends it tokens, then the ban table
# saved): at log_level = debug each stop is logged, and the order must be this one, after
# SIGTERM and after a start that fails half-way (here at the control socket).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

stops() { sed -n 's/^debug: stopping: //p' "$1" | paste -sd, -; }
after_control="worker threads,open connections,ban writer thread,evidence thread,ban table saved,counters at exit"
after_control+=",queues,engine,protected peers,evidence,ban writer,tables,events file,random key"

setup_netns
load_ruleset

step "SIGTERM: every step stops, in reverse"
write_config daemon.log_level=debug
start_daemon
stop_daemon TERM
[ "$DAEMON_RC" = 0 ] || fail "exit status $DAEMON_RC after SIGTERM"
got=$(stops "$LOG")
want="ready,signals,control socket,$after_control"
[ "$got" = "$want" ] || fail "stop order after SIGTERM:
   got: $got
  want: $want"

step "a start that fails at the control socket stops the steps before it, in reverse"
write_config daemon.log_level=debug daemon.control_group=nfsentry-no-such-group
run_daemon_fg
[ "$RUN_RC" = 1 ] || fail "exit status $RUN_RC with an unknown control_group: $RUN_OUT"
grep -q 'control_group: no group named "nfsentry-no-such-group"' <<<"$RUN_OUT" || fail "no error: $RUN_OUT"
got=$(stops <(echo "$RUN_OUT"))
want="control socket,$after_control"
[ "$got" = "$want" ] || fail "stop order after a failed start:
   got: $got
  want: $want"
pass
