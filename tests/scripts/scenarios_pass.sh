#!/usr/bin/env bash
# Every scenario in scenarios/ and scenarios/regressions/ (failing cases found by
# peerlab fuzz, pinned after the fix: docs/fuzz.md) runs with its pinned seed and
# passes its checkers.
set -uo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
for s in "$ROOT"/scenarios/*.json "$ROOT"/scenarios/regressions/*.json; do
  [ -f "$s" ] || continue
  name=${s#"$ROOT"/scenarios/}
  start=$(date +%s)
  if out=$("$PEERLAB" run "$s" --quiet --out "$work/results.db" 2>&1); then
    passed=$((passed + 1))
    echo "ok   $name $out ($(( $(date +%s) - start )) s)"
  else
    failed=$((failed + 1))
    echo "FAIL $name:"
    "$PEERLAB" run "$s" --out "$work/failed.db" 2>&1 | tail -25
  fi
done
echo "scenarios: $passed passed, $failed failed"
[ $failed = 0 ]
