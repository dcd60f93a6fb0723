#!/usr/bin/env bash
# Fresh machine to a full test run. Usage: scripts/test.sh [ci|full]
#   ci (the default, .ci/run): install, build (gcc Release), run every test,
#     execute the notebooks, build the simulator and the decoders again with
#     clang-14 and ASan+UBSan, compare the two builds' fingerprints of the same
#     scenarios, run the libFuzzer targets of the decoders and parsers for a
#     bounded time, and run the benchmarks briefly (they fail on a crash,
#     never on a time). docs/ci.md has the stages' times.
#   full: the same, and every Catch2 test binary under ASan+UBSan, the two
#     fuzz targets that need net/, and the live threaded tests under TSan
#     (docs/sanitizers.md): about an hour more on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-ci}
case $MODE in ci | full) ;; *)
  echo "test.sh: mode is ci or full, got $MODE" >&2
  exit 2
  ;;
esac
stage() { echo "[test] $* ($(date -u +%H:%M:%S))"; }

bash scripts/setup.sh build Release

stage "unit, simulation, live and script tests"
(cd build && ctest --output-on-failure -j 2 --timeout 600)

stage "notebooks"
bash scripts/run_notebooks.sh build

stage "the simulator under ASan+UBSan (clang-14, in the libFuzzer build): the same scenario and seed give the same fingerprint as with gcc"
clang=$(bash scripts/sanitizers.sh sim build-fuzz)
gcc=$(./build/tests/sim_fingerprint scenarios/quickstart.json scenarios/churn.json)
echo "  gcc -O3:               ${gcc//$'\n'/; }"
echo "  clang -O2 + ASan+UBSan: ${clang//$'\n'/; }"
[ -n "$gcc" ] && [ "$gcc" = "$clang" ] || { echo "FAIL: fingerprints differ between builds"; exit 1; }
# The peerlab binary prints the same fingerprint as the simulator library alone.
db=$(mktemp -d)
for s in scenarios/quickstart.json scenarios/churn.json; do
  cli=$(./build/apps/peerlab/peerlab run "$s" --quiet --out "$db/r.db" | awk '{print $2}')
  grep -q "^$cli $s\$" <<<"$gcc" || { echo "FAIL: peerlab run $s printed $cli"; exit 1; }
done
rm -rf "$db"

scope=core
if [ "$MODE" = full ]; then
  scope=all
  stage "every Catch2 test binary under ASan+UBSan (the same build)"
  bash scripts/sanitizers.sh asan build-fuzz
  bash scripts/sanitizers.sh asan-live build-fuzz
fi
stage "libFuzzer targets of the decoders and parsers (clang-14, ASan+UBSan, ${FUZZ_SECONDS:-10} s each, $scope)"
bash scripts/fuzz_targets.sh "${FUZZ_SECONDS:-10}" build-fuzz "$scope"

if [ "$MODE" = full ]; then
  stage "the live tests whose threads meet, under ThreadSanitizer"
  bash scripts/sanitizers.sh tsan build-tsan
fi

stage "benchmarks (brief)"
bash scripts/run_benchmarks.sh build brief
stage "all passed ($MODE)"
