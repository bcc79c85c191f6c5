#!/bin/bash
# lint-man: mandoc has nothing to say about the man pages; nfsentry.conf(5) documents every
# key that `nfsentry --dump-config` prints for the shipped file, with the default it prints,
# and nothing else; nfsentry(8) names every command and option of `nfsentry --help`.
# Run from the source root: man/lint.sh BUILT-NFSENTRY (meson test lint-man does).
set -euo pipefail
exe=${1:?usage: man/lint.sh PATH-TO-BUILT-NFSENTRY}
pages=(man/nfsentry.8 man/nfsentry.conf.5 man/nfsentryctl.8)
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
from_page=$(awk '
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
	END { flush() }' man/nfsentry.conf.5 | sort)
if [ -z "$from_dump" ]; then
	not_ok "no keys in the output of $exe -c etc/nfsentry.conf --dump-config"
elif [ "$from_dump" = "$from_page" ]; then
	ok "nfsentry.conf.5 documents the $(wc -l <<<"$from_dump") keys of --dump-config, with their defaults"
else
	echo "# lines starting with - are --dump-config's, with + the page's (.Ss [SECTION], .It Cm KEY, Default:):"
	diff <(printf '%s\n' "$from_dump") <(printf '%s\n' "$from_page") | sed -n 's/^</-/p; s/^>/+/p' || true
	not_ok "nfsentry.conf.5 and --dump-config disagree"
fi

# Every command and option of --help is in nfsentry.8 (.Cm COMMAND, .Fl OPTION).
help=$("$exe" --help)
missing=()
for cmd in $(sed -n 's/^.*nfsentry \([a-z][a-z-]*\) .*$/\1/p' <<<"$help" | sort -u); do
	grep -qE "^\.Cm $cmd( |$)" man/nfsentry.8 || missing+=("$cmd")
done
for opt in $(grep -oE -- '(^|[][ |])--?[a-z][a-z-]*' <<<"$help" | sed 's/^[][ |]//' | sort -u); do
	grep -qE "Fl ${opt#-}( |$)" man/nfsentry.8 || missing+=("$opt")
done
if [ ${#missing[@]} -eq 0 ]; then
	ok "nfsentry.8 names every command and option of --help"
else
	not_ok "nfsentry.8 lacks: ${missing[*]}"
fi

[ "$failed" -eq 0 ]
