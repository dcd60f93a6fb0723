#!/usr/bin/env bash
# Two live `peerlab node` processes on 127.0.0.1 transfer a real file from
# disk to disk by its SHA-256; the copy must be byte-identical (cmp). Then a
# download of a hash nobody provides must fail with exit code 1.
# Usage: live_two_nodes.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init live "${1:?repo root}" "${2:?peerlab binary}"
live_tail_lines=20

# 8 MiB + 3 bytes of deterministic pseudo-random data (AES-CTR keystream).
# (openssl stops on SIGPIPE when head has enough: not an error, the size is checked.)
{ openssl enc -aes-128-ctr -nosalt -pass pass:peerlab-live-test -pbkdf2 </dev/zero 2>/dev/null ||
  true; } | head -c 8388611 >"$work/source.bin"
[[ $(stat -c %s "$work/source.bin") -eq 8388611 ]] || fail "could not create the source file"
hash=$(sha256sum "$work/source.bin" | cut -d' ' -f1)

cat >"$work/provider.json" <<EOF
{
  "name": "live-test-provider",
  "listen": "127.0.0.1:0",
  "data_dir": "provider-data",
  "roles": ["provider"],
  "provide": ["source.bin"]
}
EOF
"$bin" node --config "$work/provider.json" >"$work/provider.out" 2>"$work/provider.err" &
provider_pid=$!
pids+=("$provider_pid")

# The provider prints {"event":"listening","address":"127.0.0.1:PORT",...} once bound.
address=""
for _ in $(seq 1 200); do
  address=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("event") == "listening":
        print(j["address"])
        break
' "$work/provider.out" 2>/dev/null || true)
  [[ -n "$address" ]] && break
  kill -0 "$provider_pid" 2>/dev/null || fail "the provider exited early"
  sleep 0.05
done
[[ -n "$address" ]] || fail "the provider did not report its listen address"
[[ "$address" == 127.0.0.1:* ]] || fail "the provider listens on $address, not on 127.0.0.1"
grep -q "\"hash\":\"$hash\"" "$work/provider.out" || fail "the provider did not announce $hash"

downloader_config() { # $1 = name, $2 = hash
  cat <<EOF
{
  "name": "$1",
  "listen": "127.0.0.1:0",
  "data_dir": "$1-data",
  "roles": [{"role": "downloader", "chunk_size": "1MiB", "window": "4MiB",
             "request_timeout": "5s"}],
  "downloads": [{"hash": "$2", "providers": ["$address"]}],
  "exit_when_done": true,
  "run_for": "60s"
}
EOF
}

downloader_config live-test-downloader "$hash" >"$work/downloader.json"
rc=0
timeout 90 "$bin" node --config "$work/downloader.json" >"$work/downloader.out" \
  2>"$work/downloader.err" || rc=$?
[[ $rc -eq 0 ]] || fail "the downloader exited with $rc (expected 0)"
grep -q '"event":"download_done"' "$work/downloader.out" || fail "no download_done event"
cmp "$work/source.bin" "$work/live-test-downloader-data/downloads/source.bin" ||
  fail "the downloaded file differs from the source"
[[ -z "$(ls -A "$work/live-test-downloader-data/downloads/.partial")" ]] ||
  fail "a partial file was left behind"

# A hash nobody provides: the download fails and the node exits with 1.
missing=$(printf 'not provided' | sha256sum | cut -d' ' -f1)
downloader_config live-test-missing "$missing" >"$work/missing.json"
rc=0
timeout 90 "$bin" node --config "$work/missing.json" >"$work/missing.out" 2>"$work/missing.err" ||
  rc=$?
[[ $rc -eq 1 ]] || fail "a failed download exited with $rc (expected 1)"
grep -q '"event":"download_failed"' "$work/missing.out" || fail "no download_failed event"

# SIGTERM stops the provider gracefully: exit 0 and a final "stopped" line.
kill -TERM "$provider_pid"
rc=0
for _ in $(seq 1 200); do
  kill -0 "$provider_pid" 2>/dev/null || break
  sleep 0.05
done
kill -0 "$provider_pid" 2>/dev/null && fail "the provider did not stop within 10 s of SIGTERM"
wait "$provider_pid" || rc=$?
pids=()
[[ $rc -eq 0 ]] || fail "the provider exited with $rc after SIGTERM (expected 0)"
grep -q '"event":"stopped"' "$work/provider.out" || fail "the provider printed no stopped line"

echo "live_two_nodes: OK ($(stat -c %s "$work/source.bin") bytes, sha256 $hash via $address)"
