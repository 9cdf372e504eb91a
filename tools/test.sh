#!/usr/bin/env bash
# weft's whole test suite, as CI runs it (README: "bash tools/test.sh").
#
# Installs what is missing (tools/setup.sh), then builds and tests three
# configurations, each in its own build directory:
#
#   build       g++, the default options; every suite (unit, stress, compile,
#               consumer)
#   build-asan  g++ -fsanitize=address,undefined -fno-sanitize-recover=all;
#               suites unit and stress
#   build-tsan  clang++ -fsanitize=thread, oneTBB's headers left
#               uninstrumented (tools/tsan-ignorelist.txt, see
#               docs/testing.md);
#               suites unit and stress
#
# The stress tests run smaller under the sanitizers (WEFT_STRESS_SCALE, a
# multiplier the stress tests honour): they are 5-15x slower there, and the
# point of those runs is the interleavings, not the volume.
#
# The last line of output is "N passed, N failed", summed over the Meson test
# logs (meson-logs/testlog.json) of every build; a configuration or build
# step that fails counts as one failed test. The exit status is 0 only when
# nothing failed.
#
# Usage: bash tools/test.sh [build|asan|tsan ...]   (default: all three)
# Environment: WEFT_TEST_PROCESSES (default 2), WEFT_ASAN_STRESS_SCALE
# (default 0.5), WEFT_TSAN_STRESS_SCALE (default 0.25).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
root=$PWD
processes=${WEFT_TEST_PROCESSES:-2}
builds=("$@")
((${#builds[@]})) || builds=(build asan tsan)

passed=0
failed=0
summary=()

note_failure() {  # <build dir> <what>
  echo "test.sh: $1: $2 FAILED" >&2
  failed=$((failed + 1))
  summary+=("$1: $2 failed")
}

# Counts the results in a testlog.json: prints "<passed> <failed>".
count_results() {
  python3 - "$1" <<'EOF'
import json, sys
passed = failed = 0
with open(sys.argv[1]) as f:
    for line in f:
        if line.strip():
            result = json.loads(line).get('result')
            if result in ('OK', 'EXPECTEDFAIL'):
                passed += 1
            elif result in ('FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS', 'INTERRUPT'):
                failed += 1
print(passed, failed)
EOF
}

# Configures <dir> (fresh, or reconfigured with the same options when it
# already exists; wiped if reconfiguring fails, e.g. after a Meson upgrade).
configure() {
  local dir=$1
  shift
  if [[ -f "$dir/meson-private/coredata.dat" ]]; then
    meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

# run_build <dir> <test env (VAR=value ...)> -- <meson test args> -- <meson setup args>
run_build() {
  local dir=$1
  shift
  local envs=() test_args=() setup_args=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  while [[ $1 != -- ]]; do test_args+=("$1"); shift; done
  shift
  setup_args=("$@")

  local start=$SECONDS
  echo
  echo "==== $dir: configure, build, test ===="
  rm -f "$dir/meson-logs/testlog.json"
  if ! configure "$dir" "${setup_args[@]}"; then
    note_failure "$dir" configure
    return
  fi
  if ! meson compile -C "$dir"; then
    note_failure "$dir" build
    return
  fi
  local built=$SECONDS
  # The exit status of meson test is not used: the log is the record.
  env "${envs[@]}" meson test -C "$dir" --no-rebuild --print-errorlogs \
    --num-processes "$processes" "${test_args[@]}"
  local log="$dir/meson-logs/testlog.json"
  if [[ ! -f $log ]]; then
    note_failure "$dir" "meson test (no testlog.json)"
    return
  fi
  local counts p f
  if ! counts=$(count_results "$log"); then
    note_failure "$dir" "reading $log"
    return
  fi
  read -r p f <<<"$counts"
  passed=$((passed + p))
  failed=$((failed + f))
  summary+=("$dir: $p passed, $f failed (configure+build $((built - start)) s, tests $((SECONDS - built)) s)")
}

if ! bash tools/setup.sh; then
  echo "test.sh: installing the packages failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Clang 14's TSan (and older ASan) cannot map their shadow memory when the
# kernel randomises mmap with more than 28 bits; run the sanitized tests with
# address randomisation off then, if this machine allows it.
san_wrapper=()
rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)
if ((rnd_bits > 28)); then
  if setarch "$(uname -m)" -R true 2>/dev/null; then
    san_wrapper=(--wrapper "setarch $(uname -m) -R")
  else
    echo "test.sh: vm.mmap_rnd_bits=$rnd_bits and setarch -R is not allowed: sanitizer runs may fail to start" >&2
  fi
fi

# -O1 -g: what the sanitizers' authors recommend, and it compiles faster
# than the default -O2 (these builds compile every test a second and third
# time). b_lundef=false: the sanitizer runtimes are linked into executables,
# not into libweft.so.
sanitizer_options=(-Dbenchmarks=false -Dtools=false -Dconsumer_tests=false -Db_lundef=false -Doptimization=1)

for b in "${builds[@]}"; do
  case $b in
    build)
      run_build build \
        -- \
        -- \
        ;;
    asan)
      run_build build-asan \
        "WEFT_STRESS_SCALE=${WEFT_ASAN_STRESS_SCALE:-0.5}" \
        "ASAN_OPTIONS=abort_on_error=1:halt_on_error=1:detect_leaks=1:print_summary=1" \
        "UBSAN_OPTIONS=abort_on_error=1:halt_on_error=1:print_stacktrace=1:print_summary=1" \
        -- --suite unit --suite stress --timeout-multiplier 2 "${san_wrapper[@]}" \
        -- "${sanitizer_options[@]}" -Db_sanitize=address,undefined \
        "-Dcpp_args=-fno-sanitize-recover=all -fno-omit-frame-pointer" \
        "-Dcpp_link_args=-fno-sanitize-recover=all"
      ;;
    tsan)
      CXX=${WEFT_TSAN_CXX:-clang++} run_build build-tsan \
        "WEFT_STRESS_SCALE=${WEFT_TSAN_STRESS_SCALE:-0.25}" \
        "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1" \
        -- --suite unit --suite stress --timeout-multiplier 3 "${san_wrapper[@]}" \
        -- "${sanitizer_options[@]}" -Db_sanitize=thread
      ;;
    *)
      echo "test.sh: unknown build '$b' (want build, asan or tsan)" >&2
      note_failure "$b" "selection"
      ;;
  esac
done

echo
echo "==== summary ===="
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
((failed == 0))
