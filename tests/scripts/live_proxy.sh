#!/usr/bin/env bash
# The paid HTTP proxy, live and end to end: a ledger (also the DHT's first
# node), a provider and two clients run as `peerlab node` processes on
# 127.0.0.1. The provider starts providing through its API and is found
# through the DHT; the honest client opens a session through its API, and
# curl -x through its local proxy port fetches a plain HTTP body and the same
# body through a CONNECT tunnel from a python origin (sha256 checked). Both
# sides' counts of the traffic agree within the tolerance band, and a payment
# settles (confirmed on both sides, on the ledger). The second client stops
# paying after its first bill (adversary stops_paying): the provider pauses it
# at its credit window and cuts it off (its requests refused) once it stays
# paused without paying, having used at most the window past what it paid.
# A download of three credit windows through the honest client completes:
# paused whenever its payments lag, never cut off.
# Usage: live_proxy.sh REPO_ROOT PEERLAB_BINARY. Binds 127.0.0.1 only.
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init proxy "${1:?repo root}" "${2:?peerlab binary}"
deadline=$((SECONDS + 150))
need curl
need sha256sum
need openssl
live_tail_lines=20

source "$(dirname "$0")/lib/live_nodes.sh"
nodes=(ledger provider honest cheat)

for n in ledger provider honest cheat; do
  eval "addr_$n=127.0.0.1:$(free_port)"
  eval "api_$n=127.0.0.1:$(free_port)"
done
proxy_provider=127.0.0.1:$(free_port)
local_honest=127.0.0.1:$(free_port)
local_cheat=127.0.0.1:$(free_port)

# The origin: python's http.server with a 1 MiB file.
size=$((1 << 20))
start_origin "$size"

fee=10                 # ledger units per 1000 bytes
window=$((4 << 20))    # the provider's credit window
# A client paused at its window with nothing paid for stall_deadline (8 s
# here) is cut off: an honest client's next payment takes a report interval
# and a ledger round, about 1 s here, more on a loaded machine.
# Both sides' tolerance band: its slack covers the bytes in flight between the
# two counts when a report is made. A download paced by payments has up to a
# credit window in flight (socket buffers on loopback hold that much), so the
# slack is the window; with the default 1 MiB the two counts of a fast
# download drift apart by more and the provider cuts the client off as
# out_of_tolerance.
cat >"$work/ledger.json" <<EOF
{"name": "px-ledger", "listen": "$addr_ledger", "data_dir": "ledger-data",
 "roles": ["kad", {"role": "ledger", "block_interval": "200ms", "confirmations": 1}],
 "api": {"listen": "$api_ledger"}}
EOF
id_ledger=$(id_of ledger)
cat >"$work/provider.json" <<EOF
{"name": "px-provider", "listen": "$addr_provider", "data_dir": "provider-data",
 "roles": ["kad", {"role": "proxy_provider", "ledger": $id_ledger, "ledger_address": "$addr_ledger",
                   "credit_window": $window, "slack": $window, "poll_interval": "200ms",
                   "stall_deadline": "8s"}],
 "kad_bootstrap": ["$addr_ledger"], "proxy_allow_internal": true,
 "api": {"listen": "$api_provider", "max_price": 1000000}}
EOF
for n in honest cheat; do
  adversary=""
  [[ $n == cheat ]] && adversary='"adversary": "stops_paying",'
  local_var="local_$n"
  cat >"$work/$n.json" <<EOF
{"name": "px-$n", "listen": "$(eval echo \$addr_$n)", "data_dir": "$n-data", $adversary
 "roles": ["kad", {"role": "proxy_client", "ledger": $id_ledger, "ledger_address": "$addr_ledger",
                   "interval": "300ms", "resend_interval": "500ms", "slack": $window}],
 "kad_bootstrap": ["$addr_ledger"], "proxy_listen": "${!local_var}",
 "api": {"listen": "$(eval echo \$api_$n)"}}
EOF
done
id_provider=$(id_of provider)
id_honest=$(id_of honest)
id_cheat=$(id_of cheat)
for n in ledger provider honest cheat; do start "$n"; done
L="http://$api_ledger" P="http://$api_provider" H="http://$api_honest" C="http://$api_cheat"
for n in honest cheat; do
  id_var="id_$n"
  [[ $(call POST "$L/api/ledger/fund" "{\"account\": \"${!id_var}\", \"amount\": 100000000}") == 200 ]] ||
    fail "fund $n: $(cat "$work/resp.json")"
done

# Providing through the API: the forward proxy listens where the role announces.
[[ $(call POST "$P/api/proxy/provide" "{\"fee_per_kb\": $fee, \"address\": \"$proxy_provider\"}") == 200 ]] ||
  fail "provide: $(cat "$work/resp.json")"
