#!/bin/bash
# Installs what building, testing and the demo need on Debian 12 (root). Idempotent.
set -euo pipefail
pkgs=(
	# build
	build-essential meson ninja-build pkg-config
	libnetfilter-queue-dev libmnl-dev libnftnl-dev libnfnetlink-dev libnftables-dev
	libinih-dev libsodium-dev libsystemd-dev libjansson-dev libpcap-dev
	# the CrowdSec bridge (crowdsec/): HTTP(S) to the LAPI
	libcurl4-openssl-dev
	# lints the man pages (man/lint.sh, test lint-man)
	mandoc
	# run and test: the real kernel tools, clients and servers
	nftables iproute2 nmap hping3 curl socat tcpdump python3 procps util-linux
	# servers and clients of the backdoor scenarios (tests/integration/test-backdoor-*.sh)
	openssh-server openssh-client vsftpd inetutils-telnetd inetutils-telnet
	# the VM suite (tests/vm, docs/testing-vm.md): Debian's stock kernel, which has nft_queue,
	# booted in qemu with a busybox initramfs built by cpio; kmod's depmod and modprobe -d
	qemu-system-x86 busybox-static cpio kmod
	# the systemd VM group (tests/vm/systemd): a Debian 12 root file system built by mmdebstrap,
	# made into an ext4 image by mke2fs -d (e2fsprogs), booted on qcow2 overlays (qemu-img)
	mmdebstrap e2fsprogs qemu-utils
	# scripts/fuzz.sh: libFuzzer is clang's (-fsanitize=fuzzer, runtime in libclang-rt);
	# scripts/sanitize.sh uses gcc's ASan, UBSan and TSan, which come with build-essential,
	# and clang's ASan and UBSan (build-asan-clang), whose runtimes are in libclang-rt
	clang libclang-rt-14-dev
	# the CrowdSec bridge's tests and benchmarks run an offline LAPI (tests/integration/crowdsec-lab.sh)
	crowdsec
)
# crowdsec's postinst registers to the Central API (online) unless this file exists non-empty
# before it runs: with no network that registration fails and the install with it. The lab
# never uses the Central API (-no-capi); a real host registers with `cscli capi register`.
capi=/etc/crowdsec/online_api_credentials.yaml
if ! dpkg-query -W -f='${Status}' crowdsec 2>/dev/null | grep -q "ok installed" && [ ! -s "$capi" ]; then
	mkdir -p /etc/crowdsec
	printf '# written by nfsentry scripts/deps.sh: no Central API registration (offline install)\nurl: https://api.crowdsec.net/\n' >"$capi"
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
