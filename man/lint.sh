#!/bin/bash
# lint-man: mandoc has nothing to say about the man pages; nfsentry.conf(5) documents every
# key that `nfsentry --dump-config` prints for the shipped file, with the default it prints,
# and nothing else; nfsentry(8) names every command and option of `nfsentry --help`;
# nfsentry-crowdsec(8) documents every key of etc/crowdsec.conf with the default written there
# (test cs-config checks those are the program's) and every option of its --help.
# Run from the source root: man/lint.sh BUILT-NFSENTRY BUILT-NFSENTRY-CROWDSEC (meson test
# lint-man does).
set -euo pipefail
exe=${1:?usage: man/lint.sh PATH-TO-BUILT-NFSENTRY PATH-TO-BUILT-NFSENTRY-CROWDSEC}
bridge=${2:?usage: man/lint.sh PATH-TO-BUILT-NFSENTRY PATH-TO-BUILT-NFSENTRY-CROWDSEC}
pages=(man/nfsentry.8 man/nfsentry.conf.5 man/nfsentryctl.8 man/nfsentry-crowdsec.8)
failed=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }

if ! command -v mandoc >/dev/null; then
	echo "not ok - mandoc not found: install it (scripts/deps.sh does)"
	exit 1
fi
rc=0
out=$(mandoc -T lint -W warning "${pages[@]}" 2>&1) || rc=$?
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
	ok "mandoc -T lint -W warning ${pages[*]}"
else
	printf '%s\n' "$out"
	not_ok "mandoc -T lint -W warning ${pages[*]} (exit $rc)"
fi

# SECTION<tab>KEY<tab>DEFAULT, from the binary and from the page.
dump=$("$exe" -c etc/nfsentry.conf --dump-config) || { not_ok "$exe -c etc/nfsentry.conf --dump-config failed"; exit 1; }
from_dump=$(awk '
	/^\[.*\]$/ { sec = substr($0, 2, length($0) - 2); next }
	/ =( |$)/ {
		i = index($0, " =")
		val = substr($0, i + 3); sub(/[ \t]+$/, "", val)
		print sec "\t" substr($0, 1, i - 1) "\t" val
	}' <<<"$dump" | sort)
# In the page: an item ".It Cm KEY ..." at the top level of the list under ".Ss [SECTION]",
# whose text holds "Default:" followed by the line ".Ql VALUE", or "Default: none." for an
# empty value.
page_keys() {
	awk '
	function flush() {
		if (key != "")
			print sec "\t" key "\t" (have ? val : "(no Default: line)")
		key = ""
	}
	function unescape(s) { gsub(/\\&/, "", s); gsub(/\\-/, "-", s); return s }
	/^\.Sh / { flush(); sec = ""; next }
	/^\.Ss / { flush(); sec = ""; depth = 0
		if (match($0, /^\.Ss \[[a-z0-9_-]+\]$/)) sec = substr($0, 6, length($0) - 6)
		next }
	sec == "" { next }
	/^\.Bl / { depth++; next }
	/^\.El/ { if (depth == 1) flush(); depth--; next }
	depth == 1 && /^\.It / { flush()
		if ($2 == "Cm") { key = unescape($3); have = 0; after_default = 0 }
		next }
	key != "" && !have && /^Default: none\.?$/ { val = ""; have = 1; next }
	key != "" && !have && /^Default:$/ { after_default = 1; next }
	key != "" && after_default && !have && /^\.Ql / {
		v = substr($0, 5)
		if (substr(v, 1, 1) == "\"") { v = substr(v, 2); v = substr(v, 1, index(v, "\"") - 1) }
		else sub(/[ \t].*$/, "", v)
		val = unescape(v); have = 1; next }
	END { flush() }' "$1" | sort
}
# compare_keys PAGE SOURCE-NAME KEYS: the page documents exactly KEYS (SECTION<tab>KEY<tab>DEFAULT).
compare_keys() {
	local page=$1 name=$2 keys=$3 documented
	documented=$(page_keys "$page")
	if [ -z "$keys" ]; then
		not_ok "no keys in $name"
	elif [ "$keys" = "$documented" ]; then
		ok "$(basename "$page") documents the $(wc -l <<<"$keys") keys of $name, with their defaults"
	else
		echo "# lines starting with - are $name's, with + the page's (.Ss [SECTION], .It Cm KEY, Default:):"
		diff <(printf '%s\n' "$keys") <(printf '%s\n' "$documented") | sed -n 's/^</-/p; s/^>/+/p' || true
		not_ok "$(basename "$page") and $name disagree"
	fi
}
# options_missing PAGE HELP: the options of HELP that PAGE does not name (.Fl OPTION).
options_missing() {
	for opt in $(grep -oE -- '(^|[][ |])--?[a-z][a-z-]*' <<<"$2" | sed 's/^[][ |]//' | sort -u); do
		grep -qE "Fl ${opt#-}( |$)" "$1" || echo "$opt"
	done
}
compare_keys man/nfsentry.conf.5 "$exe -c etc/nfsentry.conf --dump-config" "$from_dump"

# Every command and option of --help is in nfsentry.8 (.Cm COMMAND, .Fl OPTION).
help=$("$exe" --help)
missing=()
for cmd in $(sed -n 's/^.*nfsentry \([a-z][a-z-]*\) .*$/\1/p' <<<"$help" | sort -u); do
	grep -qE "^\.Cm $cmd( |$)" man/nfsentry.8 || missing+=("$cmd")
done
missing+=($(options_missing man/nfsentry.8 "$help"))
if [ ${#missing[@]} -eq 0 ]; then
	ok "nfsentry.8 names every command and option of --help"
else
	not_ok "nfsentry.8 lacks: ${missing[*]}"
fi

# nfsentry-crowdsec(8): the keys of etc/crowdsec.conf, each shown commented with its default
# (";KEY = VALUE" under "[SECTION]"), against the page's .Ss [SECTION] / .It Cm KEY / Default:.
from_conf=$(awk '
	/^\[.*\]$/ { sec = substr($0, 2, length($0) - 2); next }
	/^;[a-z_0-9]+ =( |$)/ {
		i = index($0, " =")
		val = substr($0, i + 3); sub(/[ \t]+$/, "", val)
		print sec "\t" substr($0, 2, i - 2) "\t" val
	}' etc/crowdsec.conf | sort)
compare_keys man/nfsentry-crowdsec.8 etc/crowdsec.conf "$from_conf"
missing=($(options_missing man/nfsentry-crowdsec.8 "$("$bridge" --help)"))
if [ ${#missing[@]} -eq 0 ]; then
	ok "nfsentry-crowdsec.8 names every option of --help"
else
	not_ok "nfsentry-crowdsec.8 lacks: ${missing[*]}"
fi

[ "$failed" -eq 0 ]