[[ $(jget "$work/resp.json" 'j["active"]') == True ]] || fail "provide: $(cat "$work/resp.json")"
# It speaks TLS with the provider node's identity (curl: an https:// proxy).
at_provider() { curl -s -x "https://$proxy_provider" --proxy-insecure "$@"; }
poll 10 at_provider -o /dev/null "http://$origin/" ||
  fail "the provider's forward proxy does not listen on $proxy_provider"
code=$(at_provider -o /dev/null -w '%{http_code}' "http://$origin/body.bin")
[[ $code == 407 ]] || fail "no token at the provider: HTTP $code, expected 407"
code=$(curl -s -o /dev/null -w '%{http_code}' -x "http://$proxy_provider" "http://$origin/body.bin")
[[ $code == 400 ]] || fail "plain HTTP at the provider: HTTP $code, expected 400 (TLS only)"

# Found through the DHT.
found() { [[ $(call GET "$1/api/proxy/providers") == 200 ]] && grep -q "\"$id_provider\"" "$work/resp.json"; }
poll 30 found "$H" || fail "the honest client did not find the provider in the DHT: $(cat "$work/resp.json")"
[[ $(call POST "$H/api/proxy/open" '{"provider": "best"}') == 200 ]] || fail "open: $(cat "$work/resp.json")"
[[ $(jget "$work/resp.json" 'j["provider"]') == "$id_provider" ]] || fail "open: $(cat "$work/resp.json")"

# curl -x through the honest client's local port: plain and through CONNECT (-p).
code=$(curl -sS -x "http://$local_honest" -o "$work/plain.bin" -w '%{http_code}' "http://$origin/body.bin") ||
  fail "plain GET through the client node failed"
[[ $code == 200 && $(sha256sum "$work/plain.bin" | cut -d' ' -f1) == "$want" ]] || fail "plain GET: HTTP $code or body differs"
code=$(curl -sS -p -x "http://$local_honest" -o "$work/tunnel.bin" -w '%{http_connect} %{http_code}' \
  "http://$origin/body.bin") || fail "GET through a CONNECT tunnel failed"
[[ $code == "200 200" && $(sha256sum "$work/tunnel.bin" | cut -d' ' -f1) == "$want" ]] ||
  fail "CONNECT: $code or body differs"
# A download of three credit windows: the provider pauses it whenever the
# honest client's payments lag behind, and it completes as they arrive.
big=$((3 * window))
head -c "$big" /dev/urandom >"$work/www/big.bin"
want_big=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
t0=$SECONDS
code=$(curl -sS -p --max-time 120 -x "http://$local_honest" -o "$work/big.bin" -w '%{http_code}' \
  "http://$origin/big.bin") || fail "a download of 3 credit windows through the client node failed ($code)"
[[ $code == 200 && $(sha256sum "$work/big.bin" | cut -d' ' -f1) == "$want_big" ]] ||
  fail "a download of 3 credit windows: HTTP $code or body differs"
echo "honest: $big B (3 credit windows) through the paid session in $((SECONDS - t0)) s"
# The honest node's token alone is not enough at the provider: without the
# node's key (its TLS certificate) it gets 407, with another key's 403.
htoken=$(grep '"event":"proxy_opened"' "$work/honest.out" | tail -1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["token"])')
code=$(at_provider -o /dev/null -w '%{http_code}' --proxy-header "Proxy-Authorization: Bearer $htoken" \
  "http://$origin/body.bin")
[[ $code == 407 ]] || fail "the honest token without the node's certificate: HTTP $code, expected 407"
openssl genpkey -algorithm ed25519 -out "$work/other.key" >/dev/null 2>&1 &&
  openssl req -x509 -new -key "$work/other.key" -subj /CN=other -days 1 -out "$work/other.crt" \
    >/dev/null 2>&1 || fail "openssl (a throw-away Ed25519 key) failed"
code=$(at_provider -o /dev/null -w '%{http_code}' --proxy-cert "$work/other.crt" --proxy-key "$work/other.key" \
  --proxy-header "Proxy-Authorization: Bearer $htoken" "http://$origin/body.bin")
[[ $code == 403 ]] || fail "the honest token from another key: HTTP $code, expected 403"

