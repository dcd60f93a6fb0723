#!/usr/bin/env bash
# The fast variant of scripts/filedrop_figures.sh (the figures docs/live.md
# records for HTTP over file drops): 5 small GETs and a 1 MiB response through
# mirrors truncating half the files, started in docs/live.md's order with no
# folder made beforehand. Checks that the script runs and prints its figures
# line; bounded to 55 s. Usage: live_filedrop_figures.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail
root=${1:?repo root}
bin=${2:?peerlab binary}
command -v curl >/dev/null || { echo "SKIP: curl is not installed" >&2; exit 0; }
out=$(mktemp "${TMPDIR:-/tmp}/peerlab-figures-quick.XXXXXX")
trap 'rm -f "$out"' EXIT
# timeout sends SIGTERM: the figures script's own trap stops what it started.
if ! timeout 55 bash "$root/scripts/filedrop_figures.sh" "$root" "$bin" 5 1048576 0.5 20ms >"$out" 2>&1; then
  cat "$out" >&2
  echo "FAIL: scripts/filedrop_figures.sh failed or took over 55 s" >&2
  exit 1
fi
python3 - "$out" <<'PY'
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith('{"event": "filedrop_figures"')][-1]
f = json.loads(line)
assert f["gets"] == 5 and f["large_bytes"] == 1048576, f
assert 0 < f["get_p50_ms"] <= f["get_max_ms"], f
assert f["large_MB_per_s"] > 0, f
print("ok:", line.strip())
PY
echo PASS
