#!/bin/bash
# Benchmark: the daemon's memory per tracked source and per inspected connection, in the
# integration tests' namespace lab (tests/integration/lib.sh) with the shipped ruleset.
# bench/flood.c sends, paced at RATE packets/s:
#
#   sources: one UDP datagram to a closed port from each of N spoofed addresses: each becomes
#            a tracked source (one port: no scan, no ban);
#   flows:   one SYN to a listening port from each of N other addresses: each opens an
#            inspected connection (the inspection queue sees connection edges).
#
# Two daemon runs: with evidence records off ([evidence] dir empty: the tables alone, N1
# entries of each kind), then with the defaults (evidence on: every source and connection also
# gets a ring of its last 8 packets, 160 bytes each, up to max_rings 16384 rings for both
# kinds together; N2 entries of each kind, 2 x N2 below that bound).
#
# The daemon's resident set (VmRSS) is read before and after each step; its own counts
# (SIGUSR1: "tracking N sources", "inspecting N connections") say how many entries the step
# added. Bytes per entry = RSS growth / entries added. Beside it, malloc's own count: the bytes
# its arenas hand out (malloc_stats(3)'s "in use bytes", asked of the daemon by gdb, which
# stops it for a moment), so chunk headers and rounding count, and pages that are only
# reserved (the tables' bucket arrays not yet touched) do not. Printed last: the sizes in the
# code (sizeof from the binary's debug information, via gdb, when it is installed), each
# rounded up to its malloc chunk, and what a full table holds per entry.
# Usage: sudo bench/memory.sh [N1=40000] [N2=6000] [RATE=20000]
set -euo pipefail
N1=${1:-40000} N2=${2:-6000} RATE=${3:-20000}
BENCH=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tests/integration/lib.sh
. "$BENCH/../tests/integration/lib.sh"
cc -O2 -o "$TMPD/flood" "$BENCH/flood.c"

setup_netns
in_v sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-v.rp_filter=0
VMAC=$(in_v cat /sys/class/net/veth-v/address)
in_s ip neigh replace "$V4" lladdr "$VMAC" dev veth-s nud permanent
load_ruleset
# A listening port outside inspect_skip_tcp: its SYNs take the inspection path.
ip netns exec "$VNS" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8000)); s.listen(16)
time.sleep(600)' &
wait_until 5 port_listening 8000 || fail "nothing listens on 8000"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
# inuse_b: malloc's bytes in use in the daemon, every arena (0 when gdb cannot ask it).
inuse_b() {
	command -v gdb >/dev/null || { echo 0; return; }
	log_mark
	gdb -p "$DAEMON_PID" -batch -ex 'call ((void (*)(void))malloc_stats)()' >/dev/null 2>&1 || { echo 0; return; }
	# malloc_stats writes to the daemon's stderr (its log): each arena, then "Total".
	tail -n "+$((LOG_MARK + 1))" "$LOG" | awk '/^Total/ { t = 1 } t && /^in use bytes/ { print $NF; exit }
		END { if (!t) print 0 }'
}
# counts: "SOURCES FLOWS" as the daemon tracks them now.
counts() {
	log_mark
	kill -USR1 "$DAEMON_PID"
	wait_for_log '^tracking [0-9]+ sources' 5
	tail -n "+$((LOG_MARK + 1))" "$LOG" | awk '/^inspecting / { f = $2 } /^tracking / { s = $2 } END { print s + 0, f + 0 }'
}
# step RUN KIND FIRST_SOURCE COUNT: send, let the daemon settle, print
# "RUN KIND added rss_before rss_after inuse_before inuse_after".
step() {
	local run=$1 kind=$2 first=$3 n=$4 r0 r1 m0 m1 c0 c1 proto=udp port=9
	[ "$kind" = flows ] && proto=syn port=8000
	read -ra c0 < <(counts)
	r0=$(rss_kb)
	m0=$(inuse_b)
	in_s "$TMPD/flood" -i veth-s -m "$VMAC" -d "$V4" -s "$first" -n "$n" -p "$proto" -P "$port" -c "$n" -r "$RATE" >/dev/null
	sleep 2
	read -ra c1 < <(counts)
	r1=$(rss_kb)
	m1=$(inuse_b)
	if [ "$kind" = sources ]; then
		echo "$run $kind $((c1[0] - c0[0])) $r0 $r1 $m0 $m1"
	else
		echo "$run $kind $((c1[1] - c0[1])) $r0 $r1 $m0 $m1"
	fi
}

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); kernel $(uname -r)"
: >"$TMPD/results"
write_config evidence.dir=
start_daemon
start_rss=$(rss_kb)
step off sources 198.18.0.1 "$N1" | tee -a "$TMPD/results"
step off flows 198.19.0.1 "$N1" | tee -a "$TMPD/results"
read -ra fin < <(counts)
end_rss=$(rss_kb)
stop_daemon
write_config
start_daemon
step on sources 198.18.192.1 "$N2" | tee -a "$TMPD/results"
step on flows 198.19.192.1 "$N2" | tee -a "$TMPD/results"
dropped=$(in_v awk '{ n += $6 + $7 } END { print n + 0 }' /proc/net/netfilter/nfnetlink_queue)

