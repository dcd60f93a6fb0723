#!/usr/bin/env bash
# peerlab parity on every scenarios/parity/*.json: each protocol family's key
# outcomes, simulated and on live nodes with the same seed, must agree within
# the stated tolerances (exit 0), and both runs must be in the results file.
# Usage: parity.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init parity "${1:?repo root}" "${2:?peerlab binary}"
live_tail_lines=40

n=0
for s in "$root"/scenarios/parity/*.json; do
  name=$(basename "$s" .json)
  rc=0
  "$bin" parity "$s" --out "$work/r.db" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  grep -v "^testbed:" "$work/$name.out" || true # the whole table, for the log
  [[ $rc -eq 0 ]] || fail "peerlab parity $name exited $rc"
  grep -q " agree$" "$work/$name.out" || fail "$name: no outcome was judged"
  n=$((n + 1))
done
[[ $n -ge 7 ]] || fail "expected a parity case per protocol family (7), found $n"
python3 - "$work/r.db" "$n" <<'PY' || fail "the results file does not hold both worlds of every case"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("select world, count(*) from runs group by world").fetchall()
assert dict(rows) == {"sim": int(sys.argv[2]), "live": int(sys.argv[2])}, rows
PY
echo "parity: $n cases agree"
