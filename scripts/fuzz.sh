#!/bin/bash
# A fuzzing run (docs/fuzzing.md): builds the libFuzzer harnesses of fuzz/ with clang, ASan
# and UBSan in build-fuzz, runs each for SECONDS (default 600), two at a time (FUZZ_JOBS), and
# prints per harness the executions, crashes, corpus (inputs/bytes), coverage (libFuzzer's
# "cov": edges) and the command that ran it. New inputs go to build-fuzz/fuzz-corpus/HARNESS,
# crashing ones to build-fuzz/fuzz-artifacts/HARNESS; the seed corpus fuzz/corpus/HARNESS is
# only read. No root needed.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]     harnesses: packets config control pcap stream
# FUZZ_RUNS=N also stops each harness after N executions (libFuzzer's -runs), whichever comes
# first: `FUZZ_RUNS=10000000 scripts/fuzz.sh 36000` is the 10^7 run docs/fuzzing.md records.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
[ $# -gt 0 ] && shift
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(packets config control pcap stream)
jobs=${FUZZ_JOBS:-2}
B=build-fuzz

[ -f $B/build.ninja ] || CC=clang meson setup $B -Dfuzzing=true -Dintegration=false --prefix=/usr --sysconfdir=/etc >/dev/null
meson compile -C $B >/dev/null
start=$B/fuzz-start
touch "$start"

run() {
	local h=$1 work=$B/fuzz-corpus/$1 art=$B/fuzz-artifacts/$1/
	mkdir -p "$work" "$art"
	local cmd=("$B/fuzz/fuzz-$h" -max_total_time="$secs" ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
		   -artifact_prefix="$art" "$work" "fuzz/corpus/$h")
	echo "${cmd[*]}" >"$B/fuzz-$h.cmd"
	"${cmd[@]}" >"$B/fuzz-$h.log" 2>&1 || true
}

echo "fuzzing ${harnesses[*]} for ${secs} s each${FUZZ_RUNS:+ or $FUZZ_RUNS executions}, $jobs at a time"
for h in "${harnesses[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n || true
	done
	run "$h" &
done
wait

crashed=0
printf '%-8s %14s %8s %8s %12s %7s\n' harness executions exec/s crashes corpus cov
for h in "${harnesses[@]}"; do
	log=$B/fuzz-$h.log
	# A harness that crashed at once has printed none of these: "?".
	execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: //p' "$log" | tail -n 1)
	cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -n 1 | cut -d' ' -f2)
	corpus=$( (grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" || true) | tail -n 1 | cut -d' ' -f2)
	new=$(find "$B/fuzz-artifacts/$h" -type f -newer "$start" | sort)
	crashes=$(printf '%s' "$new" | grep -c . || true)
	printf '%-8s %14s %8s %8s %12s %7s\n' "$h" "${execs:-?}" "${rate:-?}" "$crashes" "$corpus" "${cov:-?}"
	echo "  command: $(cat "$B/fuzz-$h.cmd")"
	if [ "$crashes" -gt 0 ] || grep -qE '^SUMMARY:|==ERROR|^fuzz:' "$log"; then
		crashed=1
		grep -m1 -E '^SUMMARY:|==ERROR|^fuzz:' "$log" | sed 's/^/  /' || true
		printf '%s\n' "$new" | sed 's/^/  input: /'
		echo "  log: $log"
	fi
done
exit $crashed
