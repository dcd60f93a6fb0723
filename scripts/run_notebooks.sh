#!/usr/bin/env bash
# Executes every notebook against a fresh results file so none can rot.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
work=$(mktemp -d)
trap '[ -n "${KEEP_NOTEBOOK_OUTPUT:-}" ] || rm -rf "$work"' EXIT
"$BUILD_DIR"/apps/peerlab/peerlab run scenarios/quickstart.json --quiet --out "$work/results.db"
# notebooks/sweep.ipynb: a small sweep (2 loss rates x 3 seeds, two workers); its printed
# table is what the notebook must agree with.
"$BUILD_DIR"/apps/peerlab/peerlab sweep scenarios/quickstart.json --seeds 1..3 -j 2 \
  --param /duration=3m --param /network/faults/loss=0,0.05 --out "$work/sweep.db" \
  >"$work/sweep.txt" 2>/dev/null
for nb in notebooks/*.ipynb; do
  echo "== $nb"
  # Debian's jupyter runs on /usr/bin/python3, where pandas and matplotlib are.
  PEERLAB_RESULTS="$work/results.db" PEERLAB_FIGURES="$work" \
    PEERLAB_SWEEP_RESULTS="$work/sweep.db" PEERLAB_SWEEP_TABLE="$work/sweep.txt" \
    /usr/bin/python3 -m nbconvert --to notebook --execute --output-dir "$work" \
    --ExecutePreprocessor.timeout=300 "$nb" >/dev/null
done
echo "notebooks ok"
