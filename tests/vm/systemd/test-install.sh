#!/bin/bash
# Scenario 1: `apt install ./nfsentry_VERSION_amd64.deb` on a Debian 12 system with no
# network: the package's dependencies resolve from what is installed, the unit is enabled and
# started, the kernel holds table inet nfsentry with native queue statements (Debian's kernel
# has nft_queue: no xt NFQUEUE through nft_compat), and the journal has the daemon's start line.
source "$(dirname "$0")/lib.sh"

installed && fail "expected a system without nfsentry; dpkg says it is installed"
step "apt install ./$(basename "$DEB")"
install_package
installed || fail "expected nfsentry installed after apt; dpkg-query says: $(dpkg-query -W -f='${Status}' nfsentry 2>&1)"

step "systemctl: enabled and active"
[ "$(systemctl is-enabled nfsentry)" = enabled ] ||
	fail "expected nfsentry.service enabled by the install; is-enabled says $(systemctl is-enabled nfsentry)"
wait_until 60 active || fail "expected nfsentry.service active after the install; is-active says $(systemctl is-active nfsentry)"
systemctl status --no-pager nfsentry | head -n 5

step "nft list ruleset: table inet nfsentry, native queue statements"
ruleset=$(nft list ruleset)
grep -q '^table inet nfsentry {' <<<"$ruleset" ||
	fail "expected 'table inet nfsentry' in nft list ruleset; it lists the tables: $(grep '^table' <<<"$ruleset" | tr '\n' ' ')"
queues=$(grep -cE '^[[:space:]].*\bqueue (flags [a-z,]+ )?to [0-9]' <<<"$ruleset" || true)
grep -E '\bqueue (flags [a-z,]+ )?to [0-9]' <<<"$ruleset"
[ "$queues" -ge 4 ] || fail "expected the ruleset's 4 native queue statements; nft list ruleset shows $queues"
if grep -nE '(^|[[:space:]])xt |xt_NFQUEUE|NFQUEUE' <<<"$ruleset"; then
	fail "expected no xt/NFQUEUE (nft_compat) statement on a kernel with nft_queue; nft list ruleset shows the lines above"
fi
lsmod | grep -qw '^nft_queue' || fail "expected module nft_queue in use; lsmod: $(lsmod | grep -E '^nft_|^nf_tables' | tr '\n' ' ')"
lsmod | grep -qw '^nft_compat' && fail "expected no nft_compat module; lsmod lists it"

step "journalctl -u nfsentry: the start line"
wait_until 30 journal_has '^nfsentry .* running: queues 0-1 \(closed ports\) and 8-9 \(inspection\)' ||
	fail "expected 'nfsentry VERSION running: queues 0-1 (closed ports) and 8-9 (inspection), ...' in journalctl -u nfsentry; it has: $(journal_since_mark | tail -n 15)"
journal_since_mark | grep -E ' running: queues '
echo "PASS: vm-systemd/$NAME"
