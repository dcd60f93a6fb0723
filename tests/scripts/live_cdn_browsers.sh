#!/usr/bin/env bash
# The browser CDN end to end (docs/protocols/cdn.md "In browsers"): builds the
# bundle (scripts/build_cdn_bundle.sh: the cdn_client role in WebAssembly and
# the page shim), starts `peerlab node` with cdn_signal + cdn_origin and its
# site on 127.0.0.1, and drives headless Chromium pages
# (tests/scripts/lib/live_cdn_browsers.js): origin first, then peers over
# WebRTC, IndexedDB after a reload (a tampered entry refused), a serving page
# closed mid-transfer, a lying page detected and evicted, the server's demo
# page starting the shim by itself, native nodes sharing the server (a mixed
# swarm); prints the figures.
# As root it runs in a fresh network, PID and mount namespace with only lo up
# (Chromium can reach nothing else, and every process dies with it); a hard
# timeout bounds it all. emcc, node, chromium and web/node_modules are set-up
# requirements (scripts/setup.sh): missing is a failure, not a skip.
# Usage: live_cdn_browsers.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail
ROOT=$(cd "${1:?repo root}" && pwd)
BIN=$(cd "$(dirname "${2:?peerlab binary}")" && pwd)/$(basename "$2")

if [[ $(id -u) == 0 && -z ${PEERLAB_CDN_NS:-} ]]; then
  exec timeout -k 10 900 unshare --net --pid --fork --mount-proc --kill-child \
    env PEERLAB_CDN_NS=1 bash "$0" "$ROOT" "$BIN"
fi
if [[ -n ${PEERLAB_CDN_NS:-} ]]; then
  ip link set lo up
elif [[ -z ${PEERLAB_CDN_TIMED:-} ]]; then # not root: plain, but still bounded
  exec timeout -k 10 900 env PEERLAB_CDN_TIMED=1 bash "$0" "$ROOT" "$BIN"
fi

source "$ROOT/tests/scripts/lib/live_common.sh"
live_init cdn-browsers "$ROOT" "$BIN"
live_tail_lines=30
BUILD=${PEERLAB_BUILD_DIR:-$(cd "$(dirname "$BIN")/../.." && pwd)}
for tool in emcc node /usr/bin/chromium; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup.sh installs it)"
done
[[ -d "$ROOT/web/node_modules/playwright-core" ]] ||
  fail "web/node_modules is missing (npm ci --prefix web, or scripts/setup.sh)"

start=$(date +%s%N)
PEERLAB_WASM_OBJ="$BUILD/wasm-cdn-obj" "$ROOT/scripts/build_cdn_bundle.sh" "$work/bundle" \
  >"$work/bundle.out" 2>&1 || fail "scripts/build_cdn_bundle.sh"
echo "bundle: $((($(date +%s%N) - start) / 1000000)) ms; wasm $(stat -c %s "$work/bundle/peerlab_role.wasm") B ($(gzip -9c "$work/bundle/peerlab_role.wasm" | wc -c) gzipped)"

# Three resources: two small, one of 8 MiB (throughput, and time to close its
# serving page mid-transfer).
cat >"$work/cdn.json" <<EOF
{
  "name": "cdn-browsers",
  "listen": "127.0.0.1:0",
  "data_dir": "cdn-data",
  "roles": [
    {"role": "cdn_signal"},
    {"role": "cdn_origin", "resources": [
      {"url": "/img/logo.png", "size": "40KiB"},
      {"url": "/js/app.js", "size": "300KiB"},
      {"url": "/video/intro.bin", "size": "8MiB"}]}
  ],
  "cdn_site": {"listen": "127.0.0.1:0", "bundle": "bundle"}
}
EOF
(cd "$work" && exec "$BIN" node --config cdn.json >node.out 2>node.err) &
pids+=("$!")
site=""
for _ in $(seq 1 300); do
  site=$(event_field "$work/node.out" cdn_site_listening address)
  [[ -n "$site" ]] && break
  kill -0 "${pids[0]}" 2>/dev/null || fail "the node exited early"
  sleep 0.1
done
[[ "$site" == 127.0.0.1:* ]] || fail "the site did not report a 127.0.0.1 address ($site)"

# A mixed swarm: native nodes join the same server over peerlab's TLS
# transport while the browsers run. The server pairs each kind only with its
# own: the second native node loads from the first, never from a browser.
tls=$(event_field "$work/node.out" listening address)
[[ "$tls" == 127.0.0.1:* ]] || fail "the node did not report its peer address ($tls)"
start_native() { # NAME
  printf '%s\n' "{\"name\": \"$1\", \"listen\": \"127.0.0.1:0\", \"data_dir\": \"$1-data\"," \
    " \"peers\": [\"$tls\"], \"run_for\": \"280s\"," \
    " \"roles\": [{\"role\": \"cdn_client\", \"server_address\": \"$tls\", \"load\": \"/index\"}]}" \
    >"$work/$1.json"
  (cd "$work" && exec "$BIN" node --config "$1.json" >"$1.out" 2>"$1.err") &
  pids+=("$!")
  for _ in $(seq 1 300); do
    grep -q '"event":"load_done"' "$work/$1.out" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "native node $1 did not load the page within 30 s"
}
start_native native1

if ! timeout -k 5 300 node "$ROOT/tests/scripts/lib/live_cdn_browsers.js" "$ROOT" "http://$site" \
  >"$work/driver.out" 2>"$work/driver.err"; then
  cat "$work/driver.out"
  fail "the browser checks"
fi
cat "$work/driver.out"

start_native native2
natives="$(event_field "$work/native1.out" listening peer_id) $(event_field "$work/native2.out" listening peer_id)"
grep -q '"source":"peer"' "$work/native2.out" || fail "native2 loaded nothing from a peer"
for p in $(grep -ho '"event":"cdn_linked","fields":{"peer":"[0-9]*"' "$work"/native*.out |
  grep -o '[0-9]*"$' | tr -d '"' | sort -u); do
  [[ " $natives " == *" $p "* ]] || fail "a native node linked with $p, which is not a native node"
done
echo "ok - mixed swarm: native2 loaded from native1 over TLS, native nodes linked only with each other"
echo "live cdn browsers: $(($(grep -c '^ok - ' "$work/driver.out") + 1)) checks passed"
