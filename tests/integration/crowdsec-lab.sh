# shellcheck shell=bash
# An offline CrowdSec Local API for the tests and benchmarks of the CrowdSec bridge (issue 13).
# Source it (after lib.sh in a test, alone in a bench script); it needs root only for what the
# caller does around it. Debian's crowdsec 1.4.6 (`crowdsec`, `cscli`) runs the LAPI alone
# (`-no-cs -no-capi`: no log acquisition, no Central API) with its own config directory, sqlite
# database and a free port on 127.0.0.1; /etc/crowdsec is only read (profiles.yaml), never written.
#
#   lapi_start                      config in $LAPI_DIR, LAPI on $LAPI_URL, cscli's own machine
#   lapi_add_machine ID PASSWORD    registered (validated) machine
#   lapi_add_bouncer NAME KEY       bouncer API key
#   lapi_cscli ARGS...              cscli -c $LAPI_DIR/config.yaml ARGS (its sqlite warning dropped)
#   lapi_stop [SIGNAL]              TERM by default; the database stays for a restart
#   lapi_restart                    lapi_start again on the same directory, port and database
#   lapi_alive
# The caller's EXIT trap must call lapi_cleanup (lapi_trap sets one up around lib.sh's cleanup).
# Every wait is bounded.

LAPI_DIR=${LAPI_DIR:-}
LAPI_PORT=
LAPI_URL=
LAPI_PID=
LAPI_LOG=
LAPI_RUNS=0
LAPI_OWN_DIR=   # set when lapi_start made $LAPI_DIR (then lapi_cleanup removes it)

for tool in crowdsec cscli curl python3; do
	command -v "$tool" >/dev/null || { echo "SKIP: crowdsec-lab needs $tool (scripts/deps.sh)"; exit 77; }
done

lapi_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# lapi_config: the config.yaml of the lab (a copy of Debian's with every path in $LAPI_DIR).
lapi_config() {
	local d=$LAPI_DIR
	mkdir -p "$d/data" "$d/hub" "$d/notifications"
	cp /etc/crowdsec/profiles.yaml "$d/profiles.yaml"
	printf 'simulation: off\nexclusions:\n' >"$d/simulation.yaml"
	: >"$d/acquis.yaml"
	cat >"$d/config.yaml" <<EOF
common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: $d
config_paths:
  config_dir: $d/
  data_dir: $d/data/
  simulation_path: $d/simulation.yaml
  hub_dir: $d/hub/
  index_path: $d/hub/.index.json
  notification_dir: $d/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $d/acquis.yaml
cscli:
  output: human
db_config:
  log_level: info
  type: sqlite
  db_path: $d/data/crowdsec.db
  use_wal: true
  flush:
    max_items: 500000
    max_age: 7d
api:
  client:
    insecure_skip_verify: false
    credentials_path: $d/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 127.0.0.1:$LAPI_PORT
    profiles_path: $d/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
EOF
}

lapi_cscli() {
	cscli -c "$LAPI_DIR/config.yaml" "$@" 2> >(grep -v 'sqlite without WAL' >&2)
}

lapi_add_machine() {
	lapi_cscli machines add "$1" --password "$2" -f "$LAPI_DIR/machine-$1.yaml" >/dev/null 2>&1 ||
		lapi_fail "cscli machines add $1 failed"
}
lapi_add_bouncer() {
	lapi_cscli bouncers add "$1" -k "$2" >/dev/null 2>&1 || lapi_fail "cscli bouncers add $1 failed"
}

lapi_fail() {
	if declare -F fail >/dev/null; then
		fail "LAPI: $*"
	fi
	echo "FAIL: LAPI: $*" >&2
	[ -n "$LAPI_LOG" ] && tail -n 20 "$LAPI_LOG" >&2
	exit 1
}

lapi_alive() { [ -n "$LAPI_PID" ] && kill -0 "$LAPI_PID" 2>/dev/null; }
lapi_listening() {
	grep -q 'CrowdSec Local API listening' "$LAPI_LOG" && return 0
	lapi_alive || lapi_fail "crowdsec exited during startup: $(tail -n 5 "$LAPI_LOG")"
	return 1
}

