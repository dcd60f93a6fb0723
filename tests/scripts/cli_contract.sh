#!/usr/bin/env bash
# The CLI as a user meets it: exit codes, error messages naming the JSON path,
# invalid scenarios writing nothing, appended runs, reproduction commands.
set -uo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

# validate: good file.
if "$PEERLAB" validate "$ROOT/scenarios/quickstart.json" >"$work/out" 2>&1; then ok; else bad "validate quickstart"; cat "$work/out"; fi

# validate and run: bad file -> exit 2, error names the path, nothing written.
python3 - "$ROOT/scenarios/quickstart.json" "$work/bad.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["groups"][2]["count"] = "ten"
json.dump(s, open(sys.argv[2], "w"))
PY
"$PEERLAB" validate "$work/bad.json" >"$work/out" 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "validate bad file exit $rc"
grep -q 'groups\[2\].count: expected a positive integer, got "ten"' "$work/out" && ok || { bad "error text"; cat "$work/out"; }
"$PEERLAB" run "$work/bad.json" --out "$work/never.db" >"$work/out" 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "run bad file exit $rc"
[ ! -e "$work/never.db" ] && ok || bad "an invalid scenario created a results file"

# run twice into one file: two runs, same fingerprint.
"$PEERLAB" run "$ROOT/scenarios/quickstart.json" --out "$work/r.db" >"$work/run1" 2>&1 && ok || bad "run quickstart"
"$PEERLAB" run "$ROOT/scenarios/quickstart.json" --out "$work/r.db" --quiet >"$work/run2" 2>&1 && ok || bad "run quickstart again"
n=$(sqlite3 "$work/r.db" "SELECT COUNT(*) FROM runs; " 2>/dev/null)
[ "$n" = 2 ] && ok || bad "expected 2 runs, got $n"
d=$(sqlite3 "$work/r.db" "SELECT COUNT(DISTINCT fingerprint) FROM runs;")
[ "$d" = 1 ] && ok || bad "same seed gave $d fingerprints"
grep -q '^fingerprint ' "$work/run1" && grep -q 'downloads ' "$work/run1" && grep -q 'seed 42' "$work/run1" && ok || bad "summary lines missing"

# a failing checker: exit 1 and the exact reproduction command.
python3 - "$ROOT/scenarios/quickstart.json" "$work/fail.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["network"]["faults"]["loss"] = 1.0
json.dump(s, open(sys.argv[2], "w"))
PY
"$PEERLAB" run "$work/fail.json" --seed 9 --out "$work/f.db" >"$work/out" 2>&1; rc=$?
[ $rc = 1 ] && ok || bad "failing checker exit $rc"
grep -q "peerlab run $work/fail.json --seed 9" "$work/out" && ok || { bad "no reproduction command"; cat "$work/out"; }

# check: deterministic, and across engines.
"$PEERLAB" check "$ROOT/scenarios/quickstart.json" --against direct >"$work/out" 2>&1 && grep -q '^deterministic' "$work/out" && ok || { bad "check"; cat "$work/out"; }

# sweep: three seeds appended.
"$PEERLAB" sweep "$ROOT/scenarios/quickstart.json" --seeds 1..3 --out "$work/s.db" >"$work/out" 2>&1 && ok || { bad "sweep"; cat "$work/out"; }
n=$(sqlite3 "$work/s.db" "SELECT COUNT(DISTINCT seed) FROM runs;")
[ "$n" = 3 ] && ok || bad "sweep stored $n seeds"

# bad usage.
"$PEERLAB" run >/dev/null 2>&1; rc=$?; [ $rc = 2 ] && ok || bad "run without file exit $rc"
"$PEERLAB" run "$ROOT/scenarios/quickstart.json" --seed minus-one >/dev/null 2>&1; rc=$?; [ $rc = 2 ] && ok || bad "bad seed exit $rc"
"$PEERLAB" frobnicate >/dev/null 2>&1; rc=$?; [ $rc = 2 ] && ok || bad "unknown command exit $rc"
# a results file that belongs to something else is refused.
sqlite3 "$work/other.db" "CREATE TABLE t(x); INSERT INTO t VALUES(1);"
"$PEERLAB" run "$ROOT/scenarios/quickstart.json" --out "$work/other.db" >"$work/out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "not a peerlab results file" "$work/out" && ok || bad "foreign db exit $rc"

echo "cli contract: $passed passed, $failed failed"
[ $failed = 0 ]