# sizes: "name=bytes" for each type the binary has (gdb's python, so a type a later change
# renames or removes is left out instead of shifting the others).
sizes=""
if command -v gdb >/dev/null; then
	sizes=$(gdb -batch -ex 'python
import gdb
for t in ("source", "source_more", "port_seen", "flow", "flow_slab", "ia_state", "sig_state", "lru_node",
          "ghost_entry", "ring", "slot"):
    try:
        print("size %s=%d" % (t, gdb.lookup_type("struct " + t).sizeof))
    except gdb.error:
        pass
' "$NFSENTRY" 2>/dev/null | awk '/^size / { printf "%s ", $2 }')
fi
python3 - "$TMPD/results" "$start_rss" "$end_rss" "$sizes" "${fin[0]}" "${fin[1]}" "$dropped" "$N1" "$N2" "$RATE" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
start, end = int(sys.argv[2]), int(sys.argv[3])
sizes = dict((kv.split("=")[0], int(kv.split("=")[1])) for kv in sys.argv[4].split())
print("evidence off: daemon RSS at start %.1f MiB, %.1f MiB tracking %s sources and %s connections; "
      "packets the kernel dropped from the queues: %s" % (start / 1024, end / 1024, sys.argv[5], sys.argv[6], sys.argv[7]))
print("%-40s %10s %12s %12s %14s" % ("step", "entries", "RSS growth", "bytes/entry", "malloc/entry"))
labels = {("off", "sources"): "sources (evidence off: the table)", ("off", "flows"): "connections (evidence off: the table)",
          ("on", "sources"): "sources (evidence on: table + ring)", ("on", "flows"): "connections (evidence on: table + ring)"}
for run, kind, added, r0, r1, m0, m1 in rows:
    added, growth, used = int(added), (int(r1) - int(r0)) * 1024, int(m1) - int(m0)
    per_malloc = "%.0f" % (used / added) if added and int(m0) and int(m1) else "n/a"
    print("%-40s %10d %10.1f MiB %12.0f %14s" % (labels[(run, kind)], added, growth / 2**20,
          growth / added if added else 0, per_malloc))

def chunk(n):
    """glibc's malloc on 64-bit: the request plus an 8-byte header, rounded up to 16, at least 32."""
    return max(32, (n + 8 + 15) & ~15)

ptr = 8
if "source" in sizes:
    s = sizes["source"]
    line = "in the code: struct source %d B (malloc chunk %d) + a bucket pointer %d B" % (s, chunk(s), ptr)
    if "source_more" in sizes and "port_seen" in sizes:
        line += ("; one port inline, more ports (and counters past 65,535) in a struct source_more of %d B"
                 " + %d B a port" % (sizes["source_more"], sizes["port_seen"]))
    elif "port_seen" in sizes:
        line += ("; its ports array %d B (4 slots of %d, then up to the threshold)"
                 % (chunk(4 * sizes["port_seen"]), sizes["port_seen"]))
    print(line)
    # The ghost (tracker.c): GHOST_FACTOR 2 entries per source the table holds, and an index of
    # 4-byte heads, as many as the entries (rounded to a power of two).
    # Both stages share one bucket array a shard since issue 14 (two before).
    full = "  a full table: %d B a source (the chunk and a bucket)" % (chunk(s) + ptr)
    if "ghost_entry" in sizes:
        g = 2 * (sizes["ghost_entry"] + 4)
        full += (" + %d B of probation's ghost (2 entries of %d B and their index), allocated at start and paged in"
                 " as probation evicts: %d B" % (g, sizes["ghost_entry"], chunk(s) + ptr + g))
    print(full)
if "flow" in sizes:
    f = sizes["flow"]
    parts = ", ".join("%s %d B" % (k, sizes[k]) for k in ("lru_node", "ia_state", "sig_state") if k in sizes)
    # Since issue 14 flows come from slabs (flow.c, struct flow_slab): one chunk for several.
    if "flow_slab" in sizes:
        n = (sizes["flow_slab"] - ptr) // f
        alloc = "in slabs of %d, one malloc chunk of %d B: %.0f B a flow" % (n, chunk(sizes["flow_slab"]),
                                                                            chunk(sizes["flow_slab"]) / n)
    else:
        alloc = "malloc chunk %d" % chunk(f)
    print("struct flow %d B (%s) + a bucket pointer %d B%s"
          % (f, alloc, ptr, " (of it: " + parts + ")" if parts else ""))
if "ring" in sizes and "slot" in sizes:
    print("an evidence ring %d B (struct ring %d + 8 x (slot %d + snaplen 160))"
          % (sizes["ring"] + 8 * (sizes["slot"] + 160), sizes["ring"], sizes["slot"]))
print("command: sudo bench/memory.sh %s %s %s" % tuple(sys.argv[8:11]))
PY
