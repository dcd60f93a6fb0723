#!/usr/bin/env bash
# The sanitizer stages (docs/sanitizers.md). Any finding stops the program (no
# recovery), so the test that trips it fails.
#   scripts/sanitizers.sh sim [build dir]        (CI)
#       the simulator library with clang-14 ASan+UBSan in the libFuzzer
#       configuration: sim_fingerprint runs the quickstart and churn scenarios
#       and prints their fingerprints (scripts/test.sh compares them with gcc's)
#   scripts/sanitizers.sh asan [build dir]       (scripts/test.sh full)
#       the layers without Asio or Beast with clang-14 ASan+UBSan: every
#       protocols test binary, the simulator's tests, the wasm host and the
#       portable SHA classes, and sim_fingerprint. Built in the libFuzzer
#       configuration, so the same build then serves scripts/fuzz_targets.sh
#       (core) and the cross-compiler fingerprint check of scripts/test.sh
#   scripts/sanitizers.sh asan-live [build dir]  (scripts/test.sh full)
#       the rest of the Catch2 binaries in the same build: test_net, test_apps,
#       test_live and the peerlab binary they run
#   scripts/sanitizers.sh asan-all [build dir]   (by hand)
#       the whole ctest suite with ASan+UBSan, the script tests included
#   scripts/sanitizers.sh tsan [build dir]       (scripts/test.sh full)
#       test_live (the live tests whose threads meet) with ThreadSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: sanitizers.sh sim|asan|asan-live|asan-all|tsan [build dir]}
JOBS=$(nproc 2>/dev/null || echo 2)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp}

configure_fuzz() { # the libFuzzer configuration (ASan+UBSan), tests included
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 -DPEERLAB_FUZZ=ON -DBUILD_TESTING=ON >/dev/null
}

# Builds the targets in the fuzz configuration and runs the Catch2 tests of
# those built (ctest lists the others as NOT_BUILT, which are left out). The
# script tests (live processes, scenario runs, repository checks) stay in the
# plain build: several compare speeds or memory against bounds that an
# instrumented binary does not meet.
run_catch2_under_asan() {
  local build=$1 label=$2
  shift 2
  configure_fuzz "$build"
  cmake --build "$build" -j "$JOBS" --target "$@"
  local start=$SECONDS log
  log="$(cd "$build" && pwd)/ctest-$label.log"
  (cd "$build" && ctest -E '^script_|_NOT_BUILT' -j "$JOBS" --timeout 900 --output-on-failure >"$log" 2>&1) ||
    { tail -80 "$log"; echo "FAIL: a test under ASan+UBSan (log: $log)"; exit 1; }
  echo "ok   $(grep -E 'tests passed' "$log") under ASan+UBSan ($label, $((SECONDS - start)) s)"
}

case $kind in
sim)
  BUILD=${2:-build-fuzz}
  configure_fuzz "$BUILD"
  cmake --build "$BUILD" -j "$JOBS" --target sim_fingerprint >&2 # stdout: the fingerprints only
  "$BUILD/tests/sim_fingerprint" scenarios/quickstart.json scenarios/churn.json
  ;;
asan)
  targets=(test_sim sim_fingerprint test_portable_sha test_wasm_host)
  for d in tests/protocols/*/; do
    ls "$d"*.cpp >/dev/null 2>&1 && targets+=("test_proto_$(basename "$d")")
  done
  run_catch2_under_asan "${2:-build-fuzz}" core "${targets[@]}"
  ;;
asan-live)
  # Every Catch2 binary: the core ones again (built already) and those that
  # link net/ and apps/, with the peerlab binary some of them run.
  targets=(peerlab test_live test_sim test_portable_sha test_wasm_host)
  for d in tests/protocols/*/; do
    ls "$d"*.cpp >/dev/null 2>&1 && targets+=("test_proto_$(basename "$d")")
  done
  for d in net apps; do
    ls tests/$d/*.cpp >/dev/null 2>&1 && targets+=("test_$d")
  done
  run_catch2_under_asan "${2:-build-fuzz}" live "${targets[@]}"
  ;;
asan-all)
  BUILD=${2:-build-san}
  configure_fuzz "$BUILD"
  cmake --build "$BUILD" -j "$JOBS"
  # ASan holds freed memory in a quarantine and pads every block: the RSS
  # bound of the attack test (400 MiB in a plain build) does not apply as is.
  export HOSTILE_RSS_BOUND_MIB=1536
  (cd "$BUILD" && ctest --output-on-failure -j 2 --timeout 900)
  ;;
tsan)
  BUILD=${2:-build-tsan}
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 -DPEERLAB_SANITIZE=thread -DBUILD_TESTING=ON >/dev/null
  cmake --build "$BUILD" -j "$JOBS" --target test_live
  start=$SECONDS
  "$BUILD/tests/test_live" >"$BUILD/test_live.log" 2>&1 || { tail -80 "$BUILD/test_live.log"; echo "FAIL test_live under TSan"; exit 1; }
  echo "ok   test_live under TSan ($(tail -2 "$BUILD/test_live.log" | head -1), $((SECONDS - start)) s)"
  ;;
*)
  echo "sanitizers.sh: unknown stage $kind (sim, asan, asan-live, asan-all or tsan)" >&2
  exit 2
  ;;
esac
