#!/usr/bin/env bash
# Faults on real sockets: two `peerlab node` processes over TLS, each with a
# "shaping" section naming the same scenario (50 ms base latency each way, the
# provider's upload at 8 Mbit/s). A 2 MiB file must arrive intact and take at
# least its serialisation time (2 MiB at 1 MB/s > 2 s: a lower bound, never
# flaky); both nodes count held frames. Then the errors: a node that is not
# peers[node], and a scenario file that does not exist, exit 2 naming why.
# Usage: live_shaping.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init shaping "${1:?repo root}" "${2:?peerlab binary}"
live_tail_lines=20

head -c 2097152 /dev/urandom >"$work/source.bin"
hash=$(sha256sum "$work/source.bin" | cut -d' ' -f1)
port=$(free_port)

cat >"$work/net.json" <<EOF
{
  "name": "live shaping",
  "seed": 3,
  "duration": "1h",
  "groups": [
    {"name": "providers", "count": 1, "roles": ["provider"], "bandwidth": {"up": "8Mbit/s"}},
    {"name": "downloaders", "count": 1, "roles": ["downloader"]}
  ],
  "network": {"latency": {"model": "constant", "value": "50ms", "jitter": "0us"}, "overhead": 0}
}
EOF

provider_config() { # $1 = shaping section (or empty)
  cat <<EOF
{
  "name": "shaped-provider",
  "listen": "127.0.0.1:$port",
  "data_dir": "provider-data",
  "roles": ["provider"],
  "provide": ["source.bin"],
  "run_for": "90s"$1
}
EOF
}
downloader_config() {
  cat <<EOF
{
  "name": "shaped-downloader",
  "listen": "127.0.0.1:0",
  "data_dir": "downloader-data",
  "roles": [{"role": "downloader", "chunk_size": "256KiB", "window": "1MiB",
             "request_timeout": "20s"}],
  "downloads": [{"hash": "$hash", "providers": ["127.0.0.1:$port"]}],
  "exit_when_done": true,
  "run_for": "60s"$1
}
EOF
}
# The peer ids (TLS keys made here) before the shaping sections can name them.
provider_config "" >"$work/provider.json"
downloader_config "" >"$work/downloader.json"
pid_p=$("$bin" id --config "$work/provider.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["peer_id"])')
pid_d=$("$bin" id --config "$work/downloader.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["peer_id"])')
start=$(($(date +%s%N) / 1000))
shaping() { # $1 = node index, $2 = scenario file
  printf ',\n  "shaping": {"scenario": "%s", "node": %s, "peers": ["%s", "%s"], "start_unix_us": %s}' \
    "$2" "$1" "$pid_p" "$pid_d" "$start"
}
provider_config "$(shaping 0 net.json)" >"$work/provider.json"
downloader_config "$(shaping 1 net.json)" >"$work/downloader.json"

"$bin" node --config "$work/provider.json" >"$work/provider.out" 2>"$work/provider.err" &
pids+=($!)
for _ in $(seq 1 200); do
  [[ -n "$(event_field "$work/provider.out" listening address)" ]] && break
  sleep 0.05
done
[[ -n "$(event_field "$work/provider.out" listening address)" ]] || fail "the provider did not start"

t0=$(date +%s%N)
rc=0
timeout 90 "$bin" node --config "$work/downloader.json" >"$work/downloader.out" \
  2>"$work/downloader.err" || rc=$?
t1=$(date +%s%N)
[[ $rc -eq 0 ]] || fail "the shaped downloader exited with $rc (expected 0)"
cmp "$work/source.bin" "$work/downloader-data/downloads/source.bin" ||
  fail "the downloaded file differs from the source"
ms=$(((t1 - t0) / 1000000))
((ms >= 2000)) || fail "2 MiB at 8 Mbit/s arrived in $ms ms (at least 2097 ms expected)"
held=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j.get("event") == "stopped":
        print(int(j["counters"].get("net.shaped_delayed", 0)))
' "$work/downloader.out")
((held > 0)) || fail "the downloader held no frame back (net.shaped_delayed = $held)"

# Errors exit 2 before anything starts, naming the cause.
downloader_config "$(shaping 0 net.json)" >"$work/wrong.json"
rc=0
"$bin" node --config "$work/wrong.json" >"$work/wrong.out" 2>"$work/wrong.err" || rc=$?
[[ $rc -eq 2 ]] || fail "a node that is not peers[node] exited with $rc (expected 2)"
grep -q "shaping.peers\[0\] is peer $pid_p but this node is peer $pid_d" "$work/wrong.err" ||
  fail "no error naming shaping.peers[0]"
downloader_config "$(shaping 1 no-such-scenario.json)" >"$work/missing.json"
rc=0
"$bin" node --config "$work/missing.json" >"$work/missing.out" 2>"$work/missing.err" || rc=$?
[[ $rc -eq 2 ]] || fail "a missing scenario file exited with $rc (expected 2)"
grep -q "shaping.scenario: .*no-such-scenario.json: cannot open the file" "$work/missing.err" ||
  fail "no error naming the scenario file"
# A scenario that does not parse: the error names the file and the JSON path.
echo '{"name": "x", "duration": "1m", "groups": [], "network": {"colour": 1}}' >"$work/bad.json"
downloader_config "$(shaping 1 bad.json)" >"$work/bad-config.json"
rc=0
"$bin" node --config "$work/bad-config.json" >"$work/bad.out" 2>"$work/bad.err" || rc=$?
[[ $rc -eq 2 ]] || fail "a bad scenario file exited with $rc (expected 2)"
grep -q "shaping.scenario: .*bad.json: " "$work/bad.err" || fail "no error naming the bad scenario"

echo "live_shaping: OK (2 MiB over TLS with 50 ms latency and 8 Mbit/s up in $ms ms, $held frames held by the downloader)"
