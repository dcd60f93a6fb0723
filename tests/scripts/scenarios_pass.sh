#!/usr/bin/env bash
# Every scenario in scenarios/ runs with its pinned seed and passes its checkers.
set -uo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
for s in "$ROOT"/scenarios/*.json; do
  start=$(date +%s)
  if out=$("$PEERLAB" run "$s" --quiet --out "$work/results.db" 2>&1); then
    passed=$((passed + 1))
    echo "ok   $(basename "$s") $out ($(( $(date +%s) - start )) s)"
  else
    failed=$((failed + 1))
    echo "FAIL $(basename "$s"):"
    "$PEERLAB" run "$s" --out "$work/failed.db" 2>&1 | tail -25
  fi
done
echo "scenarios: $passed passed, $failed failed"
[ $failed = 0 ]
