#!/usr/bin/env bash
# peerlab fuzz over the small scenario of each protocol family (scenarios/fuzz/):
# a bounded number of drawn runs whose invariants must all hold, plus the
# command's contract (exit 1 and a shrunk, runnable file for a failing run).
set -uo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
RUNS=${FUZZ_RUNS:-6}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

"$PEERLAB" fuzz --help | grep -q "usage: peerlab fuzz" || { echo "FAIL fuzz --help"; fail=1; }
"$PEERLAB" fuzz "$ROOT/scenarios/fuzz/filexfer.json" >/dev/null 2>&1
[ $? = 2 ] || { echo "FAIL fuzz without --runs must exit 2"; fail=1; }

for s in "$ROOT"/scenarios/fuzz/*.json; do
  start=$(date +%s)
  if out=$("$PEERLAB" fuzz "$s" --runs "$RUNS" --seed 1 --out "$work/out" 2>&1); then
    echo "ok   $(basename "$s"): $(echo "$out" | tail -1) ($(( $(date +%s) - start )) s)"
  else
    echo "FAIL $(basename "$s"):"
    echo "$out"
    fail=1
  fi
done

# A run that breaks an invariant: forbid every frame loss on a lossy scenario.
# The fuzzer must exit 1, print the reproducing command, and write a drawn and a
# shrunk scenario that `peerlab run` fails again.
python3 - "$ROOT/scenarios/fuzz/filexfer.json" "$work/strict.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["checkers"].append({"check": "metric", "metric": "frames_lost", "max": 0})
d["fuzz"]["invariants"] = ["metric"]
d["fuzz"]["faults"] = {"loss": [0.05, 0.1]}
json.dump(d, open(sys.argv[2], "w"))
PY
out=$("$PEERLAB" fuzz "$work/strict.json" --runs 4 --seed 3 --out "$work/strict" --shrink-runs 12 2>&1)
rc=$?
echo "$out" | tail -4
[ $rc = 1 ] || { echo "FAIL a failing campaign must exit 1 (got $rc)"; fail=1; }
repro=$(echo "$out" | sed -n 's/^  reproduce: peerlab run //p' | head -1)
shrunk=$(echo "$out" | sed -n 's/^  shrunk: peerlab run //p' | head -1)
for f in "$repro" "$shrunk"; do
  if [ -z "$f" ] || [ ! -f "$f" ]; then
    echo "FAIL no scenario file written for the failing run ($f)"; fail=1; continue
  fi
  "$PEERLAB" run "$f" --quiet --out "$work/r.db" >/dev/null 2>&1
  [ $? = 1 ] || { echo "FAIL peerlab run $f must fail again"; fail=1; }
done
if [ -f "$shrunk" ]; then
  python3 - "$repro" "$shrunk" <<'PY' || fail=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
nodes = lambda d: sum(g["count"] for g in d["groups"])
if not nodes(b) < nodes(a):
    sys.exit("FAIL the shrunk scenario has no fewer nodes (%d vs %d)" % (nodes(b), nodes(a)))
print("shrunk from %d to %d nodes" % (nodes(a), nodes(b)))
PY
fi
# The same (scenario, seed, run) draws the same run.
again=$("$PEERLAB" fuzz "$work/strict.json" --seed 3 --run 0 --out "$work/again" --shrink-runs 0 2>&1)
first_line=$(echo "$out" | grep '^run 0 ' | awk '{print $4}')
again_line=$(echo "$again" | grep '^run 0 ' | awk '{print $4}')
[ -n "$first_line" ] && [ "$first_line" = "$again_line" ] ||
  { echo "FAIL --run 0 drew seed '$again_line', the campaign drew '$first_line'"; fail=1; }
[ $fail = 0 ] && echo "fuzz: all families passed $RUNS runs each"
exit $fail
