#!/bin/bash
# test-output.sh - nfsentryctl's text and JSON output, its requests, its usage errors and its
# exit status, against golden.txt (no root, no daemon: fakectl.py answers on the socket).
# golden.txt was made by the nfsentryctl of one file, before it was split into parts
# (issue 12): the split changed no byte. After a change meant to change the output:
#   UPDATE=1 meson test -C build ctl-output   (and read the diff before committing it).
# Needs: NFSENTRYCTL (the binary), SRCDIR (this folder).
set -u
: "${NFSENTRYCTL:?}" "${SRCDIR:?}"
tmp=$(mktemp -d /tmp/nfsentry-ctl-output-XXXXXX)
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
sock=$tmp/control.sock
echo by-command > "$tmp/answer"
python3 "$SRCDIR/fakectl.py" "$sock" "$tmp/answer" > "$tmp/requests" &
srv=$!
for _ in $(seq 100); do grep -q ready "$tmp/requests" 2>/dev/null && break; sleep 0.1; done

out=$tmp/output.txt
: > "$out"
token=$(printf 'a%.0s' $(seq 64))
# run ANSWER ARGS...: one case, as "$ ARGS", its stdout, its stderr, the request sent, the
# exit status and the pcap file written (its checksum and mode), if any.
run() {
	echo "$1" > "$tmp/answer"
	shift
	: > "$tmp/requests.seen"
	rm -f "$tmp/out.pcap"
	local before rc
	before=$(wc -l < "$tmp/requests")
	(cd "$tmp" && "$NFSENTRYCTL" "$@" > "$tmp/stdout" 2> "$tmp/stderr")
	rc=$?
	{
		{ printf '$'; printf ' %q' "$@"; } | cut -c1-200
		sed 's/^/  /' "$tmp/stdout"
		sed 's/^/! /' "$tmp/stderr"
		tail -n +$((before + 1)) "$tmp/requests" | sed 's/^/> /'
		echo "exit $rc"
		[ -f "$tmp/out.pcap" ] && echo "pcap $(md5sum < "$tmp/out.pcap" | cut -d' ' -f1) mode $(stat -c %a "$tmp/out.pcap")"
	} | sed -e "s|$NFSENTRYCTL|nfsentryctl|g" -e "s|$tmp|TMP|g" >> "$out"
}

S=(-s "$sock")
for j in "" --json; do
	for c in status bans reload sources flows "sources --limit 5" "flows --limit=1000000" "sources --limit 0" \
		"sources --limit x" "sources --limit" "flows extra" "status extra" "bans --json"; do
		# shellcheck disable=SC2086 # the command and its arguments are words
		run by-command "${S[@]}" $j $c
	done
	for a in 192.0.2.1 192.0.2.1/24 192.0.2.0/24 192.0.2.1/32 2001:db8::1 2001:db8::/64 2001:db8::1/64 \
		2001:db8::/0064 2001:db8::/064 10.0.0.0/33 10.0.0.0/ 1.2.3 "" - -x ::ffff:1.2.3.4 "1.2.3.4/ 8" 1.2.3.4/+8 \
		2001:db8::/129 0.0.0.0/0 fe80::1%eth0 1.2.3.4/08; do
		run by-command "${S[@]}" $j ban "$a"
		run by-command "${S[@]}" $j unban "$a"
		run by-command "${S[@]}" $j allow "$a"
	done
	for d in 90s 1h30m 0s 11y xyz "" 3650d; do
		run by-command "${S[@]}" $j ban 192.0.2.1 --for "$d"
		run by-command "${S[@]}" $j ban --for="$d" 192.0.2.1
	done
	run by-command "${S[@]}" $j ban
	run by-command "${S[@]}" $j ban 1.2.3.4 5.6.7.8
	run by-command "${S[@]}" $j ban 1.2.3.4 --for
	run by-command "${S[@]}" $j ban 1.2.3.4 --bogus
	run by-command "${S[@]}" $j unban
	run by-command "${S[@]}" $j unban 1.1.1.1 2.2.2.2
	run by-command "${S[@]}" $j allow
	for v in by-command evidence-tampered evidence-nopcap evidence-bad64; do
		run $v "${S[@]}" $j evidence "$token"
		run $v "${S[@]}" $j evidence "$token" --pcap out.pcap
		run $v "${S[@]}" $j evidence tok --pcap=out.pcap
	done
	run verify "${S[@]}" $j evidence --verify
	run verify-ok "${S[@]}" $j evidence --verify
	run by-command "${S[@]}" $j evidence --verify tok
	run by-command "${S[@]}" $j evidence
	run by-command "${S[@]}" $j evidence --pcap
	run by-command "${S[@]}" $j evidence a b
	run by-command "${S[@]}" $j evidence --x
	run by-command "${S[@]}" $j evidence $'\xff'
	for v in refused noerr garbage closes nolist; do
		run $v "${S[@]}" $j status
		run $v "${S[@]}" $j bans
	done
	run by-command "${S[@]}" $j watch
	run by-command "${S[@]}" $j watch --from 3
	run by-command "${S[@]}" $j watch --origin nfsentry,manual
	run by-command "${S[@]}" $j bans --origin crowdsec
	run by-command "${S[@]}" $j bans --origin=nfsentry,,x
	run by-command "${S[@]}" $j bans --origin
	run by-command "${S[@]}" $j bans --origin ""
	for v in refused garbage closes; do
		run $v "${S[@]}" $j watch
	done
done
run by-command
run by-command --help
run by-command bogus
run by-command -s "" status
run by-command -s "$(printf 'x%.0s' $(seq 120))" status
run by-command -s "$tmp/absent.sock" status
run by-command -x
run by-command -s
run by-command -s "$sock" evidence "$(printf 'a%.0s' $(seq 70000))"   # a request over 64 KiB

if [ "${UPDATE:-}" = 1 ]; then
	cp "$out" "$SRCDIR/golden.txt"
	echo "golden.txt updated"
	exit 0
fi
if diff -u "$SRCDIR/golden.txt" "$out"; then
	echo "nfsentryctl: $(grep -c '^\$' "$out") cases as in golden.txt"
	exit 0
fi
echo "nfsentryctl's output differs from tests/ctl/golden.txt (above)"
exit 1
