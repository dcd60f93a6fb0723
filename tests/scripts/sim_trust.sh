#!/usr/bin/env bash
# Simulator trust at the CLI: every file in tests/sim/bad_scenarios/ is
# rejected by validate (exit 2) with the error its description names; a
# runtime failure (the watchdog) exits 3 with the reproduce line and is still
# stored in the results file with its status; peer text corrupted on the wire
# reaches the results file as valid JSON.
set -uo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

n=0
for f in "$ROOT"/tests/sim/bad_scenarios/*.json; do
  n=$((n + 1))
  expect=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["description"].split("expect error: ",1)[1])' "$f")
  "$PEERLAB" validate "$f" >"$work/out" 2>&1; rc=$?
  [ $rc = 2 ] && ok || bad "$(basename "$f"): validate exit $rc"
  grep -qF "$f: $expect" "$work/out" && ok || { bad "$(basename "$f"): expected \"$expect\""; cat "$work/out"; }
  "$PEERLAB" run "$f" --out "$work/never.db" >"$work/out" 2>&1; rc=$?
  [ $rc = 2 ] && ok || bad "$(basename "$f"): run exit $rc"
done
[ $n -ge 6 ] && ok || bad "only $n bad scenarios"
[ ! -e "$work/never.db" ] && ok || bad "a rejected scenario created a results file"

# The watchdog fires at t=0 with a tiny bound: exit 3, reproduce line, stored.
q="$ROOT/scenarios/quickstart.json"
"$PEERLAB" run "$q" --seed 9 --out "$work/r.db" --max-events-per-instant 5 >"$work/out" 2>&1; rc=$?
[ $rc = 3 ] && ok || { bad "watchdog run exit $rc"; cat "$work/out"; }
grep -q "watchdog: more than 5 events at virtual time" "$work/out" && ok || { bad "watchdog message"; cat "$work/out"; }
grep -qF "peerlab run $q --seed 9" "$work/out" && ok || { bad "no reproduce line"; cat "$work/out"; }
row=$(sqlite3 "$work/r.db" "SELECT status, passed, status_message LIKE 'watchdog:%' FROM runs;")
[ "$row" = "runtime_error|0|1" ] && ok || bad "stored row: $row"
"$PEERLAB" sweep "$q" --seeds 1..2 --out "$work/r.db" --max-events-per-instant 5 >"$work/out" 2>&1; rc=$?
[ $rc = 3 ] && ok || { bad "watchdog sweep exit $rc"; cat "$work/out"; }
n=$(sqlite3 "$work/r.db" "SELECT COUNT(*) FROM runs WHERE status = 'runtime_error';")
[ "$n" = 3 ] && ok || bad "expected 3 runtime_error rows, got $n"
"$PEERLAB" check "$q" --max-events-per-instant 5 >"$work/out" 2>&1; rc=$?
[ $rc = 3 ] && ok || { bad "watchdog check exit $rc"; cat "$work/out"; }
"$PEERLAB" run "$q" --max-events-per-instant 0 >"$work/out" 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "--max-events-per-instant 0 exit $rc"

# Every frame corrupted: peers' error texts carry random bytes. The run ends
# normally (0 or 1, never 2 or 3) and the results file holds valid JSON.
python3 - "$q" "$work/corrupt.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["duration"] = "2m"
s["network"]["faults"]["corrupt"] = 1.0
s["record_events"] = True
s["workload"][1]["stop"] = "90s"
json.dump(s, open(sys.argv[2], "w"))
PY
"$PEERLAB" run "$work/corrupt.json" --out "$work/c.db" --quiet >"$work/out" 2>&1; rc=$?
[ $rc = 0 ] || [ $rc = 1 ] && ok || { bad "corrupt=1.0 run exit $rc"; cat "$work/out"; }
python3 - "$work/c.db" <<'PY' && ok || bad "results JSON after corrupt=1.0"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.text_factory = bytes
rows = db.execute("SELECT summary, verdicts, status FROM runs").fetchall()
assert len(rows) == 1, rows
for summary, verdicts, status in rows:
    json.loads(summary.decode("utf-8")); json.loads(verdicts.decode("utf-8"))
    assert status in (b"ok", b"checker_failed"), status
for (detail,) in db.execute("SELECT detail FROM events"):
    json.loads(detail.decode("utf-8"))
for (reason,) in db.execute("SELECT reason FROM filexfer_downloads WHERE reason IS NOT NULL"):
    text = reason.decode("utf-8")
    assert all(c >= " " and c != "\x7f" for c in text), text
PY

echo "sim trust: $passed passed, $failed failed"
[ $failed = 0 ]
