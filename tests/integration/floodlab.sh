# shellcheck shell=bash
# The spoofed-source flood, for test-flood.sh, test-kill9.sh and bench/flood.sh; source it
# after lib.sh.
#
# floodgen (floodgen.c) sends TCP SYNs with TTL 77 to random closed ports of the victim from
# random sources of FLOOD_NET, a private /16 that exists only in these namespaces: half of
# them from a pool of "heavy" sources that cross the scan threshold, among them an allowlisted
# address, the scanner's own address (the victim's gateway for FLOOD_NET) and the victim's own
# address. The victim routes FLOOD_NET back over the veth (rp_filter off, and accept_local so
# that its own address may come in from outside), and counts every flood packet before
# anything else sees it: table ip floodcount, prerouting priority -500.
FLOODGEN=${NFSENTRY_FLOODGEN:-$LIB_DIR/../../build/tests/integration/floodgen}
[ -x "$FLOODGEN" ] || { echo "FAIL: no floodgen binary at $FLOODGEN (build it first)" >&2; exit 1; }
FLOOD_NET=10.123.0.0/16
FLOOD_ALLOWED=10.123.200.7 # in [allow] networks below
FLOOD_PORTS=20000-29999    # nothing listens there

# flood_lab SETSIZE: namespaces, the shipped ruleset with ban4 of SETSIZE elements, routes,
# the counting table.
flood_lab() {
	setup_netns
	sed "s/size 1048576/size $1/" "$NFSENTRY_RULESET" >"$TMPD/flood.nft"
	load_ruleset "$TMPD/flood.nft"
	in_v ip route add "$FLOOD_NET" via "$S4" dev veth-v
	in_v sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-v.rp_filter=0 \
		net.ipv4.conf.veth-v.accept_local=1
	in_v nft -f - <<-'EOF'
	table ip floodcount {
		chain prerouting {
			type filter hook prerouting priority -500; policy accept;
			ip ttl 77 counter
		}
	}
	EOF
}

# flood_config [key=value...]: small tables, so that a flood fills them within a second.
flood_config() {
	write_config scan.max_sources=1024 detect.max_flows=1024 ban.max_history=1024 \
		evidence.max_rings=1024 evidence.max_mb=2 ban.duration=20s daemon.log_level=notice \
		"allow.networks=127.0.0.0/8, ::1/128, ${FLOOD_ALLOWED%.*}.0/24" "$@"
}