# lapi_wait SECONDS CMD...: CMD every 0.1 s until it succeeds (lib.sh's wait_until when loaded).
lapi_wait() {
	local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

lapi_run() {
	LAPI_RUNS=$((LAPI_RUNS + 1))
	LAPI_LOG=$LAPI_DIR/lapi.$LAPI_RUNS.log
	: >"$LAPI_LOG"
	crowdsec -c "$LAPI_DIR/config.yaml" -no-cs -no-capi >"$LAPI_LOG" 2>&1 &
	LAPI_PID=$!
	lapi_wait 15 lapi_listening || lapi_fail "not listening within 15 s: $(tail -n 5 "$LAPI_LOG")"
	# The log line comes before the listener accepts: wait for an answer too.
	lapi_wait 5 curl -fso /dev/null "$LAPI_URL/v1/decisions?ip=192.0.2.1" -H "X-Api-Key: lab-probe-key-0000" ||
		lapi_fail "no answer on $LAPI_URL within 5 s"
}

lapi_start() {
	if [ -z "$LAPI_DIR" ]; then
		if [ -n "${TMPD:-}" ]; then
			LAPI_DIR=$TMPD/lapi
		else
			LAPI_DIR=$(mktemp -d /tmp/nfsentry-lapi.XXXXXX)
			LAPI_OWN_DIR=1
		fi
	fi
	mkdir -p "$LAPI_DIR"
	LAPI_PORT=$(lapi_free_port)
	LAPI_URL=http://127.0.0.1:$LAPI_PORT
	lapi_config
	# cscli's own machine: `cscli decisions add/delete/list` go through the API as a machine.
	lapi_cscli machines add lab-cscli --password "lab-cscli-$$-pw" \
		-f "$LAPI_DIR/local_api_credentials.yaml" >/dev/null 2>&1 || lapi_fail "cscli machines add lab-cscli failed"
	lapi_add_bouncer lab-probe lab-probe-key-0000
	lapi_run
}

lapi_restart() { lapi_run; }

lapi_stop() {
	[ -n "$LAPI_PID" ] || return 0
	kill -"${1:-TERM}" "$LAPI_PID" 2>/dev/null
	lapi_wait 10 lapi_gone || { kill -KILL "$LAPI_PID" 2>/dev/null; lapi_fail "crowdsec still running 10 s after SIG${1:-TERM}"; }
	wait "$LAPI_PID" 2>/dev/null || true
	LAPI_PID=
}
lapi_gone() { ! lapi_alive; }

lapi_cleanup() {
	if [ -n "$LAPI_PID" ]; then
		kill -KILL "$LAPI_PID" 2>/dev/null
		wait "$LAPI_PID" 2>/dev/null || true   # reaped here: no "Killed" job notice
	fi
	LAPI_PID=
	[ -z "$LAPI_OWN_DIR" ] || rm -rf "$LAPI_DIR"
	return 0
}

# lapi_trap: kill the LAPI on exit, then run lib.sh's cleanup (when loaded) with the exit status.
lapi_trap() {
	if declare -F cleanup >/dev/null; then
		# shellcheck disable=SC2154 # lapi_rc is assigned in the trap itself
		trap 'lapi_rc=$?; set +e; lapi_cleanup; (exit $lapi_rc); cleanup' EXIT
	else
		# shellcheck disable=SC2154 # lapi_rc is assigned in the trap itself
		trap 'lapi_rc=$?; set +e; lapi_cleanup; exit $lapi_rc' EXIT
	fi
}

# lapi_decisions: the active decisions of every origin as "SCOPE:VALUE ORIGIN" lines.
lapi_decisions() {
	lapi_cscli decisions list -a -o json 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin) or []:
    for d in a.get("decisions") or []:
        print("%s:%s %s" % (d["scope"], d["value"], d["origin"]))
'
}
# lapi_has VALUE [ORIGIN]: an active decision on VALUE (of ORIGIN when given).
lapi_has() { lapi_decisions | awk -v v="$1" -v o="${2:-}" '{ sub(/^[^:]*:/, "", $1) } $1 == v && (o == "" || $2 == o) { f = 1 } END { exit !f }'; }
