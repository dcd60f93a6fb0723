#!/usr/bin/env bash
# peerlab sweep on this machine: a --param grid run by 2 local worker
# processes (-j 2), resumption (the same sweep again runs nothing and says
# so; a new seed runs only that seed), --param errors (exit 2, the path named,
# nothing written), and peerlab merge (dedupe, foreign files refused).
set -uo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
  echo "FAIL: $*"
  failed=$((failed + 1))
  for f in "$work/out" "$work/err"; do [[ -s $f ]] && { echo "--- $f"; tail -n 15 "$f"; }; done
}
python3 - "$ROOT/scenarios/quickstart.json" "$work/small.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["duration"] = "2m"
json.dump(s, open(sys.argv[2], "w"), indent=2)
PY
sweep() { "$PEERLAB" sweep "$work/small.json" "$@" >"$work/out" 2>"$work/err"; }
runs() { sqlite3 "$work/$1" "SELECT COUNT(*) FROM runs"; }

# -j 2: 2 seeds x 2 configurations through worker processes and shards.
sweep --seeds 1..2 --param /groups/2/count=10,20 -j 2 --out "$work/s.db" && ok || bad "sweep -j 2 exit $?"
[[ $(runs s.db) == 4 ]] && ok || bad "expected 4 runs, got $(runs s.db)"
[[ $(grep -c '^run [1-4]/4, configuration [01], seed [12]: ok; elapsed .*, eta ' "$work/err") == 4 ]] && ok ||
  bad "expected 4 progress lines"
counts=$(sqlite3 "$work/s.db" "SELECT group_concat(c) FROM (SELECT DISTINCT json_extract(parameters, '$.groups[2].count') AS c FROM runs ORDER BY c)")
[[ "$counts" == "10,20" ]] && ok || bad "stored parameters do not reflect the override: $counts"
grep -q '"count": 20' <(sqlite3 "$work/s.db" "SELECT scenario_text FROM runs WHERE json_extract(parameters, '$.groups[2].count') = 20 LIMIT 1") &&
  ok || bad "scenario_text does not hold the override"
grep -q '^configuration 1: /groups/2/count=20  (2 of 2 seeds stored)' "$work/out" && ok || bad "no table for configuration 1"
[[ ! -e "$work/s.db.shards" ]] && ok || bad "shard folder left behind"
# The same runs in one process give the same fingerprints.
sweep --seeds 1..2 --param /groups/2/count=10,20 --out "$work/one.db" && ok || bad "sweep -j 1 exit $?"
a=$(sqlite3 "$work/s.db" "SELECT group_concat(fingerprint) FROM (SELECT fingerprint FROM runs ORDER BY fingerprint)")
b=$(sqlite3 "$work/one.db" "SELECT group_concat(fingerprint) FROM (SELECT fingerprint FROM runs ORDER BY fingerprint)")
[[ -n "$a" && "$a" == "$b" ]] && ok || bad "-j 2 and -j 1 fingerprints differ: $a / $b"

# Resumption: the identical sweep runs nothing; one more seed runs only it.
sweep --seeds 1..2 --param /groups/2/count=10,20 -j 2 --out "$work/s.db" && ok || bad "resume exit $?"
grep -q '^all 4 runs already in' "$work/err" && ok || bad "resume did not say all skipped"
! grep -q '^run ' "$work/err" && ok || bad "resume ran something"
grep -q '0 run now, 4 skipped' "$work/out" && ok || bad "resume summary line"
[[ $(runs s.db) == 4 ]] && ok || bad "resume added runs: $(runs s.db)"
sweep --seeds 1..3 --param /groups/2/count=10,20 -j 2 --out "$work/s.db" && ok || bad "extend exit $?"
grep -q '^skipping 4 of 6 runs already in' "$work/err" && ok || bad "extend did not skip 4"
[[ $(grep -c '^run [12]/2, configuration [01], seed 3: ok' "$work/err") == 2 ]] && ok || bad "extend ran other runs"
[[ $(runs s.db) == 6 ]] && ok || bad "expected 6 runs, got $(runs s.db)"

# --param errors: exit 2, the path named, nothing written.
check_error() { # expected-text args...
  local want=$1
  shift
  sweep --seeds 1..2 --out "$work/never.db" "$@"
  local rc=$?
  [[ $rc == 2 ]] && grep -qF -- "$want" "$work/err" && [[ ! -e "$work/never.db" ]] && ok ||
    bad "sweep $* exit $rc, wanted 2 and \"$want\""
}
check_error '--param /network/faults/los: no such field in' --param /network/faults/los=0.1
check_error '--param /groups/9/count: no such field in' --param /groups/9/count=1
check_error '--param /groups/2/count=ten: groups[2].count: expected a positive integer, got "ten"' --param /groups/2/count=10,ten
check_error '--param /network/faults/loss=2: network.faults.loss' --param /network/faults/loss=0,2
check_error 'network/faults/loss=0: the path must be a JSON pointer' --param network/faults/loss=0
check_error '--param /duration=5m,,1m: an empty value' --param /duration=5m,,1m
check_error '--param /duration: given twice' --param /duration=1m --param /duration=2m
check_error '--jobs: expected 1..1024' -j 0

# merge: shards into one file, twice without duplicates, foreign files refused.
"$PEERLAB" merge "$work/m.db" "$work/one.db" "$work/s.db" >"$work/out" 2>"$work/err" && ok || bad "merge exit $?"
grep -q 'runs added, 4 already there' "$work/out" && ok || bad "merge did not dedupe: $(cat "$work/out")"
[[ $(runs m.db) == 6 ]] && ok || bad "merged file has $(runs m.db) runs, expected 6"
"$PEERLAB" merge "$work/m.db" "$work/s.db" >"$work/out" 2>&1 && grep -q '0 runs added, 6 already there' "$work/out" &&
  ok || bad "merging a shard again added runs"
ids=$(sqlite3 "$work/m.db" "SELECT COUNT(DISTINCT run_id) FROM metrics; SELECT COUNT(*) FROM metrics WHERE run_id NOT IN (SELECT run_id FROM runs)")
[[ "$ids" == $'6\n0' ]] && ok || bad "metrics rows do not follow their runs: $ids"
sqlite3 "$work/other.db" "CREATE TABLE t(x)"
echo "not a database at all, longer than a header would be, surely" >"$work/text.db"
for f in other.db text.db; do
  "$PEERLAB" merge "$work/m2.db" "$work/$f" >"$work/out" 2>&1; rc=$?
  [[ $rc == 2 ]] && grep -q "$f: not a peerlab results file" "$work/out" && [[ ! -e "$work/m2.db" ]] && ok ||
    bad "merge of $f exit $rc"
done

echo "sweep local: $passed passed, $failed failed"
[[ $failed == 0 ]]
