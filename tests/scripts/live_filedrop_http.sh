#!/usr/bin/env bash
# HTTP over a file-drop channel, live: curl -> gateway a -> folder ->
# `peerlab mirror` (75 % of files truncated at a random byte, late) -> folder
# -> gateway b -> a local python3 http.server -> and back. A 100 MiB response
# body must arrive intact (sha256sum), a missing file must give 404, and with
# gateway b stopped a request must get a 504 from gateway a.
# Usage: live_filedrop_http.sh REPO_ROOT PEERLAB_BINARY [SIZE_BYTES]
# Prints the transfer time and MB/s of the 100 MiB body. Binds 127.0.0.1 only.
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init filedrop "${1:?repo root}" "${2:?peerlab binary}"
size=${3:-104857600}
command -v curl >/dev/null || { echo "SKIP: curl is not installed" >&2; exit 0; }
live_tail_lines=5


# The upstream: python's http.server on 127.0.0.1 serving a generated file.
mkdir -p "$work/www"
{ openssl enc -aes-128-ctr -nosalt -pass pass:peerlab-filedrop -pbkdf2 </dev/zero 2>/dev/null || true; } |
  head -c "$size" >"$work/www/big.bin"
[[ $(stat -c %s "$work/www/big.bin") -eq $size ]] || fail "could not create the upstream file"
want=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
up_port=$(free_port)
python3 -m http.server "$up_port" --bind 127.0.0.1 --directory "$work/www" >"$work/upstream.out" 2>"$work/upstream.err" &
pids+=("$!")

# Folders: a writes a_out, the mirror copies it to b_in; b writes b_out -> a_in.
mkdir -p "$work/a_out" "$work/a_in" "$work/b_out" "$work/b_in"
key="live filedrop test shared key 01"
common='"poll_interval": "5ms", "metrics_interval": "2s", "min_packet": "4MiB", "initial_packet": "8MiB",
  "max_packet": "32MiB", "fragment": "256KiB", "max_body": "128MiB", "max_ack_delay": "20ms", "initial_rtt": "300ms"'
cat >"$work/a.json" <<EOF
{"side": "a", "name": "drop-a", "peer": "drop-b", "key": "$key", "out_dir": "a_out", "in_dir": "a_in",
 "state_db": "a.db", "listen": "127.0.0.1:0", "request_timeout": "240s", $common}
EOF
cat >"$work/b.json" <<EOF
{"side": "b", "name": "drop-b", "peer": "drop-a", "key": "$key", "out_dir": "b_out", "in_dir": "b_in",
 "state_db": "b.db", "upstream": "http://127.0.0.1:$up_port", "upstream_timeout": "60s", $common}
EOF

"$bin" mirror "$work/a_out" "$work/b_in" --truncate 0.75 --corrupt 1e-9 --delay 50ms --seed 1 \
  >"$work/mirror_ab.out" 2>"$work/mirror_ab.err" &
pids+=("$!")
"$bin" mirror "$work/b_out" "$work/a_in" --truncate 0.75 --corrupt 1e-9 --delay 50ms --seed 2 \
  >"$work/mirror_ba.out" 2>"$work/mirror_ba.err" &
pids+=("$!")
"$bin" drop-gateway --config "$work/b.json" >"$work/b.out" 2>"$work/b.err" &
b_pid=$!
pids+=("$b_pid")
"$bin" drop-gateway --config "$work/a.json" >"$work/a.out" 2>"$work/a.err" &
pids+=("$!")

port=""
for _ in $(seq 1 200); do
  port=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("event") == "drop_gateway_listening":
        print(j["port"]); break' "$work/a.out" 2>/dev/null || true)
  [[ -n "$port" ]] && break
  sleep 0.05
done
[[ -n "$port" ]] || fail "gateway a did not start listening"
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$up_port/" && break
  sleep 0.05
done

# 1. The 100 MiB body, through the truncating mirror, intact.
start=$(date +%s.%N)
status=$(curl -s --max-time 300 -o "$work/got.bin" -w '%{http_code}' "http://127.0.0.1:$port/big.bin") ||
  fail "curl of big.bin failed (status $status)"
end=$(date +%s.%N)
[[ "$status" == 200 ]] || fail "big.bin: status $status"
got=$(sha256sum "$work/got.bin" | cut -d' ' -f1)
[[ "$got" == "$want" ]] || fail "big.bin arrived with sha256 $got, expected $want"
secs=$(python3 -c "print(f'{$end - $start:.2f}')")
rate=$(python3 -c "print(f'{$size / 1e6 / ($end - $start):.1f}')")
echo "ok: $size bytes intact through the 75 %-truncating mirror in $secs s ($rate MB/s)"

# 2. A missing file: the upstream's 404 comes back as it is. The time is not
# the point here: with 75 % of files truncated, a small request's round trip
# has a long tail (retransmission back-off), so curl waits up to gateway a's
# own 240 s deadline rather than 60 s.
t0=$(date +%s.%N)
status=$(curl -s --max-time 250 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/missing.bin") || true
[[ "$status" == 404 ]] || fail "missing.bin: status $status, expected 404"
echo "ok: upstream 404 carried back in $(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 2))") s"

# 3. Gateway b stopped: gateway a answers 504 once its request timeout passes.
kill "$b_pid"
wait "$b_pid" 2>/dev/null || true
# A fresh side a with a short request timeout, on folders nobody answers from.
cat >"$work/c.json" <<EOF
{"side": "a", "name": "drop-a2", "peer": "drop-b", "key": "$key", "out_dir": "c_out", "in_dir": "c_in",
 "listen": "127.0.0.1:0", "request_timeout": "2s", $common}
EOF
"$bin" drop-gateway --config "$work/c.json" \
  >"$work/c.out" 2>"$work/c.err" &
pids+=("$!")
cport=""
for _ in $(seq 1 200); do
  cport=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("event") == "drop_gateway_listening":
        print(j["port"]); break' "$work/c.out" 2>/dev/null || true)
  [[ -n "$cport" ]] && break
  sleep 0.05
done
[[ -n "$cport" ]] || fail "the second gateway a did not start listening"
status=$(curl -s --max-time 30 -o "$work/504.txt" -w '%{http_code}' "http://127.0.0.1:$cport/big.bin") || true
[[ "$status" == 504 ]] || fail "with no side b: status $status, expected 504"
echo "ok: 504 when no answer comes back ($(head -c 80 "$work/504.txt"))"

grep -h '"drop_gateway_metrics"' "$work/a.out" | tail -n 1 | cut -c1-800
echo "PASS"
