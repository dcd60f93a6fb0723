#!/usr/bin/env bash
# The paid file market driven with curl through the local HTTP API of three
# live `peerlab node` processes on 127.0.0.1: a ledger, a provider and a
# downloader. provide -> lookup -> download to a path -> the provider's
# verifier recognises the payment (polled, bounded) -> balances moved by the
# price. Then every malformed request gets its JSON error and changes
# nothing (the lists of every node and the files on disk are compared).
# Usage: live_market_api.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init market-api "${1:?repo root}" "${2:?peerlab binary}"
deadline=$((SECONDS + 150)) # the whole script
need curl
live_fail_extra() {
  [[ -s "$work/resp.json" ]] && { echo "--- last answer" >&2; cat "$work/resp.json" >&2; echo >&2; }
  return 0
}

# jget FILE PYTHON_EXPR: evaluates the expression on the JSON in FILE (as j).
jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# call METHOD URL [BODY]: prints the HTTP status; the answer goes to $work/resp.json.
# token_for URL: the API token of the node whose API the URL names.
token_for() {
  local n av tv
  for n in ledger provider downloader; do
    av="api_$n" tv="token_$n"
    [[ -n "${!av-}" && $1 == "http://${!av}/"* ]] && echo "${!tv}" && return
  done
}

call() {
  local method=$1 url=$2 body=${3-}
  local args=(-sS -o "$work/resp.json" -w '%{http_code}' --max-time 15 -X "$method")
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  args+=(-H "Authorization: Bearer $(token_for "$url")")
  curl "${args[@]}" "$url" || echo "000"
}

# expect STATUS WORDS METHOD URL [BODY]: a refused request with a JSON error.
expect() {
  local want=$1 words=$2
  shift 2
  local got
  got=$(call "$@")
  [[ "$got" == "$want" ]] || fail "$1 $2 ${3-}: HTTP $got, expected $want"
  [[ $(jget "$work/resp.json" 'j["status"]') == "$want" ]] || fail "$1 $2: no \"status\": $want in the answer"
  jget "$work/resp.json" 'j["error"]' | grep -qF -- "$words" || fail "$1 $2: the error does not say \"$words\""
}

