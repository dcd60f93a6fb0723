#!/usr/bin/env bash
# The CDN with native live nodes over peerlab's TLS transport: a server node
# (cdn_signal + cdn_origin) and client nodes that find it by address. The first
# client loads the page from the origin, the next ones from their peers; then
# a client that serves corrupted bytes is the only peer holding the page, and
# a newcomer detects it, evicts it and still ends with the listed hashes.
# Usage: live_cdn_native.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init cdn-native "${1:?repo root}" "${2:?peerlab binary}"

cat >"$work/server.json" <<EOF
{"name": "cdn-server", "listen": "127.0.0.1:0", "data_dir": "server-data",
 "roles": [{"role": "cdn_signal"},
           {"role": "cdn_origin", "resources": [{"url": "/static/a", "size": "256KiB", "count": 4}]}],
 "run_for": "120s"}
EOF
"$bin" node --config "$work/server.json" >"$work/server.out" 2>"$work/server.err" &
pids+=($!)

wait_for() { # FILE EVENT: waits up to 30 s for the event
  for _ in $(seq 1 300); do
    grep -q "\"event\":\"$2\"" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no $2 in $1 within 30 s"
}

wait_for "$work/server.out" listening
server=$(event_field "$work/server.out" listening address)
[[ "$server" == 127.0.0.1:* ]] || fail "the server listens on '$server'"

declare -A pid_of
start_client() { # NAME [ADVERSARY]
  local adv=""
  [[ $# -gt 1 ]] && adv="\"adversary\": \"$2\","
  cat >"$work/$1.json" <<EOF
{"name": "$1", "listen": "127.0.0.1:0", "data_dir": "$1-data", "peers": ["$server"], $adv
 "roles": [{"role": "cdn_client", "server_address": "$server", "load": "/index", "want": 3}],
 "run_for": "100s"}
EOF
  "$bin" node --config "$work/$1.json" >"$work/$1.out" 2>"$work/$1.err" &
  pids+=($!)
  pid_of[$1]=$!
}
sources() { grep -o '"source":"[a-z]*"' "$work/$1.out" | sort | uniq -c | tr -s ' \n' ' '; }
hashes() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line) if line.startswith("{") else {}
    if j.get("event") == "cdn_fetch_done":
        print(j["fields"]["url"], j["fields"]["sha224"])
' "$1" | sort
}

start_client a
wait_for "$work/a.out" load_done
[[ "$(sources a)" == ' 4 "source":"origin" ' ]] || fail "a: expected 4 from the origin, got $(sources a)"
listed=$(hashes "$work/a.out")
[[ $(wc -l <<<"$listed") -eq 4 ]] || fail "a: expected 4 resources"

start_client b
wait_for "$work/b.out" load_done
start_client c
wait_for "$work/c.out" load_done
for n in b c; do
  grep -q '"source":"peer"' "$work/$n.out" || fail "$n loaded nothing from a peer: $(sources $n)"
  [[ "$(hashes "$work/$n.out")" == "$listed" ]] || fail "$n used bytes other than the listed ones"
done

# d serves flipped bytes; once it is the only peer left holding the page, a
# newcomer e gets them, detects the mismatch and evicts d.
start_client d corrupt_content
wait_for "$work/d.out" load_done
d_id=$(event_field "$work/d.out" listening peer_id)
for n in a b c; do
  kill -TERM "${pid_of[$n]}"
  wait "${pid_of[$n]}" || fail "$n did not stop cleanly on SIGTERM"
done
start_client e
wait_for "$work/e.out" load_done
grep -q "\"event\":\"cdn_corrupt_detected\",\"fields\":{\"peer\":\"$d_id\"" "$work/e.out" ||
  fail "e did not detect d ($d_id) serving corrupted bytes"
grep -q "\"event\":\"cdn_evicted\",\"fields\":{\"peer\":\"$d_id\"" "$work/e.out" ||
  fail "e did not evict d"
[[ "$(hashes "$work/e.out")" == "$listed" ]] || fail "e used bytes other than the listed ones"
echo "live_cdn_native: OK (a: $(sources a); b: $(sources b); c: $(sources c); e: $(sources e); evicted $d_id)"
