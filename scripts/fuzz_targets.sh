#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang-14 (ASan+UBSan) and
# runs each for a bounded time from its seed corpus. Fails on any crash,
# sanitizer report or broken contract, and if the checked-in corpora differ
# from what tests/fuzz/corpus.cpp writes. Usage:
#   scripts/fuzz_targets.sh [seconds per target (default 10)] [build dir] [core|all]
# "all" (the default) runs every target; "core" (CI) leaves out the two that
# need all of peerlab_net built with the fuzzer's flags (tests/fuzz/CMakeLists.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-10}
BUILD=${2:-build-fuzz}
SCOPE=${3:-all}
case $SCOPE in core | all) ;; *)
  echo "fuzz_targets.sh: scope is core or all, got $SCOPE" >&2
  exit 2
  ;;
esac
# A build already configured for fuzzing (scripts/sanitizers.sh asan makes one
# with the tests too) is used as it is.
if ! grep -q '^PEERLAB_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
    -DPEERLAB_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc)" --target "fuzz_$SCOPE"
net_targets=" node_config drop_gateway_config " # FUZZ_NET_TARGETS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$BUILD/tests/fuzz/fuzz_corpus" "$work/seeds"
# The scenario seeds are copies of scenarios/*.json, which other changes edit:
# they are not compared; the scenario target also gets today's files.
diff -r -x scenario "$work/seeds" tests/fuzz/corpus >/dev/null ||
  { echo "FAIL tests/fuzz/corpus differs from what fuzz_corpus writes (rerun it)"; exit 1; }

fail=0
for corpus in tests/fuzz/corpus/*/; do
  t=$(basename "$corpus")
  if [ "$SCOPE" = core ] && [[ $net_targets == *" $t "* ]]; then
    echo "skip $t: needs peerlab_net in the fuzz build (scripts/test.sh full runs it)"
    continue
  fi
  mkdir -p "$work/new/$t"
  fresh=()
  [ -d "$work/seeds/$t" ] && [ "$t" = scenario ] && fresh=("$work/seeds/$t")
  # New inputs land in the first folder (a scratch one), never in the repository.
  if out=$("$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/new/$t" "$corpus" "${fresh[@]}" 2>&1); then
    echo "ok   $t: $(echo "$out" | sed -n 's/^stat::number_of_executed_units: *//p') executions"
  else
    echo "FAIL $t:"
    echo "$out" | tail -40
    fail=1
  fi
done
[ $fail = 0 ] && echo "fuzz targets ($SCOPE): all passed ($SECONDS_EACH s each)"
exit $fail