# poll SECONDS COMMAND...: retries the command every 0.2 s until it succeeds.
poll() {
  local limit=$((SECONDS + $1))
  shift
  while ! "$@"; do
    ((SECONDS < limit && SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# start NAME: runs $work/NAME.json; sets addr_NAME, api_NAME, id_NAME.
start() {
  local name=$1
  "$bin" node --config "$work/$name.json" >"$work/$name.out" 2>"$work/$name.err" &
  local pid=$!
  pids+=("$pid")
  local line=""
  for _ in $(seq 1 200); do
    if grep -q '"event":"api_listening"' "$work/$name.out" 2>/dev/null; then
      line=yes
      break
    fi
    kill -0 "$pid" 2>/dev/null || fail "$name exited early"
    sleep 0.05
  done
  [[ -n "$line" ]] || fail "$name did not report its API address"
  python3 - "$work/$name.out" "$name" >"$work/$name.env" <<'EOF'
import json, sys
vals = {}
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("event") == "listening":
        vals["addr"], vals["id"] = j["address"], j["peer_id"]
    if j.get("event") == "api_listening":
        vals["api"] = j["address"]
        vals["token"] = open(j["token_file"]).read().strip()
for k, v in vals.items():
    print(f"{k}_{sys.argv[2]}={v}")
EOF
  source "$work/$name.env"
  local api_var="api_$name"
  [[ "${!api_var}" == 127.0.0.1:* ]] || fail "$name serves its API on ${!api_var}, not on 127.0.0.1"
  eval "pid_$name=$pid"
}

# 3 MiB + 5 bytes of deterministic pseudo-random data.
mkdir -p "$work/provider-shared" "$work/downloader-dl/films"
{ openssl enc -aes-128-ctr -nosalt -pass pass:peerlab-market-api -pbkdf2 </dev/zero 2>/dev/null ||
  true; } | head -c 3145733 >"$work/provider-shared/movie.bin"
[[ $(stat -c %s "$work/provider-shared/movie.bin") -eq 3145733 ]] || fail "could not create the source file"
hash=$(sha256sum "$work/provider-shared/movie.bin" | cut -d' ' -f1)
echo "a secret outside the shared folder" >"$work/secret.txt"
ln -s "$work/secret.txt" "$work/provider-shared/escape.txt"
price=1234
fee=1 # the payer's default

cat >"$work/ledger.json" <<EOF
{"name": "mkt-ledger", "listen": "127.0.0.1:0", "data_dir": "ledger-data",
 "roles": [{"role": "ledger", "block_interval": "200ms", "confirmations": 1}],
 "api": {"listen": "127.0.0.1:0"}}
EOF
start ledger

cat >"$work/provider.json" <<EOF
{"name": "mkt-provider", "listen": "127.0.0.1:0", "data_dir": "provider-data",
 "roles": [{"role": "provider", "chunk_size": "256KiB", "payment": {"policy": "pay_after"}},
           {"role": "payment_verifier", "ledger": $id_ledger, "ledger_address": "$addr_ledger",
            "poll_interval": "200ms"}],
 "api": {"listen": "127.0.0.1:0", "provide_dirs": ["provider-shared"], "max_price": 1000000,
         "ledger": $id_ledger, "ledger_address": "$addr_ledger"}}
EOF
start provider

cat >"$work/downloader.json" <<EOF
{"name": "mkt-downloader", "listen": "127.0.0.1:0", "data_dir": "downloader-data",
 "peers": ["$addr_provider"],
 "roles": [{"role": "downloader", "chunk_size": "256KiB", "window": "1MiB", "initial_timeout": "3s",
            "min_timeout": "2s", "request_timeout": "10s"},
           {"role": "payer", "ledger": $id_ledger, "ledger_address": "$addr_ledger", "resend_interval": "500ms"}],
 "api": {"listen": "127.0.0.1:0", "download_dir": "downloader-dl", "lookup_timeout": "1s",
         "ledger": $id_ledger, "ledger_address": "$addr_ledger"}}
EOF
start downloader

L="http://$api_ledger" P="http://$api_provider" D="http://$api_downloader"

# --- the paid flow --------------------------------------------------------------
[[ $(call GET "$D/api/health") == 200 ]] || fail "health"
[[ $(jget "$work/resp.json" 'j["peer_id"]') == "$id_downloader" ]] || fail "health: wrong peer id"

[[ $(call POST "$L/api/ledger/fund" "{\"account\": \"$id_downloader\", \"amount\": 100000}") == 200 ]] || fail "fund"
[[ $(jget "$work/resp.json" 'j["account"]') == "$id_downloader" ]] || fail "fund: wrong account"

[[ $(call POST "$P/api/file/provide-file" "{\"file_path\": \"movie.bin\", \"price\": $price}") == 201 ]] ||
  fail "provide-file"
[[ $(jget "$work/resp.json" 'j["hash"]') == "$hash" ]] || fail "provide-file: hash differs from sha256sum"
[[ $(call GET "$P/api/file/get-provided-files") == 200 ]] || fail "get-provided-files"
[[ $(jget "$work/resp.json" '[f["hash"] for f in j["files"]]') == "['$hash']" ]] || fail "the file is not listed"

lookup_ok() { [[ $(call GET "$D/api/file/get-providers/$hash") == 200 ]]; }
poll 20 lookup_ok || fail "get-providers never found the provider"
[[ $(jget "$work/resp.json" '(j["providers"][0]["peer_id"], j["providers"][0]["price"], j["providers"][0]["size"])') == \
   "('$id_provider', $price, 3145733)" ]] || fail "get-providers: wrong metadata"

t_download=$(date +%s.%N)
[[ $(call POST "$D/api/file/download-file" "{\"file_id\": \"$hash\", \"dest_path\": \"films/movie.bin\"}") == 202 ]] ||
  fail "download-file"
download_done() {
  [[ $(call GET "$D/api/file/get-downloaded-files") == 200 ]] &&
    [[ $(jget "$work/resp.json" '[d["status"] for d in j["downloads"] if d["hash"] == "'"$hash"'"]') == "['done']" ]]
}
poll 60 download_done || fail "the download did not finish"
t_done=$(date +%s.%N)
cmp "$work/provider-shared/movie.bin" "$work/downloader-dl/films/movie.bin" || fail "the downloaded file differs"

payment_verified() {
  [[ $(call GET "$P/api/wallet/payments") == 200 ]] &&
    [[ $(jget "$work/resp.json" '[(p["status"], p["amount"]) for p in j["payments"] if p["direction"] == "in"]') == \
       "[('verified', $price)]" ]]
}
poll 60 payment_verified || fail "the provider never recognised the payment"
t_verified=$(date +%s.%N)

balance_is() { # URL EXPECTED
  [[ $(call GET "$1/api/wallet/balance") == 200 ]] && [[ $(jget "$work/resp.json" 'j["balance"]') == "$2" ]]
}
poll 20 balance_is "$P" "$price" || fail "the provider's balance is not $price"
poll 20 balance_is "$D" "$((100000 - price - fee))" || fail "the downloader's balance is not 100000 - $price - $fee"
[[ $(call GET "$D/api/wallet/payments") == 200 ]] || fail "payments of the downloader"
[[ $(jget "$work/resp.json" '[p["amount"] for p in j["payments"] if p["direction"] == "out"]') == "[$price]" ]] ||
  fail "the downloader did not record its payment"

# --- malformed requests change nothing ------------------------------------------
state() { # every list of every node, and the files on disk
  for u in "$P" "$D"; do
    for e in get-provided-files get-downloaded-files; do
      call GET "$u/api/file/$e" >/dev/null
      python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$work/resp.json"
    done
    call GET "$u/api/wallet/payments" >/dev/null
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$work/resp.json"
  done
  (cd "$work" && find provider-shared downloader-dl downloader-data/downloads -type f -printf '%p %s\n' | sort)
}
state >"$work/before.txt"

unknown=$(printf 'nobody has this' | sha256sum | cut -d' ' -f1)
expect 400 "not valid JSON" POST "$P/api/file/provide-file" '{"file_path": '
expect 400 "must be a JSON object" POST "$P/api/file/provide-file" '["movie.bin"]'
expect 400 "unknown field" POST "$P/api/file/provide-file" '{"file_path": "movie.bin", "colour": 1}'
expect 400 "price must not be negative" POST "$P/api/file/provide-file" '{"file_path": "movie.bin", "price": -1}'
expect 400 "whole number" POST "$P/api/file/provide-file" '{"file_path": "movie.bin", "price": 2.5}'
expect 400 "whole number" POST "$P/api/file/provide-file" '{"file_path": "movie.bin", "price": 1e40}'
expect 400 "price must be at most 1000000" POST "$P/api/file/provide-file" \
  '{"file_path": "movie.bin", "price": 18446744073709551615}'
expect 400 "price must be a non-negative integer" POST "$P/api/file/provide-file" '{"file_path": "movie.bin", "price": "5"}'
expect 403 "outside the folders" POST "$P/api/file/provide-file" '{"file_path": "../secret.txt"}'
expect 403 "outside the folders" POST "$P/api/file/provide-file" '{"file_path": "/etc/passwd"}'
expect 403 "leads outside" POST "$P/api/file/provide-file" '{"file_path": "escape.txt"}'
expect 404 "missing.bin" POST "$P/api/file/provide-file" '{"file_path": "missing.bin"}'
expect 404 "does not provide" POST "$P/api/file/stop-providing/$unknown"
expect 400 "64 hex digits" POST "$P/api/file/stop-providing/not-a-hash"
expect 404 "no provider of" GET "$D/api/file/get-providers/$unknown"
expect 400 "64 hex digits" GET "$D/api/file/get-providers/xyz"
expect 404 "no provider of" POST "$D/api/file/download-file" "{\"file_id\": \"$unknown\", \"dest_path\": \"x.bin\"}"
expect 403 "outside the download folder" POST "$D/api/file/download-file" \
  "{\"file_id\": \"$hash\", \"dest_path\": \"../x.bin\"}"
expect 403 "outside the download folder" POST "$D/api/file/download-file" \
  "{\"file_id\": \"$hash\", \"dest_path\": \"/tmp/x.bin\"}"
expect 409 "already exists" POST "$D/api/file/download-file" "{\"file_id\": \"$hash\", \"dest_path\": \"films/movie.bin\"}"
expect 400 "max_price must not be negative" POST "$D/api/file/download-file" \
  "{\"file_id\": \"$hash\", \"dest_path\": \"y.bin\", \"max_price\": -1}"
expect 409 "asks more than max_price" POST "$D/api/file/download-file" \
  "{\"file_id\": \"$hash\", \"dest_path\": \"y.bin\", \"max_price\": $((price - 1))}"
expect 400 "amount must not be negative" POST "$L/api/ledger/fund" '{"account": "1", "amount": -5}'
expect 400 "whole number" POST "$L/api/ledger/fund" '{"account": "1", "amount": 1e300}'
expect 404 "no ledger role" POST "$P/api/ledger/fund" '{"account": "1", "amount": 5}'
expect 400 "account must be a decimal peer id" GET "$D/api/wallet/balance?account=me"
expect 404 "no endpoint GET /api/nothing" GET "$P/api/nothing"
# State-changing routes need the node's API token (data_dir/api.token, mode 0600).
[[ $(stat -c %a "$work/ledger-data/api.token") == 600 ]] || fail "api.token is not mode 0600"
got=$(curl -sS -o "$work/resp.json" -w '%{http_code}' --max-time 15 -X POST \
  --data-binary "{\"account\": \"$id_downloader\", \"amount\": 5}" "$L/api/ledger/fund" || echo 000)
[[ "$got" == 401 ]] || fail "fund without the token: HTTP $got, expected 401"
got=$(curl -sS -o "$work/resp.json" -w '%{http_code}' --max-time 15 -X POST -H "Authorization: Bearer $token_provider" \
  --data-binary "{\"account\": \"$id_downloader\", \"amount\": 5}" "$L/api/ledger/fund" || echo 000)
[[ "$got" == 401 ]] || fail "fund with another node's token: HTTP $got, expected 401"
expect 405 "GET is not allowed" GET "$P/api/file/provide-file"
expect 405 "DELETE is not allowed" DELETE "$D/api/file/get-downloaded-files"
head -c 2097152 /dev/zero | tr '\0' 'x' >"$work/big.json"
got=$(curl -sS -o "$work/resp.json" -w '%{http_code}' --max-time 15 -X POST -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $token_provider" --data-binary @"$work/big.json" "$P/api/file/provide-file" || echo 000)
[[ "$got" == 413 ]] || fail "a 2 MiB body: HTTP $got, expected 413"
rm -f "$work/big.json"

state >"$work/after.txt"
diff "$work/before.txt" "$work/after.txt" >&2 || fail "a refused request changed a node's rows or files"

# --- stop providing, then nobody has it ---------------------------------------------
[[ $(call POST "$P/api/file/stop-providing/$hash") == 200 ]] || fail "stop-providing"
expect 404 "no provider of" GET "$D/api/file/get-providers/$hash"

# --- graceful stop ---------------------------------------------------------------------
for n in downloader provider ledger; do
  pid_var="pid_$n"
  kill -TERM "${!pid_var}"
done
for n in downloader provider ledger; do
  pid_var="pid_$n"
  rc=0
  timeout 15 tail --pid="${!pid_var}" -f /dev/null || fail "$n did not stop within 15 s of SIGTERM"
  wait "${!pid_var}" || rc=$?
  [[ $rc -eq 0 ]] || fail "$n exited with $rc after SIGTERM"
done
pids=()
((SECONDS < deadline)) || fail "took longer than the script's bound"
printf 'live_market_api: OK (3145733 bytes for %s units: downloaded in %.1f s, payment verified %.1f s after the download; balances moved; 31 malformed requests refused) in %ss\n' \
  "$price" "$(python3 -c "print($t_done - $t_download)")" "$(python3 -c "print($t_verified - $t_done)")" "$SECONDS"