# flood_rss_bound_kb IDLE_KB: what the daemon may hold at most under any flood, from its
# configuration ($CONF's keys; the per-entry sizes are upper bounds of the structs plus
# malloc's overhead: struct source 104 bytes + a block for ports past the first, and 40
# bytes of ghost (docs/security.md, item 9; docs/benchmarks.md, "Memory"); max_sources / 4
# prefixes, each a struct source with prefix_threshold ports (item 4); struct flow 280
# (issue 14; the bound below still allows 1,024), a packet ring 88 + packets x (24 +
# snaplen), a ban or an offender about 112): IDLE_KB, plus
# every table at its cap, plus 16 MiB for the allocator's per-thread arenas, thread stacks
# and buffers. The same flood without the caps would need over 100 MiB for its 65,534
# sources' rings alone.
flood_rss_bound_kb() {
	python3 - "$CONF" "$1" <<-'EOF'
	import configparser, sys
	c = configparser.ConfigParser(inline_comment_prefixes=(";",))
	c.read(sys.argv[1])
	g = lambda s, k, d: int(c.get(s, k, fallback=d))
	b = (g("scan", "max_sources", 65536) * 512 + g("detect", "max_flows", 65536) * 1024
	     + max(64, g("scan", "max_sources", 65536) // 4) * (512 + 16 * g("scan", "prefix_threshold", 40))
	     + g("evidence", "max_rings", 16384) * (g("evidence", "packets", 8) * (24 + g("evidence", "snaplen", 160)) + 128)
	     + g("ban", "max_history", 100000) * 2 * 256
	     + g("evidence", "max_mb", 256) * 1024 * 96          # record index: >= 1 KiB a record
	     + 1024 * 4096)                                      # evidence queue: 1,024 events
	print(int(sys.argv[2]) + b // 1024 + 16 * 1024)
	EOF
}

rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$DAEMON_PID/status"; }
ban4_count() { set_elems ban4 | wc -l; }

# flood_run SECONDS [floodgen options]: the flood from the scanner, with the heavy pool's
# special members; meanwhile one line a second into $TMPD/samples: "SECOND RSS_KB BANS
# RECEIVED" (RECEIVED: packets nfsentry got from its closed-port queues so far) plus any
# allowlisted or protected address found in ban4. The sender's line goes to
# $TMPD/floodgen.out and stdout.
flood_run() {
	local secs=$1 t0
	shift
	t0=$(date +%s%N)
	: >"$TMPD/samples"
	in_s "$FLOODGEN" "$V4" "$FLOOD_NET" -t "$secs" -p "$FLOOD_PORTS" -H 100 \
		-e "$FLOOD_ALLOWED" -e "$S4" -e "$V4" "$@" >"$TMPD/floodgen.out" &
	local gen=$!
	while kill -0 "$gen" 2>/dev/null; do
		sleep 1
		daemon_alive || break
		echo "$((($(date +%s%N) - t0) / 1000000000)) $(rss_kb) $(set_elems ban4 | awk -v a="$FLOOD_ALLOWED $S4 $V4" -v rx="$(ctl_metric nfsentry_queue_packets_total)" '
			BEGIN { split(a, p, " "); for (i in p) bad[p[i]] = 1 }
			{ n++ } $1 in bad { b = b " " $1 } END { print n + 0, rx b }')" >>"$TMPD/samples"
	done
	wait "$gen" || fail "floodgen failed"
	cat "$TMPD/floodgen.out"
}

# flood_tail: a few packets from fresh sources, one a millisecond, after the flood: a loss at
# the very end of the flood shows as an id gap only when a later packet arrives.
flood_tail() {
	in_s "$FLOODGEN" "$V4" 10.123.254.0/24 -n 64 -r 1000 -H 0 -p "$FLOOD_PORTS" >"$TMPD/tail.out" ||
		fail "floodgen (tail) failed"
}

queues_idle() { in_v awk '$1 < 8 { n += $3 } END { exit n != 0 }' /proc/net/netfilter/nfnetlink_queue; }

# flood_account: where every flood packet went, from the sender, the kernel and the daemon.
# Sets SENT and prints the table; fails when the books do not balance.
flood_account() {
	local pre ban kq kd ku rx gaps enob
	SENT=$(awk '{ n += $2 } END { print n }' "$TMPD/floodgen.out" "$TMPD/tail.out")
	pre=$(in_v nft list chain ip floodcount prerouting | awk '$1 == "ip" && $2 == "ttl" { print $6 }')
	# Hosts in ban4, and the /24s of FLOOD_NET that the flood's many sources and ports made
	# distributed scans in bannet4 (docs/security.md, item 4).
	ban=$(( $(drop_counter 4) + $(drop_counter net4) ))
	# The closed-port queues: ids handed out (delivered, or lost to a full socket), queue full.
	read -r kq kd ku < <(in_v awk '$1 < 8 { q += $8; d += $6; u += $7 } END { print q, d, u }' \
		/proc/net/netfilter/nfnetlink_queue)
	rx=$(( $(ctl_metric nfsentry_queue_packets_total queue=0) + $(ctl_metric nfsentry_queue_packets_total queue=1) ))
	gaps=$(ctl_metric nfsentry_queue_id_gaps_total)
	enob=$(ctl_metric nfsentry_queue_enobufs_total)
	cat <<-EOF
	packets sent (floodgen, and the tail) $SENT (refused by the sender's own link: $(awk '{ n += $4 } END { print n }' "$TMPD/floodgen.out" "$TMPD/tail.out"))
	  seen at prerouting (TTL 77)      $pre
	  dropped by the ban rule          $ban
	  queue full (kernel queue_dropped) $kd
	  queued (kernel id_sequence)      $kq
	    received by nfsentry           $rx
	    lost to ENOBUFS (kernel user_dropped) $ku; nfsentry counted $gaps in id gaps ($enob ENOBUFS reads)
	EOF
	[ "$pre" = "$SENT" ] || fail "the victim saw $pre flood packets, the sender sent $SENT"
	[ "$pre" = $((ban + kd + kq)) ] ||
		fail "$pre flood packets, but ban drops + queue full + queued = $((ban + kd + kq)): some went unaccounted"
	[ "$kq" = $((rx + gaps)) ] || fail "the kernel queued $kq, nfsentry received $rx and counted $gaps lost"
	[ "$gaps" = "$ku" ] || fail "nfsentry counted $gaps lost in id gaps, the kernel $ku (user_dropped)"
}
