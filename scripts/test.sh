#!/usr/bin/env bash
# Fresh machine to a full test run: install, build (gcc Release), run every
# test, execute the notebooks, build everything again with clang-14 and
# ASan+UBSan (docs/sanitizers.md) and run every Catch2 test binary there,
# compare the two builds' fingerprints of the same scenarios, run the
# libFuzzer targets for a bounded time, run the live threaded tests under
# TSan, and run the benchmarks briefly (they fail on a crash, never on a time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build Release

echo "[test] unit, simulation, live and script tests"
(cd build && ctest --output-on-failure -j 2 --timeout 600)

echo "[test] notebooks"
bash scripts/run_notebooks.sh build

echo "[test] every Catch2 test binary under ASan+UBSan (clang-14, in the libFuzzer build)"
bash scripts/sanitizers.sh asan build-fuzz

echo "[test] the same scenario and seed give the same fingerprint with gcc -O2 and clang -O2 + ASan+UBSan"
for s in scenarios/quickstart.json scenarios/churn.json; do
  gcc=$(./build/apps/peerlab/peerlab run "$s" --quiet --out "$(mktemp -u --suffix=.db)" | awk '{print $2}')
  clang=$(./build-fuzz/apps/peerlab/peerlab run "$s" --quiet --out "$(mktemp -u --suffix=.db)" | awk '{print $2}')
  echo "  $s gcc $gcc clang+sanitizers $clang"
  [ -n "$gcc" ] && [ "$gcc" = "$clang" ] || { echo "FAIL: fingerprints differ between builds"; exit 1; }
done

echo "[test] libFuzzer targets of the decoders and parsers (clang-14, ASan+UBSan, 10 s each)"
bash scripts/fuzz_targets.sh "${FUZZ_SECONDS:-10}" build-fuzz

echo "[test] the live tests whose threads meet, under ThreadSanitizer"
bash scripts/sanitizers.sh tsan build-tsan

echo "[test] benchmarks (brief)"
bash scripts/run_benchmarks.sh build brief
echo "[test] all passed"