# usage SIDE FIELD...: the sum of the fields over the side's rows (last answer).
usage_of() { # usage_of URL SIDE EXPR
  [[ $(call GET "$1/api/proxy/usage") == 200 ]] || return 1
  jget "$work/resp.json" "sum(int(r[f]) for r in j['$2'] for f in $3)"
}
# Both sides counted both transfers, agree within the band (5 %, 1 MiB) and settled.
settled() {
  p_bytes=$(usage_of "$P" provider '["bytes_up","bytes_down"]') || return 1
  p_conf=$(usage_of "$P" provider '["fees_confirmed"]') || return 1
  c_bytes=$(usage_of "$H" client '["bytes_up","bytes_down"]') || return 1
  c_conf=$(usage_of "$H" client '["fees_confirmed"]') || return 1
  ((c_bytes >= 2 * size && p_bytes >= 2 * size && p_conf > 0 && c_conf > 0 && c_conf == p_conf &&
    p_conf == p_bytes * fee / 1000))
}
poll 40 settled || fail "no settlement: provider bytes ${p_bytes-?} confirmed ${p_conf-?}, client bytes ${c_bytes-?} confirmed ${c_conf-?}"
diff=$((p_bytes > c_bytes ? p_bytes - c_bytes : c_bytes - p_bytes))
((diff * 20 <= p_bytes || diff <= (1 << 20))) || fail "usage differs: provider $p_bytes, client $c_bytes"
[[ $(call GET "$H/api/wallet/payments") == 200 ]] || true
# Closing settles the last report and frees the local port (503 without a session).
[[ $(call POST "$H/api/proxy/close") == 200 ]] || fail "close: $(cat "$work/resp.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' -x "http://$local_honest" "http://$origin/body.bin")
[[ $code == 503 ]] || fail "the local port after close: HTTP $code, expected 503"
[[ $(call GET "$H/api/proxy/usage") == 200 ]] || fail "client usage"
[[ $(jget "$work/resp.json" "j['client'][-1]['status']") == closed ]] || fail "session after close: $(cat "$work/resp.json")"
echo "honest: provider counted $p_bytes B, client $c_bytes B, $p_conf paid and confirmed on both sides"

# The client that stops paying: its requests are refused within the credit window.
poll 30 found "$C" || fail "the cheater did not find the provider"
[[ $(call POST "$C/api/proxy/open" '{"provider": "best"}') == 200 ]] || fail "cheater open: $(cat "$work/resp.json")"
got=0 refused=""
for i in $(seq 1 40); do
  code=$(curl -s --max-time 30 -x "http://$local_cheat" -o "$work/cheat.bin" -w '%{http_code}' \
    "http://$origin/body.bin" || true)
  if [[ $code == 200 ]]; then
    got=$((got + $(stat -c %s "$work/cheat.bin")))
  elif [[ $code == 402 || $code == 403 || $code == 407 || $code == 503 ]]; then
    refused=$code
    break
  fi
  sleep 0.1
done
[[ -n $refused ]] || fail "the client that stopped paying was never refused ($got bytes received)"
[[ $(call GET "$P/api/proxy/usage") == 200 ]] || fail "provider usage"
row=$(jget "$work/resp.json" "[r for r in j['provider'] if r['client_peer'] == '$id_cheat'][0]")
status=$(jget "$work/resp.json" "[r for r in j['provider'] if r['client_peer'] == '$id_cheat'][0]['status']")
[[ $status == terminated ]] || fail "the cheater's row at the provider: $row"
cbytes=$(jget "$work/resp.json" "[int(r['bytes_up'])+int(r['bytes_down']) for r in j['provider'] if r['client_peer'] == '$id_cheat'][0]")
cpaid=$(jget "$work/resp.json" "[int(r['fees_confirmed'])+int(r['fees_unconfirmed']) for r in j['provider'] if r['client_peer'] == '$id_cheat'][0]")
# Straight at the provider with the cheater's token (its node prints proxy_opened): 403.
token=$(grep '"event":"proxy_opened"' "$work/cheat.out" | tail -1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["token"])')
code=$(at_provider -o /dev/null -w '%{http_code}' \
  --proxy-header "Proxy-Authorization: Bearer $token" "http://$origin/body.bin")
[[ $code == 403 ]] || fail "the cut-off client's token at the provider: HTTP $code, expected 403"
code=$(at_provider -o /dev/null -w '%{http_connect}' -p \
  --proxy-header "Proxy-Authorization: Bearer $token" "http://$origin/body.bin" || true)
[[ $code == 403 ]] || fail "the cut-off client's CONNECT at the provider: $code, expected 403"
# Unpaid use at the cut-off: the forward proxy paused it before its allowance
# (what it paid plus the window), so at most the window and a fee unit's
# rounding; the role cut it off once it stayed paused for stall_deadline.
unpaid=$((cbytes - cpaid * 1000 / fee))
((unpaid <= window + 1000)) || fail "the cheater used $unpaid B unpaid, window $window"
# Stopping: the role says so and the forward proxy no longer listens.
[[ $(call POST "$P/api/proxy/stop-providing") == 200 ]] || fail "stop-providing: $(cat "$work/resp.json")"
[[ $(jget "$work/resp.json" 'j["active"]') == False ]] || fail "stop-providing: $(cat "$work/resp.json")"
code=$(at_provider -o /dev/null -w '%{http_code}' --max-time 5 "http://$origin/" || true)
[[ $code == 000 ]] || fail "the forward proxy still answers after stop-providing: HTTP $code"
echo "live proxy: ok (honest settled; cheater cut off: HTTP $refused at its node, 403 at the provider, after $got B received, $unpaid B unpaid <= window $window)"
