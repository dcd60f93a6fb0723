#!/usr/bin/env bash
# Replicated file sets live: three `peerlab node` processes with the
# fileset role and its REST API on 127.0.0.1. A set uploaded to one node
# (peerlab set upload, JSON and raw routes) is downloadable with valid proofs
# from the two others (peerlab set get verifies every file and cmp checks the
# bytes); a fourth node started afterwards back-syncs it; the seed's JSON API
# answers curl exactly as documented, errors included; a failed verification
# never writes the output file. Prints REST throughput for 1 MiB files.
# Usage: live_fileset_three_nodes.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init fileset "${1:?repo root}" "${2:?peerlab binary}"
need curl

# json_field FILE EVENT KEY: KEY of the first line whose "event" is EVENT.
json_field() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("event") == sys.argv[2]:
        print(j.get(sys.argv[3], "")); break
PY
}

# start_node NAME PEERS_JSON: starts a node; sets node_addr and api_addr.
start_node() {
  local name=$1 peers=$2
  cat >"$work/$name.json" <<EOF
{"name": "fileset-live-$name", "listen": "127.0.0.1:0", "peers": $peers,
 "data_dir": "$name-data", "run_for": "150s", "fileset_http": "127.0.0.1:0",
 "roles": [{"role": "fileset", "sync_initial_delay": "200ms", "sync_interval": "1s"}]}
EOF
  "$bin" node --config "$work/$name.json" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=("$!")
  node_addr="" api_addr=""
  for _ in $(seq 1 200); do
    node_addr=$(json_field "$work/$name.out" listening address)
    api_addr=$(json_field "$work/$name.out" fileset_http address)
    [[ -n "$node_addr" && -n "$api_addr" ]] && return 0
    sleep 0.05
  done
  fail "node $name did not start"
}

# wait_complete API SET N: waits until the node's API reports the set complete with N files.
wait_complete() {
  for _ in $(seq 1 300); do
    if curl -s "http://$1/api/sets/$2" | grep -q "\"complete\":true.*\"setCount\":$3"; then
      return 0
    fi
    sleep 0.1
  done
  fail "set $2 did not complete on $1: $(curl -s "http://$1/api/sets/$2")"
}

now_ns() { date +%s%N; }

start_node n1 '[]'
n1=$node_addr api1=$api_addr
start_node n2 "[\"$n1\"]"
n2=$node_addr api2=$api_addr
start_node n3 "[\"$n1\", \"$n2\"]"
api3=$api_addr

# A folder of files: empty, tiny, 100 KiB (raw route), 1 MiB (announced and
# fetched over back-sync chunks), 3 KiB.
mkdir -p "$work/folder"
: >"$work/folder/a-empty"
printf 'file1' >"$work/folder/b-tiny"
head -c 102400 /dev/urandom >"$work/folder/c-100k"
head -c 1048576 /dev/urandom >"$work/folder/d-1m"
head -c 3000 /dev/urandom >"$work/folder/e-3k"
db="$work/client.db"
"$bin" set upload --node "http://$api1" --set photos --token-file "$work/n1-data/api.token" --db "$db" "$work/folder" >"$work/upload.log" 2>&1 ||
  fail "upload: $(cat "$work/upload.log")"
"$bin" set list --db "$db" | grep -q "^photos .* 5 " || fail "set list does not show photos with 5 files"

files=(a-empty b-tiny c-100k d-1m e-3k)
for api in "$api2" "$api3"; do
  wait_complete "$api" photos 5
  for i in 0 1 2 3 4; do
    "$bin" set get --node "http://$api" --set photos --index "$i" --out "$work/got" --db "$db" >/dev/null ||
      fail "set get index $i from $api"
    cmp -s "$work/got" "$work/folder/${files[$i]}" || fail "index $i from $api differs"
    rm -f "$work/got"
  done
done
"$bin" set get --node "http://$api3" --set photos --index 3 --out "$work/got" --db "$db" --raw >/dev/null ||
  fail "raw get"
cmp -s "$work/got" "$work/folder/d-1m" || fail "raw download differs"
rm -f "$work/got"

# The seed's JSON API through curl, every error with its status.
# Uploads change state: without n2's API token they are refused (401).
[[ $(curl -s -o "$work/body" -w '%{http_code}' -X POST "http://$api2/api/sets/seed/files/0" \
  -d '{"content": "0x66696c6531", "setCount": 2}') == 401 ]] || fail "POST without the token must be 401"
grep -q 'Authorization: Bearer TOKEN' "$work/body" || fail "401 answer: $(cat "$work/body")"
token1=$(cat "$work/n1-data/api.token") token2=$(cat "$work/n2-data/api.token")
token3=$(cat "$work/n3-data/api.token")
# status CURL_ARGS...: the HTTP status, with the token of the node the URL names.
status() {
  local t=$token2 a
  for a in "$@"; do
    [[ $a == "http://$api1/"* ]] && t=$token1
    [[ $a == "http://$api3/"* ]] && t=$token3
  done
  curl -s -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $t" "$@"
}
[[ $(status -X POST "http://$api2/api/sets/seed/files/0" -d '{"content": "0x66696c6531", "setCount": 2}') == 200 ]] ||
  fail "POST index 0: $(cat "$work/body")"
grep -q '"success":true' "$work/body" || fail "POST answer: $(cat "$work/body")"
[[ $(status -X POST "http://$api2/api/sets/seed/files/0" -d '{"content": "0x66696c6531", "setCount": 2}') == 200 ]] ||
  fail "re-POST of the same file must be idempotent"
