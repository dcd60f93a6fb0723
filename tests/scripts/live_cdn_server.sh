#!/usr/bin/env bash
# A live CDN server node (examples/cdn_server.json: cdn_signal + cdn_origin +
# the site) on 127.0.0.1, checked with curl: the page lists every resource
# with its SHA-224, /index is the listing, each resource hashes to its listed
# SHA-224, a Range request answers 206 with the right bytes, the bundle's
# .wasm has the type browsers need, nothing escapes the bundle folder, and
# /signal wants a WebSocket. Then SIGTERM stops the node (exit 0).
# Usage: live_cdn_server.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init live-cdn "${1:?repo root}" "${2:?peerlab binary}"
need curl
need sha224sum

mkdir -p "$work/bundle"
printf '\0asm\1\0\0\0' >"$work/bundle/peerlab_role.wasm"
echo "console.log('peerlab');" >"$work/bundle/peerlab_role.js"
echo "outside the bundle" >"$work/secret.txt"

# The example config, on ephemeral 127.0.0.1 ports, with this run's folders.
python3 - "$root/examples/cdn_server.json" "$work/node.json" "$work" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["listen"] = "127.0.0.1:0"
c["data_dir"] = sys.argv[3] + "/data"
c["cdn_site"]["listen"] = "127.0.0.1:0"
c["cdn_site"]["bundle"] = sys.argv[3] + "/bundle"
c["run_for"] = "120s"  # stops by itself if this script dies without its trap
json.dump(c, open(sys.argv[2], "w"))
PY

"$bin" node --config "$work/node.json" >"$work/node.out" 2>"$work/node.err" &
pid=$!
pids+=("$pid")

site=""
for _ in $(seq 1 200); do
  site=$(event_field "$work/node.out" cdn_site_listening address)
  [[ -n "$site" ]] && break
  kill -0 "$pid" 2>/dev/null || fail "the node exited early"
  sleep 0.05
done
[[ -n "$site" ]] || fail "the node did not report the site's address"
[[ "$site" == 127.0.0.1:* ]] || fail "the site listens on $site, not on 127.0.0.1"
grep -q '"event":"cdn_site_listening".*"signal":true' "$work/node.out" ||
  fail "the site did not say it takes WebSockets"

get() { curl -sS --max-time 10 "$@"; }

get -o "$work/index.txt" "http://$site/index" || fail "GET /index failed"
get -o "$work/page.html" "http://$site/" || fail "GET / failed"
n=$(wc -l <"$work/index.txt")
[[ $n -eq 10 ]] || fail "the listing has $n lines, expected 10 (app.js, hero.jpg, 8 thumbs)"

# Every listed resource: the page links it with its SHA-224, and its bytes hash to it.
while read -r sha size url; do
  grep -q "href=\"$url\" data-sha224=\"$sha\"" "$work/page.html" ||
    fail "the page does not link $url with its SHA-224"
  get -o "$work/res" "http://$site$url" || fail "GET $url failed"
  [[ $(stat -c %s "$work/res") -eq $size ]] || fail "$url is not $size bytes"
  [[ $(sha224sum "$work/res" | cut -d' ' -f1) == "$sha" ]] || fail "$url does not hash to $sha"
done <"$work/index.txt"
grep -q '<script src="/bundle/peerlab_role.js"></script>' "$work/page.html" ||
  fail "the page does not load the bundle"

# Resuming at an offset: bytes 100000-199999 of /img/hero.jpg (1 MiB).
get -o "$work/hero" "http://$site/img/hero.jpg"
code=$(get -o "$work/part" -w '%{http_code}' -D "$work/part.h" -r 100000-199999 \
  "http://$site/img/hero.jpg")
[[ $code == 206 ]] || fail "a Range request answered $code, expected 206"
grep -qi '^content-range: bytes 100000-199999/1048576' "$work/part.h" || fail "wrong Content-Range"
cmp "$work/part" <(tail -c +100001 "$work/hero" | head -c 100000) || fail "the range's bytes differ"
code=$(get -o /dev/null -w '%{http_code}' -r 2000000- "http://$site/img/hero.jpg")
[[ $code == 416 ]] || fail "a range past the end answered $code, expected 416"

# The bundle: the type a browser needs to compile wasm; nothing outside it.
ctype=$(get -o /dev/null -w '%{content_type}' "http://$site/bundle/peerlab_role.wasm")
[[ $ctype == application/wasm ]] || fail "the .wasm was served as $ctype"
for target in /bundle/../secret.txt /bundle/%2e%2e/secret.txt /bundle/..%2fsecret.txt; do
  code=$(get --path-as-is -o "$work/escape" -w '%{http_code}' "http://$site$target")
  [[ $code -ge 400 ]] || fail "$target answered $code"
  ! grep -q "outside the bundle" "$work/escape" || fail "$target served a file outside the bundle"
done

# /signal takes WebSockets only (tests/net/cdn_signal_ws_test.cpp drives
# them); one join through the node: the cdn_signal role answers welcome.
code=$(get -o /dev/null -w '%{http_code}' "http://$site/signal")
[[ $code == 426 ]] || fail "GET /signal without an upgrade answered $code, expected 426"
welcome=$(timeout 20 python3 - "$site" <<'PY'
import base64, json, os, socket, struct, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /signal HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (sys.argv[1], key)).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
assert head.startswith(b"HTTP/1.1 101"), head
msg = json.dumps({"type": "join", "want": 1}).encode()
mask = os.urandom(4)
s.sendall(bytes([0x81, 0x80 | len(msg)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
def read(n):
    out = b""
    while len(out) < n:
        out += s.recv(n - len(out))
    return out
op, n = read(2)
if n & 0x7F == 126:
    n = struct.unpack(">H", read(2))[0]
print(read(n & 0x7F if n < 126 else n).decode())
PY
) || fail "no answer to a join over the WebSocket"
python3 -c 'import json, sys; m = json.loads(sys.argv[1]); assert m["type"] == "welcome" and int(m["peer"]) >> 32 == 0xFFFFFFFF, m' \
  "$welcome" || fail "expected a welcome with an id of the local range, got $welcome"

kill -TERM "$pid"
for _ in $(seq 1 200); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -0 "$pid" 2>/dev/null && fail "the node did not stop within 10 s of SIGTERM"
rc=0
wait "$pid" || rc=$?
pids=()
[[ $rc -eq 0 ]] || fail "the node exited with $rc after SIGTERM (expected 0)"
grep -q '"event":"stopped"' "$work/node.out" || fail "the node printed no stopped line"

echo "live_cdn_server: OK ($n resources at $site)"
