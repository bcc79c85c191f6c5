#!/bin/bash
# Benchmark: the detection engine offline. `nfsentry replay` over a large mixed capture against
# the floor of reading the same file with libpcap alone (bench/pcap-floor.c, pcap_next_ex in a
# loop), as two ratios measured in one run, for the replay as it runs by default (on two CPUs or
# more: a reader thread and the engine's, replay/replay.h) and with --single-thread (one thread
# reads and runs the engine in turn, as on one CPU):
#
#   packets per second: best of R wall-clock runs of each, taken alternately (CPU time, user
#     plus system, is printed too: on a busy machine it moves less than wall time; the two
#     threads' CPU time adds up, so the pipelined replay's CPU ratio is lower than its wall
#     one);
#   instructions per packet: valgrind --tool=callgrind counts over the first M packets, less
#     the count for an empty capture (start-up: config, tables, libsodium), divided by M.
#     Instruction counts do not depend on what else the machine runs.
#
# The capture is synthesised by bench/gen-capture.py (scans of six kinds, TCP connections with
# payload, SSH-like and telnet-like sessions, UDP, a fifth over IPv6) with the real traces of
# tests/traces mixed in; the same seed gives the same file. Events go to /dev/null.
# No root needed (but valgrind is installed only by root).
#
# Usage: bench/engine.sh [N=1000000 packets] [R=5 runs] [M=100000 packets under callgrind]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000} R=${2:-5} M=${3:-100000}
NFSENTRY=${NFSENTRY:-build/daemon/nfsentry}
TRACES=${TRACES:-tests/traces}
[ -x "$NFSENTRY" ] || { echo "no nfsentry binary at $NFSENTRY (build it, or set NFSENTRY)" >&2; exit 1; }
# valgrind is for this benchmark only: installed here when missing (as root); the rest is in
# scripts/deps.sh.
if ! command -v valgrind >/dev/null && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
for tool in cc python3 tcpdump valgrind callgrind_annotate; do
	command -v "$tool" >/dev/null || { echo "needs $tool (scripts/deps.sh; apt-get install valgrind)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/nfsentry-engine.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The floor is built like the daemon (meson's debugoptimized: -O2 -g).
cc -O2 -g -o "$tmp/pcap-floor" bench/pcap-floor.c -lpcap

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
python3 bench/gen-capture.py -n "$N" ${TRACES:+--traces "$TRACES"} "$tmp/big.pcap"
tcpdump -r "$tmp/big.pcap" -c "$M" -w "$tmp/prefix.pcap" 2>/dev/null
tcpdump -r "$tmp/big.pcap" -c 1 -w "$tmp/one.pcap" 2>/dev/null
head -c 24 "$tmp/one.pcap" >"$tmp/empty.pcap"   # the file header alone: zero packets
packets=$("$tmp/pcap-floor" "$tmp/big.pcap" 2>&1 | awk '{ print $2 }')
mpackets=$("$tmp/pcap-floor" "$tmp/prefix.pcap" 2>&1 | awk '{ print $2 }')
"$NFSENTRY" replay "$tmp/big.pcap" 2>"$tmp/replay.err" | python3 -c '
import collections, json, sys
c = collections.Counter()
for line in sys.stdin:
    e = json.loads(line)
    c["%s/%s" % (e["event"], e.get("detector", "-"))] += 1
print("events: " + ", ".join("%s %d" % kv for kv in sorted(c.items())))'
cat "$tmp/replay.err"

# run NAME CMD...: one timed run; appends "NAME wall_s cpu_s" to $tmp/times.
run() {
	local name=$1
	shift
	python3 - "$name" "$@" >>"$tmp/times" <<'PY'
import os, subprocess, sys, time
name, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
wall = time.perf_counter() - t0
if status:
    sys.exit("%s failed: %d" % (" ".join(cmd), status))
print(name, wall, ru.ru_utime + ru.ru_stime)
PY
}
: >"$tmp/times"
cat "$tmp/big.pcap" >/dev/null   # in the page cache for both
for _ in $(seq 1 "$R"); do
	run floor "$tmp/pcap-floor" "$tmp/big.pcap"
	run nfsentry "$NFSENTRY" replay "$tmp/big.pcap"
	run single "$NFSENTRY" replay "$tmp/big.pcap" --single-thread
done

# ir CMD...: instructions callgrind counts for CMD.
ir() {
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" >/dev/null 2>"$tmp/cg.err" ||
		{ cat "$tmp/cg.err" >&2; exit 1; }
	awk '/Collected :/ { print $NF }' "$tmp/cg.err"
}
ir_floor_m=$(ir "$tmp/pcap-floor" "$tmp/prefix.pcap")
ir_floor_0=$(ir "$tmp/pcap-floor" "$tmp/empty.pcap")
ir_nfs_0=$(ir "$NFSENTRY" replay "$tmp/empty.pcap")
ir_nfs_m=$(ir "$NFSENTRY" replay "$tmp/prefix.pcap")
ir_one_0=$(ir "$NFSENTRY" replay "$tmp/empty.pcap" --single-thread)
ir_one_m=$(ir "$NFSENTRY" replay "$tmp/prefix.pcap" --single-thread)
echo "== where nfsentry's instructions go (callgrind, one thread, $mpackets packets, self cost, top 12):"
callgrind_annotate --threshold=100 "$tmp/cg.out" >"$tmp/cg.txt" 2>/dev/null
awk '/^-+$/ { sep++; next } sep >= 3 && NF && $1 ~ /[0-9]/ && n++ < 13 { print "  " $0 }' "$tmp/cg.txt"

echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/times" "$packets" "$mpackets" "$ir_floor_m" "$ir_floor_0" "$ir_nfs_m" "$ir_nfs_0" "$ir_one_m" "$ir_one_0" \
	"$N" "$R" "$M" <<'PY'
import sys
times, packets, mpackets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fm, f0, nm, n0, om, o0 = (int(x) for x in sys.argv[4:10])
N, R, M = sys.argv[10:13]
best = {}
for line in open(times):
    name, wall, cpu = line.split()
    b = best.setdefault(name, [1e9, 1e9])
    b[0], b[1] = min(b[0], float(wall)), min(b[1], float(cpu))
fw, fc = best["floor"]
nw, nc = best["nfsentry"]
ow, oc = best["single"]
ipp_f, ipp_n, ipp_o = (fm - f0) / mpackets, (nm - n0) / mpackets, (om - o0) / mpackets
# nfsentry: the default replay (pipelined on two CPUs or more); one thread: --single-thread.
print("%-32s %14s %14s %8s %14s %8s" % ("", "pcap floor", "nfsentry", "ratio", "one thread", "ratio"))
print("%-32s %14.0f %14.0f %8.3f %14.0f %8.3f" % ("packets/s (wall, best of %s)" % R, packets / fw, packets / nw, fw / nw,
                                                   packets / ow, fw / ow))
print("%-32s %14.0f %14.0f %8.3f %14.0f %8.3f" % ("packets/s (CPU, best of %s)" % R, packets / fc, packets / nc, fc / nc,
                                                   packets / oc, fc / oc))
print("%-32s %14.1f %14.1f %8.2f %14.1f %8.2f" % ("instructions/packet", ipp_f, ipp_n, ipp_n / ipp_f, ipp_o, ipp_o / ipp_f))
print("%-32s %14d %14d %8s %14d" % ("instructions at start-up", f0, n0, "", o0))
print("capture: %d packets (%d under callgrind)" % (packets, mpackets))
print("command: bench/engine.sh %s %s %s" % (N, R, M))
PY
