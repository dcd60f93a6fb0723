#!/usr/bin/env bash
# Fresh machine to a result: install, build, simulate scenarios/quickstart.json,
# print the summary and append the run to results.db.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build Release
./build/apps/peerlab/peerlab run scenarios/quickstart.json --out results.db
