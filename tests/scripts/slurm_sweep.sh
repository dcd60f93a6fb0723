#!/usr/bin/env bash
# peerlab sweep --slurm end to end on a throwaway single-node Slurm cluster
# (tests/scripts/lib/slurm_cluster.sh): one job array of 2 seeds x 2
# configurations, each task a shard, merged into one results file with every
# run and the per-configuration table printed. Skips (exit 0 with a SKIP line)
# only when not root or the Slurm packages are missing (scripts/setup.sh
# installs them).
set -euo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
source "$ROOT/tests/scripts/lib/slurm_cluster.sh"
why=$(slurm_missing)
if [[ -n "$why" ]]; then
  echo "SKIP: slurm_sweep needs a local Slurm cluster: $why"
  exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/peerlab-slurm.XXXXXX")
chmod 755 "$work"
cleanup() {
  slurm_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/out "$work"/err "$work"/cluster/log/*.log; do
    [[ -s "$f" ]] && { echo "--- $f" >&2; tail -n 20 "$f" | cut -c1-400 >&2; }
  done
  exit 1
}

slurm_start "$work/cluster" || fail "the Slurm cluster did not start"

# quickstart with a 2-minute window: each run takes well under a second.
python3 - "$ROOT/scenarios/quickstart.json" "$work/small.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["duration"] = "2m"
json.dump(s, open(sys.argv[2], "w"), indent=2)
PY

start=$(date +%s.%N)
timeout 300 "$PEERLAB" sweep "$work/small.json" --seeds 1..2 --param /network/faults/loss=0,0.05 \
  --slurm --out "$work/sweep.db" >"$work/out" 2>"$work/err" || fail "sweep --slurm exit $?"
end=$(date +%s.%N)

grep -q '^submitted Slurm job array [0-9]* (4 tasks)' "$work/err" || fail "no submission line"
[[ $(grep -c '^run [1-4]/4, configuration [01], seed [12]: ok' "$work/err") == 4 ]] ||
  fail "expected 4 progress lines"
grep -q '^merged 4 shard files into .*: 4 runs added' "$work/err" || fail "no merge line"
n=$(sqlite3 "$work/sweep.db" "SELECT COUNT(*) FROM runs WHERE status = 'ok'")
[[ "$n" == 4 ]] || fail "expected 4 runs in the merged file, got $n"
pairs=$(sqlite3 "$work/sweep.db" "SELECT COUNT(DISTINCT json_extract(parameters, '$.network.faults.loss') || '/' || seed) FROM runs")
[[ "$pairs" == 4 ]] || fail "expected 4 distinct (loss, seed) runs, got $pairs"
# Each run's rows came along with it.
orphans=$(sqlite3 "$work/sweep.db" "SELECT COUNT(*) FROM observations WHERE run_id NOT IN (SELECT run_id FROM runs)")
per_run=$(sqlite3 "$work/sweep.db" "SELECT COUNT(DISTINCT run_id) FROM observations")
[[ "$orphans" == 0 && "$per_run" == 4 ]] || fail "observations: $orphans orphans, $per_run runs"
grep -q '^configuration 0: /network/faults/loss=0  (2 of 2 seeds stored)' "$work/out" || fail "no table for configuration 0"
grep -q '^configuration 1: /network/faults/loss=0.05  (2 of 2 seeds stored)' "$work/out" || fail "no table for configuration 1"
grep -Eq '^  filexfer.downloads_completed +[0-9.e+]+  \[' "$work/out" || fail "no downloads_completed row with an interval"
grep -q '4 run now, 0 skipped; 0 with failing checkers, 0 runtime failures' "$work/out" || fail "no summary line"
[[ ! -e "$work/sweep.db.shards" ]] || fail "the shard folder was not removed after a clean merge"

# Again: everything is stored, nothing is submitted.
"$PEERLAB" sweep "$work/small.json" --seeds 1..2 --param /network/faults/loss=0,0.05 \
  --slurm --out "$work/sweep.db" >"$work/out" 2>"$work/err" || fail "second sweep exit $?"
grep -q '^all 4 runs already in' "$work/err" || fail "the second sweep did not skip every run"
! grep -q submitted "$work/err" || fail "the second sweep submitted a job"

awk -v s="$start" -v e="$end" 'BEGIN { printf "slurm sweep ok: 4 runs through one job array in %.1f s (%.1f runs/min)\n", e - s, 4 * 60 / (e - s) }'
