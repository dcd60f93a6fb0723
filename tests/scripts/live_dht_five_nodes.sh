#!/usr/bin/env bash
# Five live `peerlab node` processes on 127.0.0.1 form a Kademlia DHT: node A
# is the bootstrap node, B, C and D join through it and B announces a file
# (provider record, key = SHA-256 of the file); E joins last, finds B through
# the DHT (find_providers, no provider address in its config) and downloads
# the file, which must be byte-identical (cmp).
# Usage: live_dht_five_nodes.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init dht "${1:?repo root}" "${2:?peerlab binary}"
live_tail_lines=20

# The first value of `field` in a JSON line of file $1 whose "event" is $2
# (and whose fields.key, if $4 is given, equals $4). Prints nothing if none.
json_field() {
  python3 - "$@" <<'PY' 2>/dev/null || true
import json, sys
path, event, field = sys.argv[1], sys.argv[2], sys.argv[3]
key = sys.argv[4] if len(sys.argv) > 4 else None
for line in open(path):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("event") != event:
        continue
    if key is not None and j.get("fields", {}).get("key") != key:
        continue
    v = j
    for part in field.split("."):
        v = v.get(part, {}) if isinstance(v, dict) else {}
    print(v)
    break
PY
}

# Waits up to $3 tenths of a second for event $2 in $1.out; prints field $4.
wait_for() { # name event tenths field [key]
  local v=""
  for _ in $(seq 1 "$3"); do
    v=$(json_field "$work/$1.out" "$2" "$4" ${5:+"$5"})
    [[ -n "$v" && "$v" != "{}" ]] && { echo "$v"; return 0; }
    sleep 0.1
  done
  return 1
}

start_node() { # name json
  echo "$2" >"$work/$1.json"
  "$bin" node --config "$work/$1.json" >"$work/$1.out" 2>"$work/$1.err" &
  pids+=("$!")
}

# 3 MiB + 5 bytes of deterministic pseudo-random data.
{ openssl enc -aes-128-ctr -nosalt -pass pass:peerlab-dht-test -pbkdf2 </dev/zero 2>/dev/null ||
  true; } | head -c 3145733 >"$work/shared.bin"
[[ $(stat -c %s "$work/shared.bin") -eq 3145733 ]] || fail "could not create the source file"
hash=$(sha256sum "$work/shared.bin" | cut -d' ' -f1)

# A: the bootstrap node.
start_node a '{"name": "dht-a", "listen": "127.0.0.1:0", "data_dir": "a-data", "roles": ["kad"]}'
boot=$(wait_for a listening 100 address) || fail "node A did not report its listen address"
[[ "$boot" == 127.0.0.1:* ]] || fail "node A listens on $boot, not on 127.0.0.1"

# B: holds the file and announces it in the DHT. C, D: plain DHT nodes.
start_node b "{\"name\": \"dht-b\", \"listen\": \"127.0.0.1:0\", \"data_dir\": \"b-data\",
  \"roles\": [\"kad\", \"provider\"], \"provide\": [\"shared.bin\"],
  \"kad_bootstrap\": [\"$boot\"], \"dht_provide\": true}"
for n in c d; do
  start_node $n "{\"name\": \"dht-$n\", \"listen\": \"127.0.0.1:0\", \"data_dir\": \"$n-data\",
    \"roles\": [\"kad\"], \"kad_bootstrap\": [\"$boot\"]}"
done
for n in b c d; do
  wait_for $n bootstrap_done 150 values.count >/dev/null || fail "node $n did not join the DHT"
done
acks=$(wait_for b put_done 150 values.acks "$hash") || fail "node B did not store its provider record"
[[ "$acks" -ge 1 ]] || fail "node B's provider record has no ack"
b_id=$(json_field "$work/b.out" listening peer_id)

# E: joins through A and downloads the file by its hash alone.
cat >"$work/e.json" <<EOF
{
  "name": "dht-e",
  "listen": "127.0.0.1:0",
  "data_dir": "e-data",
  "roles": ["kad", {"role": "downloader", "request_timeout": "5s"}],
  "kad_bootstrap": ["$boot"],
  "downloads": [{"hash": "$hash"}],
  "exit_when_done": true,
  "run_for": "60s"
}
EOF
rc=0
timeout 90 "$bin" node --config "$work/e.json" >"$work/e.out" 2>"$work/e.err" || rc=$?
[[ $rc -eq 0 ]] || fail "node E exited with $rc (expected 0)"
found=$(json_field "$work/e.out" providers_found fields.providers)
[[ ",$found," == *",$b_id,"* ]] || fail "node E's DHT lookup found providers '$found', not B ($b_id)"
grep -q '"event":"download_done"' "$work/e.out" || fail "no download_done event on node E"
cmp "$work/shared.bin" "$work/e-data/downloads/shared.bin" || fail "the downloaded file differs"

echo "live_dht_five_nodes: OK (E found B=$b_id through the DHT bootstrapped at $boot, $(stat -c %s "$work/shared.bin") bytes, sha256 $hash, $acks acks)"
