#!/bin/bash
# Issue 10, item 7: gateways and resolvers that change while the daemon runs (as DHCP does)
# are protected at once: a new default route (rtnetlink) and a new nameserver in resolv_conf
# (replaced by rename, through a symlink, as resolvconf and systemd-resolved do). Scans forged
# from their addresses are refused, and a ban the new gateway already had is lifted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v hping3 >/dev/null || fail "needs hping3"
GW4=198.51.100.3 RES4=198.51.100.4 RES4B=198.51.100.6 GW6=2001:db8:1::3

# resolv_conf is a symlink into another directory, like /etc/resolv.conf ->
# /run/systemd/resolve/stub-resolv.conf.
mkdir -p "$TMPD/etc" "$TMPD/run"
: >"$TMPD/run/resolv.conf"
ln -s ../run/resolv.conf "$TMPD/etc/resolv.conf"
setup allow.resolv_conf="$TMPD/etc/resolv.conf" ban.duration=10m

# forge4 SRC: 20 SYNs to closed ports 1-20 of the victim with source SRC.
forge4() {
	in_s timeout 30 hping3 -q -S -a "$1" -p ++1 -c 20 -i u2000 "$V4" >/dev/null 2>&1 || true
}
forge6() {
	timeout 60 ip netns exec "$SNS" nmap -6 -n -Pn -sS --max-retries 0 -S "$1" -e veth-s -p 1-20 "$V6" \
		>"$TMPD/nmap.out" 2>&1 || fail "nmap -S $1 failed: $(cat "$TMPD/nmap.out")"
}
# refused ADDR KIND: a forged scan from ADDR was refused as a protected peer of that kind.
refused() {
	wait_for_log "^not banning $1 .*protected peer $1 \($2\)"
	wait_for_event 'e["event"] == "scan" and e["src"] == "'"$1"'" and e["action"] == "refused" and e["reason"] == "protected peer ('"$2"')"'
}

step "a forged scan from the future gateway gets it banned (it is nobody yet)"
forge4 "$GW4"
first_scan=$(date +%s)
wait_until 10 ban4_has "$GW4" || fail "$GW4 not banned: $(set_elems ban4)"

step "the default routes change and the resolver file is replaced by rename"
log_mark
in_v ip route add default via "$GW4"
in_v ip -6 route add default via "$GW6"
echo "nameserver $RES4" >"$TMPD/run/resolv.conf.new"
mv "$TMPD/run/resolv.conf.new" "$TMPD/run/resolv.conf"
# On a daemon that does not follow them these lines never come: the scans below tell.
wait_until 10 log_has "now protected: $RES4 \(resolver\)" || echo "(no notice of the new resolver)"
wait_until 10 log_has "now protected: $GW4 \(gateway\)" || echo "(no notice of the new gateway)"

step "a scan forged from the new resolver is refused"
forge4 "$RES4"
wait_for_event 'e["event"] == "scan" and e["src"] == "'$RES4'"'
sleep 0.5
ban4_gone "$RES4" || fail "the forged scan got the new resolver $RES4 banned"
refused "$RES4" resolver

step "the new gateway's ban is lifted"
wait_until 10 ban4_gone "$GW4" || fail "$GW4 is still banned"
wait_for_log "^unbanned $GW4: it holds a protected peer $GW4 \(gateway\)"
wait_for_event 'e["event"] == "unban" and e["src"] == "'$GW4'" and e["detector"] == "protected"'

step "scans forged from the new gateways are refused"
log_mark
# The engine asks about a source again only after its hold (10 s) since the first request.
left=$((first_scan + 11 - $(date +%s)))
[ "$left" -le 0 ] || sleep "$left"
forge4 "$GW4"
refused "$GW4" gateway
forge6 "$GW6"
wait_for_log "^not banning $GW6 .*protected peer $GW6 \(gateway\)"

step "the symlink is pointed at another file"
echo "nameserver $RES4B" >"$TMPD/run/resolv2.conf"
ln -s ../run/resolv2.conf "$TMPD/etc/resolv.conf.new"
mv -T "$TMPD/etc/resolv.conf.new" "$TMPD/etc/resolv.conf"
wait_until 10 log_has "now protected: $RES4B \(resolver\)" || echo "(no notice of the new resolver)"
forge4 "$RES4B"
refused "$RES4B" resolver

step "and a change of the new target is seen too"
echo "nameserver $RES4" >"$TMPD/run/resolv2.conf.new"
mv "$TMPD/run/resolv2.conf.new" "$TMPD/run/resolv2.conf"
wait_for_log "no longer protected: $RES4B \(resolver\)"

sleep 1
set_empty ban4 || fail "ban4 is not empty: $(set_elems ban4)"
set_empty ban6 || fail "ban6 is not empty: $(set_elems ban6)"
daemon_alive || fail "the daemon died"
pass
