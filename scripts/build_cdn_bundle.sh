#!/usr/bin/env bash
# Builds the browser CDN's bundle (docs/protocols/cdn.md "In browsers") into
# OUTDIR, the folder the live server serves under /bundle/:
#   peerlab_role.js, peerlab_role.wasm  the cdn protocol in WebAssembly
#                                       (scripts/build_wasm.sh, cdn only)
#   host.js                             the role host's JS side
#   cdn_client.js                       the page shim
#   simplepeer.min.js                   simple-peer's browser build (web/node_modules)
#   cdn_test.html                       the page tests/scripts/live_cdn_browsers.sh drives
# PEERLAB_WASM_OBJ keeps the wasm objects between builds (scripts/build_wasm.sh).
# Usage: scripts/build_cdn_bundle.sh OUTDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: scripts/build_cdn_bundle.sh OUTDIR}

SIMPLEPEER="$ROOT/web/node_modules/simple-peer/simplepeer.min.js"
if [ ! -f "$SIMPLEPEER" ]; then
  echo "build_cdn_bundle: $SIMPLEPEER missing (run: npm ci --prefix web, or scripts/setup.sh)" >&2
  exit 1
fi
PEERLAB_WASM_PROTOCOLS=cdn "$ROOT/scripts/build_wasm.sh" "$OUT"
cp "$ROOT/web/host.js" "$ROOT/web/cdn/cdn_client.js" "$ROOT/web/cdn/cdn_test.html" "$SIMPLEPEER" "$OUT/"
echo "build_cdn_bundle: $OUT ($(cd "$OUT" && ls -- *.js *.wasm *.html | tr '\n' ' '))"
