#!/usr/bin/env bash
# Fresh machine to a full test run: install, build (Release and Debug), run
# every test, execute the notebooks, compare Release and Debug fingerprints,
# run the protocol test suites under ASan+UBSan and the libFuzzer targets for a
# bounded time (clang-14), run the live threaded tests under TSan
# (docs/sanitizers.md), and run the benchmarks briefly (they fail on a crash,
# never on a time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build Release

echo "[test] unit, simulation, live and script tests"
(cd build && ctest --output-on-failure -j 2 --timeout 600)

echo "[test] notebooks"
bash scripts/run_notebooks.sh build

echo "[test] the same scenario and seed give the same fingerprint in Debug and Release"
cmake -S . -B build-debug -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=OFF >/dev/null
cmake --build build-debug --target peerlab -j "$(nproc)"
for s in scenarios/quickstart.json scenarios/churn.json; do
  rel=$(./build/apps/peerlab/peerlab run "$s" --quiet --out "$(mktemp -u --suffix=.db)" | awk '{print $2}')
  dbg=$(./build-debug/apps/peerlab/peerlab run "$s" --quiet --out "$(mktemp -u --suffix=.db)" | awk '{print $2}')
  echo "  $s release $rel debug $dbg"
  [ -n "$rel" ] && [ "$rel" = "$dbg" ] || { echo "FAIL: fingerprints differ between builds"; exit 1; }
done

echo "[test] the protocol test suites and test_live under ASan+UBSan (clang-14, in the libFuzzer build)"
bash scripts/sanitizers.sh asan build-fuzz

echo "[test] libFuzzer targets of the decoders and parsers (clang-14, ASan+UBSan, 10 s each)"
bash scripts/fuzz_targets.sh "${FUZZ_SECONDS:-10}" build-fuzz

echo "[test] the live tests whose threads meet, under ThreadSanitizer"
bash scripts/sanitizers.sh tsan build-tsan

echo "[test] benchmarks (brief)"
bash scripts/run_benchmarks.sh build brief
echo "[test] all passed"
