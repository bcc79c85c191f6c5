# shellcheck shell=bash
# Helpers shared by the bench/ scripts; source it.

# router_lab TAG: three network namespaces, $S (a sender) -> $R (a router) -> $K (a sink),
# joined by veth pairs TAG-s/TAG-rs and TAG-rk/TAG-k, and an EXIT trap that deletes them and
# $tmp (the caller's temporary folder, made before). The router forwards IPv4 and IPv6 (rp_filter off, so any source address passes) and
# sends everything on to the sink through neighbours that are always there (192.0.2.2 and
# 2001:db8:ffff::2, MAC 02:00:00:00:00:02, which the sink does not answer to: it drops what
# it gets). Sets RMAC: the MAC address to send to the router with. No packet leaves them.
router_lab() {
	local tag=$1 ns pair
	S=nfsb-$tag-src-$$ R=nfsb-$tag-rtr-$$ K=nfsb-$tag-sink-$$
	trap router_lab_cleanup EXIT
	for ns in "$S" "$R" "$K"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
	ip link add "$tag-s" netns "$S" type veth peer name "$tag-rs" netns "$R"
	ip link add "$tag-k" netns "$K" type veth peer name "$tag-rk" netns "$R"
	for pair in "$S $tag-s" "$R $tag-rs" "$R $tag-rk" "$K $tag-k"; do
		set -- $pair
		ip -n "$1" link set "$2" up
	done
	ip -n "$R" addr add 192.0.2.1/30 dev "$tag-rk"
	ip -n "$R" addr add 2001:db8:ffff::1/64 dev "$tag-rk" nodad
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$tag-rs.rp_filter=0" "net.ipv4.conf.$tag-rs.accept_local=1"
	ip -n "$R" neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev "$tag-rk" nud permanent
	ip -n "$R" neigh add 2001:db8:ffff::2 lladdr 02:00:00:00:00:02 dev "$tag-rk" nud permanent
	ip -n "$R" route add default via 192.0.2.2 dev "$tag-rk"
	ip -n "$R" -6 route add default via 2001:db8:ffff::2 dev "$tag-rk"
	# shellcheck disable=SC2034 # for the caller
	RMAC=$(ip netns exec "$R" cat "/sys/class/net/$tag-rs/address")
}
router_lab_cleanup() {
	local ns
	for ns in "$S" "$R" "$K"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "${tmp:?}"
}

# nft_counter NETNS TABLE CHAIN: packets of the first counter in chain CHAIN of table inet
# TABLE in NETNS (0 when there is none).
nft_counter() {
	ip netns exec "$1" nft -j list chain inet "$2" "$3" 2>/dev/null | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for x in o.get("rule", {}).get("expr", []):
        if "counter" in x:
            print(x["counter"]["packets"]); sys.exit()
print(0)'
}