[[ $(status -X POST "http://$api2/api/sets/seed/files/0" -d '{"content": "0x6666", "setCount": 2}') == 409 ]] ||
  fail "a different file at an existing index must be 409"
[[ $(status -X POST "http://$api2/api/sets/seed/files/2" -d '{"content": "0x66", "setCount": 2}') == 400 ]] ||
  fail "index out of range must be 400"
[[ $(status -X POST "http://$api2/api/sets/seed/files/1" -d '{"content": "0xzz", "setCount": 2}') == 400 ]] ||
  fail "bad hex must be 400"
[[ $(status -X POST "http://$api2/api/sets/seed/files/1" -d 'not json') == 400 ]] || fail "bad JSON must be 400"
grep -q '"error"' "$work/body" || fail "errors carry {\"error\": ...}"
head -c 40000000 /dev/zero >"$work/huge"
[[ $(status -X PUT "http://$api2/api/sets/seed/raw/1?setCount=2" --data-binary "@$work/huge") == 413 ]] ||
  fail "an oversized body must be 413"
[[ $(status -X POST "http://$api2/api/sets/seed/files/1" -d '{"content": "0x66696c6532", "setCount": 2}') == 200 ]] ||
  fail "POST index 1"
wait_complete "$api1" seed 2
[[ $(status "http://$api1/api/sets/seed/files/0") == 200 ]] || fail "GET index 0 (the Go original refused it)"
python3 - "$work/body" <<'PY' || fail "GET answer shape: $(cat "$work/body")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["file"] == "0x66696c6531", j
assert j["proof"]["index"] == 0 and len(j["proof"]["proof"]) == 1 and j["proof"]["proof"][0].startswith("0x")
assert j["treeSize"] == 2 and j["root"].startswith("0x") and len(j["root"]) == 66
PY
[[ $(status "http://$api1/api/sets/nope/files/0") == 404 ]] || fail "unknown set must be 404"

# A failed verification is an error and writes nothing: ask for index 1 but
# record the set with another size in a copy of the client's database.
cp "$db" "$work/tampered.db"
python3 - "$work/tampered.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE sets SET size = 6 WHERE set_id = 'photos'"); c.commit()
PY
if "$bin" set get --node "http://$api2" --set photos --index 1 --out "$work/never" --db "$work/tampered.db" \
  2>"$work/verify.err" >/dev/null; then
  fail "a download that does not match the stored size was accepted"
fi
grep -q "verification failed" "$work/verify.err" || fail "no verification message: $(cat "$work/verify.err")"
[[ ! -e "$work/never" && ! -e "$work/never.part" ]] || fail "a file that failed verification was written"

# A fourth node started now back-syncs the set from its peer.
start_node n4 "[\"$n2\"]"
api4=$api_addr
wait_complete "$api4" photos 5
for i in 0 3; do
  "$bin" set get --node "http://$api4" --set photos --index "$i" --out "$work/got" --db "$db" >/dev/null ||
    fail "set get index $i from the late node"
  cmp -s "$work/got" "$work/folder/${files[$i]}" || fail "late node index $i differs"
  rm -f "$work/got"
done
grep -q '"via":"sync"' "$work/n4.out" || fail "the late node did not back-sync"

# Throughput through the REST API for 1 MiB files (8 files, one connection each).
n=8
for i in $(seq 0 $((n - 1))); do
  head -c 1048576 /dev/urandom >"$work/m$i"
  { printf '{"setCount": %d, "content": "0x' "$n"; od -An -v -tx1 "$work/m$i" | tr -d ' \n'; printf '"}'; } >"$work/m$i.json"
done
rate() { python3 -c "import sys; print('%.1f' % ($1 * 1.0 / ($2 / 1e9)))"; }
t0=$(now_ns)
for i in $(seq 0 $((n - 1))); do
  [[ $(status -X POST "http://$api1/api/sets/tput-json/files/$i" --data-binary "@$work/m$i.json") == 200 ]] ||
    fail "throughput JSON upload $i: $(cat "$work/body")"
done
t1=$(now_ns)
for i in $(seq 0 $((n - 1))); do
  [[ $(status -X PUT "http://$api1/api/sets/tput-raw/raw/$i?setCount=$n" --data-binary "@$work/m$i" \
    -H 'Content-Type: application/octet-stream') == 200 ]] || fail "throughput raw upload $i"
done
t2=$(now_ns)
wait_complete "$api2" tput-json "$n"
wait_complete "$api2" tput-raw "$n"
t3=$(now_ns)
for i in $(seq 0 $((n - 1))); do
  [[ $(status "http://$api2/api/sets/tput-json/files/$i") == 200 ]] || fail "throughput JSON download $i"
done
t4=$(now_ns)
for i in $(seq 0 $((n - 1))); do
  [[ $(status "http://$api2/api/sets/tput-raw/raw/$i") == 200 ]] || fail "throughput raw download $i"
  cmp -s "$work/body" "$work/m$i" || fail "raw download $i differs"
done
t5=$(now_ns)
echo "REST throughput, $n files of 1 MiB (MiB/s): JSON upload $(rate $n $((t1 - t0))), raw upload $(rate $n $((t2 - t1))), JSON download $(rate $n $((t4 - t3))), raw download $(rate $n $((t5 - t4)))"
echo "live fileset three nodes: 1 passed, 0 failed"
