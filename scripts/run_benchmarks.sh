#!/usr/bin/env bash
# Runs every benchmark in bench/. "brief" (CI) runs each once with a short
# minimum time; benchmarks fail on a crash, never on a time.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
MODE=${2:-full}
args=()
if [ "$MODE" = brief ]; then args=(--benchmark_min_time=0.01); fi
for b in "$BUILD_DIR"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  if [ "$MODE" = brief ] && [ -f "bench/$(basename "$b").brief" ]; then
    # A benchmark may name the cases CI runs (the full ones take minutes).
    "$b" "${args[@]}" --benchmark_filter="$(cat "bench/$(basename "$b").brief")"
  else
    "$b" "${args[@]}"
  fi
done
