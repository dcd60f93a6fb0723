#!/usr/bin/env bash
# Executes every notebook against a fresh results file so none can rot.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$BUILD_DIR"/apps/peerlab/peerlab run scenarios/quickstart.json --quiet --out "$work/results.db"
for nb in notebooks/*.ipynb; do
  echo "== $nb"
  # Debian's jupyter runs on /usr/bin/python3, where pandas and matplotlib are.
  PEERLAB_RESULTS="$work/results.db" PEERLAB_FIGURES="$work" \
    /usr/bin/python3 -m nbconvert --to notebook --execute --output-dir "$work" \
    --ExecutePreprocessor.timeout=300 "$nb" >/dev/null
done
echo "notebooks ok"
