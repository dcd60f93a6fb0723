#!/usr/bin/env bash
# peerlab droplog-table with few messages: every design x channel x rate row
# appears, every run delivered everything, --update replaces only the text
# between the markers (and refuses a file without them), bad options exit 2.
set -uo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

"$PEERLAB" droplog-table --messages 20 --seed 3 >"$work/out" 2>"$work/err"; rc=$?
[ $rc = 0 ] && ok || { bad "droplog-table exit $rc"; cat "$work/err"; }
grep -q '^all 24 runs delivered every message exactly once$' "$work/err" && ok ||
  { bad "no 'all delivered' line"; cat "$work/err"; }
grep -q '^| design | channel | truncate | goodput | latency mean s | latency p95 s | finish s | files | retransmitted entries |$' \
  "$work/out" && ok || bad "header missing"
for rate in 0.00 0.10 0.50 0.75; do
  for channel in uniform size; do
    for design in coded adaptive fixed5s; do
      n=$(grep -c "^| $design | $channel | $rate | [0-9.]* | " "$work/out")
      [ "$n" = 1 ] && ok || bad "row $design $channel $rate appears $n times"
    done
  done
done
[ "$(grep -c '^| ' "$work/out")" = 25 ] && ok || bad "expected 24 rows and a header"
# Every row has a positive goodput and wrote files.
awk -F'|' '/^\| (coded|adaptive|fixed5s) / { if ($5 + 0 <= 0 || $9 + 0 <= 0) exit 1 }' "$work/out" &&
  ok || bad "a row with no goodput or no files"
# Deterministic: the same seed prints the same table.
"$PEERLAB" droplog-table --messages 20 --seed 3 >"$work/again" 2>/dev/null
cmp -s "$work/out" "$work/again" && ok || bad "same seed, different table"

# --update: only the text between the markers changes.
printf 'before\n<!-- droplog-table begin -->\nold table\n<!-- droplog-table end -->\nafter\n' >"$work/doc.md"
"$PEERLAB" droplog-table --messages 5 --update "$work/doc.md" >"$work/out5" 2>"$work/err"; rc=$?
[ $rc = 0 ] && ok || { bad "--update exit $rc"; cat "$work/err"; }
{ echo before; echo '<!-- droplog-table begin -->'; cat "$work/out5"; echo '<!-- droplog-table end -->'; echo after; } >"$work/want.md"
diff -u "$work/want.md" "$work/doc.md" >"$work/diff" && ok || { bad "--update result"; cat "$work/diff"; }
# The docs hold the markers.
grep -q '^<!-- droplog-table begin -->$' "$ROOT/docs/protocols/droplog.md" &&
  grep -q '^<!-- droplog-table end -->$' "$ROOT/docs/protocols/droplog.md" && ok ||
  bad "docs/protocols/droplog.md has no droplog-table markers"

# Bad input: exit 2, named, nothing written.
printf 'no markers\n' >"$work/plain.md"
"$PEERLAB" droplog-table --messages 5 --update "$work/plain.md" >/dev/null 2>"$work/err"; rc=$?
[ $rc = 2 ] && grep -q 'droplog-table begin' "$work/err" && ok || { bad "file without markers exit $rc"; cat "$work/err"; }
[ "$(cat "$work/plain.md")" = "no markers" ] && ok || bad "file without markers was changed"
"$PEERLAB" droplog-table --messages 0 >/dev/null 2>"$work/err"; rc=$?
[ $rc = 2 ] && grep -q -- '--messages' "$work/err" && ok || bad "--messages 0 exit $rc"
"$PEERLAB" droplog-table --seed x >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "--seed x exit $rc"
"$PEERLAB" droplog-table --update "$work/missing.md" --messages 5 >/dev/null 2>"$work/err"; rc=$?
[ $rc = 2 ] && grep -q 'cannot read' "$work/err" && ok || bad "missing --update file exit $rc"

echo "droplog table: $passed passed, $failed failed"
[ $failed = 0 ]
