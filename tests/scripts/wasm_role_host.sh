#!/usr/bin/env bash
# The WebAssembly role host end to end: scripts/build_wasm.sh builds it (with
# gossip besides traffic, for a role with timers) into a temporary folder of
# the build tree (objects kept in BUILD/wasm-test-obj), and node drives it (tests/scripts/lib/wasm_role_host.js):
# portable SHA-2 against node's crypto, the traffic role frame by frame, two
# gossip nodes over JS timers, refusals of bad input, and the speed figures.
# emcc and node are set-up requirements (scripts/setup.sh): missing is a failure.
# Usage: wasm_role_host.sh REPO_ROOT PEERLAB_BINARY
set -uo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
# The build tree: given by ctest, else the one the binary was built in.
BUILD=${PEERLAB_BUILD_DIR:-$(cd "$(dirname "$PEERLAB")/../.." && pwd)}

for tool in emcc node; do
  if ! command -v $tool >/dev/null; then
    echo "FAIL: $tool is not installed (scripts/setup.sh installs it)"
    echo "wasm role host: 0 passed, 1 failed"
    exit 1
  fi
done

work=$(mktemp -d "$BUILD/wasm-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

start=$(date +%s%N)
# Objects stay in the build tree between runs (only changed sources compile again).
if ! PEERLAB_WASM_PROTOCOLS="traffic gossip" PEERLAB_WASM_OBJ="$BUILD/wasm-test-obj" timeout -k 5 900 \
  "$ROOT/scripts/build_wasm.sh" "$work/out" >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"
  echo "FAIL: scripts/build_wasm.sh"
  echo "wasm role host: 0 passed, 1 failed"
  exit 1
fi
echo "build: $((($(date +%s%N) - start) / 1000000)) ms; $(tail -1 "$work/build.log")"
echo "sizes: wasm $(stat -c %s "$work/out/peerlab_role.wasm") B ($(gzip -9c "$work/out/peerlab_role.wasm" | wc -c) gzipped), js $(stat -c %s "$work/out/peerlab_role.js") B"

timeout -k 5 120 node "$ROOT/tests/scripts/lib/wasm_role_host.js" "$ROOT" "$work/out"
