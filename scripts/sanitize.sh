#!/bin/bash
# The sanitizer builds (docs/fuzzing.md), run by CI after scripts/test.sh. No root needed.
#   asan: build-asan, gcc's AddressSanitizer + UndefinedBehaviorSanitizer: the unit suite, and
#         the fuzz suite (each harness replays its corpus)
#   asan-clang: build-asan-clang, the same with clang's: each compiler's UBSan sees undefined
#         behaviour the other misses (clang: NULL + 0, "applying zero offset to null pointer")
#   tsan: build-tsan, ThreadSanitizer: the tests that run threads: test-threads (workers, the
#         evidence thread, the ban writer thread and the readers of the control socket at
#         once), test-writer (the ban writer thread and its askers), test-event (events
#         written from several threads), test-pipe (the replay's ring between its reader and
#         engine threads) and the fuzz suite (fuzz-control's server thread waits
#         on a writer thread's answer)
# Any report fails the test that made it. Usage: scripts/sanitize.sh [asan] [asan-clang] [tsan]
# (default all three). Ends with one "BUILD: N passed, N failed" line per run of meson test.
set -euo pipefail
cd "$(dirname "$0")/.."
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=(asan asan-clang tsan)

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# ThreadSanitizer's shadow memory does not fit the address space layouts that recent kernels'
# mmap randomisation produces (vm.mmap_rnd_bits > 28): run its tests without randomisation.
norandom=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
	norandom=(setarch "$(uname -m)" -R)
fi

# build NAME SANITIZER [CC]: configures build-NAME (the README's prefix, so that the install
# test finds /etc) with compiler CC (default: meson's, gcc) and builds it. Meson keeps the
# compiler a build directory was set up with: CC only matters the first time.
build() {
	local opts=(--prefix=/usr --sysconfdir=/etc -Dintegration=false -Db_sanitize="$2" -Db_lundef=false)
	if [ -f "build-$1/build.ninja" ]; then
		meson configure "build-$1" "${opts[@]}" >/dev/null
	elif [ -n "${3:-}" ]; then
		CC=$3 meson setup "build-$1" "${opts[@]}" >/dev/null
	else
		meson setup "build-$1" "${opts[@]}" >/dev/null
	fi
	meson compile -C "build-$1" >/dev/null
}

# check NAME MESON-TEST-ARGS...: runs them in build-NAME and adds meson's counts to the summary.
check() {
	local dir=build-$1 rc=0
	shift
	"${launcher[@]}" meson test -C "$dir" --print-errorlogs "$@" | tee "$dir/sanitize.log" || rc=$?
	summary+=("$dir ($*): $(awk '/^Ok:/ { ok = $2 } /^(Fail|Timeout):/ { bad += $2 }
		END { printf "%d passed, %d failed", ok, bad }' "$dir/sanitize.log")")
	[ "$rc" = 0 ] || failed=1
}

failed=0
summary=()
for b in "${builds[@]}"; do
	case $b in
	asan)
		launcher=()
		build asan address,undefined
		check asan --suite unit --suite fuzz
		;;
	asan-clang)
		# clang's sanitizer runtimes are Debian's libclang-rt-14-dev (scripts/deps.sh).
		launcher=()
		build asan-clang address,undefined clang
		check asan-clang --suite unit --suite fuzz
		;;
	tsan)
		launcher=("${norandom[@]}")
		build tsan thread
		check tsan threads writer event pipe
		check tsan --suite fuzz
		;;
	*) echo "unknown build $b (asan, asan-clang, tsan)" >&2; exit 2 ;;
	esac
done
printf '%s\n' "${summary[@]}"
exit $failed
