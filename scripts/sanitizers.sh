#!/usr/bin/env bash
# The sanitizer stages (docs/sanitizers.md). Any finding stops the program (no
# recovery), so the test that trips it fails.
#   scripts/sanitizers.sh asan [build dir]       (CI)
#       every Catch2 test binary (protocols, actors, simulator, live, command
#       line) with clang-14 ASan+UBSan, built in the libFuzzer configuration,
#       so the same build then serves scripts/fuzz_targets.sh and the
#       cross-compiler fingerprint check of scripts/test.sh
#   scripts/sanitizers.sh asan-all [build dir]   (by hand)
#       the whole ctest suite with ASan+UBSan, the script tests included
#   scripts/sanitizers.sh tsan [build dir]       (CI)
#       test_live (the live tests whose threads meet) with ThreadSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: sanitizers.sh asan|asan-all|tsan [build dir]}
JOBS=$(nproc 2>/dev/null || echo 2)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp}

configure_fuzz() { # the libFuzzer configuration (ASan+UBSan), tests included
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 -DPEERLAB_FUZZ=ON -DBUILD_TESTING=ON >/dev/null
}

case $kind in
asan)
  BUILD=${2:-build-fuzz}
  configure_fuzz "$BUILD"
  # Every Catch2 test binary (protocols, actors, simulator, live, command
  # line) and the peerlab binary some of them run.
  targets=(peerlab test_live)
  for d in tests/protocols/*/; do
    ls "$d"*.cpp >/dev/null 2>&1 && targets+=("test_proto_$(basename "$d")")
  done
  for d in actors sim net apps; do
    ls tests/$d/*.cpp >/dev/null 2>&1 && targets+=("test_$d")
  done
  # The two binaries outside those folders' pattern (tests/CMakeLists.txt):
  # the wasm build's SHA classes and the wasm role host, both built natively.
  targets+=(test_portable_sha test_wasm_host)
  cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"
  # The script tests (live processes, scenario runs, repository checks) stay
  # in the plain build: several compare speeds or memory against bounds that
  # an instrumented binary does not meet.
  start=$SECONDS
  (cd "$BUILD" && ctest -E '^script_' -j "$JOBS" --timeout 900 --output-on-failure >"$PWD/ctest.log" 2>&1) ||
    { tail -80 "$BUILD/ctest.log"; echo "FAIL: a test under ASan+UBSan (log: $BUILD/ctest.log)"; exit 1; }
  echo "ok   $(grep -E 'tests passed' "$BUILD/ctest.log") under ASan+UBSan ($((SECONDS - start)) s)"
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
  echo "sanitizers.sh: unknown stage $kind (asan, asan-all or tsan)" >&2
  exit 2
  ;;
esac
