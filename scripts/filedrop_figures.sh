#!/usr/bin/env bash
# Figures of HTTP over the file-drop channel, live (docs/live.md, "File-drop
# gateways"): curl -> drop-gateway a -> `peerlab mirror` (truncating, late) ->
# drop-gateway b -> python3's http.server, and back.
#   1. N sequential small GETs (a 31-byte page): p50 and max latency;
#   2. one response of SIZE bytes: time and MB/s (sha256 checked).
# Usage: filedrop_figures.sh REPO_ROOT PEERLAB_BINARY [GETS [SIZE_BYTES [TRUNCATE [DELAY [CODING]]]]]
# Defaults: 100 GETs, 100 MiB, --truncate 0.75, --delay 50ms, CODING off (the
# recorded figures); CODING "on" sets the gateways' "erasure_coding": true.
# Prints one JSON line {"event":"filedrop_figures",...} last. Binds 127.0.0.1 only;
# every process it starts is stopped on exit (tests/scripts/lib/live_common.sh).
set -euo pipefail

source "$(dirname "$0")/../tests/scripts/lib/live_common.sh"
live_init filedrop-figures "${1:?repo root}" "${2:?peerlab binary}"
gets=${3:-100}
size=${4:-104857600}
truncate=${5:-0.75}
delay=${6:-50ms}
coding=${7:-off}
[[ $coding == on || $coding == off ]] || { echo "CODING must be on or off" >&2; exit 2; }
need curl
need python3
live_tail_lines=8

mkdir -p "$work/www"
printf 'peerlab file-drop page, 31 B.\n' >"$work/www/page.html" # 31 bytes
{ openssl enc -aes-128-ctr -nosalt -pass pass:peerlab-figures -pbkdf2 </dev/zero 2>/dev/null || true; } |
  head -c "$size" >"$work/www/big.bin"
[[ $(stat -c %s "$work/www/big.bin") -eq $size ]] || fail "could not create the upstream file"
want=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
up_port=$(free_port)
python3 -m http.server "$up_port" --bind 127.0.0.1 --directory "$work/www" \
  >"$work/upstream.out" 2>"$work/upstream.err" &
pids+=("$!")

# Started in the order docs/live.md gives (mirrors first): the folders do not
# exist yet, the mirrors and gateways create them.
key="file-drop figures shared key 0001"
common='"metrics_interval": "10s", "min_packet": "4MiB", "initial_packet": "8MiB",
  "max_packet": "32MiB", "fragment": "256KiB", "max_body": "128MiB", "max_ack_delay": "20ms",
  "initial_rtt": "300ms"'
[[ $coding == on ]] && common="$common, \"erasure_coding\": true"
cat >"$work/a.json" <<JSON
{"side": "a", "name": "drop-a", "peer": "drop-b", "key": "$key", "out_dir": "a_out", "in_dir": "a_in",
 "state_db": "a.db", "listen": "127.0.0.1:0", "request_timeout": "240s", $common}
JSON
cat >"$work/b.json" <<JSON
{"side": "b", "name": "drop-b", "peer": "drop-a", "key": "$key", "out_dir": "b_out", "in_dir": "b_in",
 "state_db": "b.db", "upstream": "http://127.0.0.1:$up_port", "upstream_timeout": "60s", $common}
JSON
"$bin" mirror "$work/a_out" "$work/b_in" --truncate "$truncate" --delay "$delay" --seed 1 \
  >"$work/mirror_ab.out" 2>"$work/mirror_ab.err" &
pids+=("$!")
"$bin" mirror "$work/b_out" "$work/a_in" --truncate "$truncate" --delay "$delay" --seed 2 \
  >"$work/mirror_ba.out" 2>"$work/mirror_ba.err" &
pids+=("$!")
"$bin" drop-gateway --config "$work/b.json" >"$work/b.out" 2>"$work/b.err" &
pids+=("$!")
"$bin" drop-gateway --config "$work/a.json" >"$work/a.out" 2>"$work/a.err" &
pids+=("$!")

port=""
for _ in $(seq 1 200); do
  port=$(event_field "$work/a.out" drop_gateway_listening port)
  [[ -n "$port" ]] && break
  sleep 0.05
done
[[ -n "$port" ]] || fail "gateway a did not start listening"
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$up_port/page.html" && break
  sleep 0.05
done

# 1. Small GETs, one after the other.
: >"$work/latencies"
for i in $(seq 1 "$gets"); do
  out=$(curl -s --max-time 250 -o "$work/page.got" -w '%{http_code} %{time_total}' \
    "http://127.0.0.1:$port/page.html") || fail "GET $i failed ($out)"
  [[ "${out%% *}" == 200 ]] || fail "GET $i: status ${out%% *}"
  cmp -s "$work/page.got" "$work/www/page.html" || fail "GET $i: the page arrived changed"
  echo "${out#* }" >>"$work/latencies"
done

# 2. One large response.
start=$(date +%s.%N)
status=$(curl -s --max-time 600 -o "$work/got.bin" -w '%{http_code}' "http://127.0.0.1:$port/big.bin") ||
  fail "curl of big.bin failed (status $status)"
end=$(date +%s.%N)
[[ "$status" == 200 ]] || fail "big.bin: status $status"
[[ $(sha256sum "$work/got.bin" | cut -d' ' -f1) == "$want" ]] || fail "big.bin arrived changed"

python3 - "$work/latencies" "$start" "$end" "$size" "$gets" "$truncate" "$delay" "$coding" <<'PY'
import json, statistics, sys
lat = sorted(float(x) * 1000 for x in open(sys.argv[1]) if x.strip())
start, end, size = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
secs = end - start
fig = {"event": "filedrop_figures", "gets": int(sys.argv[5]), "truncate": float(sys.argv[6]),
       "delay": sys.argv[7], "coding": sys.argv[8], "get_p50_ms": round(statistics.median(lat), 1),
       "get_p90_ms": round(lat[int(0.9 * (len(lat) - 1))], 1), "get_max_ms": round(lat[-1], 1),
       "large_bytes": size, "large_s": round(secs, 2), "large_MB_per_s": round(size / 1e6 / secs, 2)}
print(f"{fig['gets']} GETs: p50 {fig['get_p50_ms']} ms, p90 {fig['get_p90_ms']} ms, "
      f"max {fig['get_max_ms']} ms; {size} bytes in {fig['large_s']} s ({fig['large_MB_per_s']} MB/s)")
print(json.dumps(fig))
PY
