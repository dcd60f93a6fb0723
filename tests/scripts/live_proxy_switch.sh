#!/usr/bin/env bash
# A paid proxy session survives its provider's crash, live: a ledger (also the
# DHT's first node), two providers (fees 10 and 20) and a client run as
# `peerlab node` processes on 127.0.0.1. The client opens "best" (the cheaper
# provider) and curl -x through its local port fetches a body; the cheaper
# provider is killed with SIGKILL. The local proxy's failure to reach it goes
# to the client role as `proxy_failed`, the role ends that session
# (service_failed) and opens one with the other provider by itself, and curl
# through the same local port works again with no call to the API. The client
# then pays the second provider for what went through it. Last, the client
# node is killed with SIGKILL and restarted: it resumes its session, its port
# works again, and closing settles it in full.
# Usage: live_proxy_switch.sh REPO_ROOT PEERLAB_BINARY. Binds 127.0.0.1 only.
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init proxy-switch "${1:?repo root}" "${2:?peerlab binary}"
deadline=$((SECONDS + 150))
need curl
need sha256sum
live_tail_lines=20
source "$(dirname "$0")/lib/live_nodes.sh"
nodes=(ledger cheap dear client)

for n in "${nodes[@]}"; do
  eval "addr_$n=127.0.0.1:$(free_port)"
  eval "api_$n=127.0.0.1:$(free_port)"
done
proxy_cheap=127.0.0.1:$(free_port)
proxy_dear=127.0.0.1:$(free_port)
local_port=127.0.0.1:$(free_port)

# The origin: python's http.server with a 256 KiB file.
size=$((256 << 10))
start_origin "$size"

# Short kad timeouts: the dead provider's record stays in the DHT, and the
# lookup after the crash must not wait 10 s for it.
kad='{"role": "kad", "request_timeout": "1s", "query_timeout": "5s"}'
cat >"$work/ledger.json" <<EOF
{"name": "sw-ledger", "listen": "$addr_ledger", "data_dir": "ledger-data",
 "roles": [$kad, {"role": "ledger", "block_interval": "200ms", "confirmations": 1}],
 "api": {"listen": "$api_ledger"}}
EOF
id_ledger=$(id_of ledger)
for n in cheap dear; do
  cat >"$work/$n.json" <<EOF
{"name": "sw-$n", "listen": "$(eval echo \$addr_$n)", "data_dir": "$n-data",
 "roles": [$kad, {"role": "proxy_provider", "ledger": $id_ledger, "ledger_address": "$addr_ledger",
                  "poll_interval": "200ms"}],
 "kad_bootstrap": ["$addr_ledger"], "proxy_allow_internal": true,
 "api": {"listen": "$(eval echo \$api_$n)", "max_price": 1000000}}
EOF
done
cat >"$work/client.json" <<EOF
{"name": "sw-client", "listen": "$addr_client", "data_dir": "client-data",
 "roles": [$kad, {"role": "proxy_client", "ledger": $id_ledger, "ledger_address": "$addr_ledger",
                  "interval": "300ms", "resend_interval": "500ms", "probe_timeout": "1s"}],
 "kad_bootstrap": ["$addr_ledger"], "proxy_listen": "$local_port",
 "api": {"listen": "$api_client"}}
EOF
id_cheap=$(id_of cheap)
id_dear=$(id_of dear)
id_client=$(id_of client)
for n in "${nodes[@]}"; do start "$n"; done
L="http://$api_ledger" C="http://$api_client"
[[ $(call POST "$L/api/ledger/fund" "{\"account\": \"$id_client\", \"amount\": 100000000}") == 200 ]] ||
  fail "fund: $(cat "$work/resp.json")"
for n in cheap dear; do
  api="api_$n" px="proxy_$n" fee=10
  [[ $n == dear ]] && fee=20
  [[ $(call POST "http://${!api}/api/proxy/provide" "{\"fee_per_kb\": $fee, \"address\": \"${!px}\"}") == 200 ]] ||
    fail "provide $n: $(cat "$work/resp.json")"
done

both_found() {
  [[ $(call GET "$C/api/proxy/providers") == 200 ]] &&
    grep -q "\"$id_cheap\"" "$work/resp.json" && grep -q "\"$id_dear\"" "$work/resp.json"
}
poll 40 both_found || fail "the client did not find both providers in the DHT: $(cat "$work/resp.json")"
[[ $(call POST "$C/api/proxy/open" '{"provider": "best"}') == 200 ]] || fail "open: $(cat "$work/resp.json")"
[[ $(jget "$work/resp.json" 'j["provider"]') == "$id_cheap" ]] || fail "best is not the cheaper: $(cat "$work/resp.json")"

fetch_ok() { # one GET through the local port, body checked
  local code
  code=$(curl -s --max-time 10 -x "http://$local_port" -o "$work/got.bin" -w '%{http_code}' \
    "http://$origin/body.bin" || true)
  last_code=$code
  [[ $code == 200 && $(sha256sum "$work/got.bin" | cut -d' ' -f1) == "$want" ]]
}
fetch_ok || fail "GET through the cheaper provider: HTTP $last_code"

# The cheaper provider crashes.
kill -KILL "${pid[cheap]}"
wait "${pid[cheap]}" 2>/dev/null || true
crashed_at=$SECONDS
# The first request meets the dead upstream (502) or the gap before the next
# session (503); within the bound the same port works through the other one.
codes=""
until fetch_ok; do
  codes+="$last_code "
  ((SECONDS - crashed_at < 60 && SECONDS < deadline)) || fail "no switch within 60 s (answers: $codes)"
  sleep 0.3
done
took=$((SECONDS - crashed_at))
for c in $codes; do
  [[ $c == 502 || $c == 503 || $c == 504 ]] || fail "an answer during the switch was HTTP $c (answers: $codes)"
done

[[ $(call GET "$C/api/proxy/usage") == 200 ]] || fail "client usage"
rows=$(cat "$work/resp.json")
[[ $(jget "$work/resp.json" "[r['status'] for r in j['client'] if r['provider'] == '$id_cheap'][-1]") == ended ]] ||
  fail "the crashed provider's session did not end: $rows"
[[ $(jget "$work/resp.json" "[r['reason'] for r in j['client'] if r['provider'] == '$id_cheap'][-1]") == service_failed* ]] ||
  fail "the crashed provider's session ended for another reason: $rows"
[[ $(jget "$work/resp.json" "[r['status'] for r in j['client'] if r['provider'] == '$id_dear'][-1]") == active ]] ||
  fail "no active session with the other provider: $rows"
grep -q '"event":"proxy_opened"' "$work/client.out" || fail "the client printed no proxy_opened"
[[ $(grep -c '"event":"proxy_opened"' "$work/client.out") -ge 2 ]] || fail "the client opened no second session"

# The second provider is paid for what went through it.
paid() {
  [[ $(call GET "http://$api_dear/api/proxy/usage") == 200 ]] &&
    (($(jget "$work/resp.json" "sum(int(r['fees_confirmed']) for r in j['provider'])") > 0))
}
poll 30 paid || fail "the second provider was never paid: $(cat "$work/resp.json")"

# The client node crashes (SIGKILL) and restarts: it resumes its session from
# ProxySessions, its local port forwards through the same provider again with
# no call to the API, and closing settles what it used: the provider closes
# the session (a debt beyond the band would have cut the client off).
kill -KILL "${pid[client]}"
wait "${pid[client]}" 2>/dev/null || true
start client
poll 30 fetch_ok || fail "no GET through the restarted client's port: HTTP $last_code"
[[ $(call POST "$C/api/proxy/close") == 200 ]] || fail "close after the restart: $(cat "$work/resp.json")"
closed() {
  [[ $(call GET "http://$api_dear/api/proxy/usage") == 200 ]] &&
    [[ $(jget "$work/resp.json" "[r['status'] for r in j['provider'] if r['client_peer'] == '$id_client'][-1]") == closed ]]
}
poll 20 closed || fail "the provider did not close the resumed session: $(cat "$work/resp.json")"
row=$(jget "$work/resp.json" "[r for r in j['provider'] if r['client_peer'] == '$id_client'][-1]")
used=$(jget "$work/resp.json" "[int(r['bytes_up'])+int(r['bytes_down']) for r in j['provider'] if r['client_peer'] == '$id_client'][-1]")
paid=$(jget "$work/resp.json" "[int(r['fees_confirmed'])+int(r['fees_unconfirmed']) for r in j['provider'] if r['client_peer'] == '$id_client'][-1]")
((used >= 2 * size && paid * 1000 >= used * 20 * 95 / 100)) || fail "after the client's restart: $row"
echo "live proxy switch: ok (provider $id_cheap killed; through $id_dear after ${took} s; answers meanwhile: ${codes:-none}; client killed and restarted: its session resumed and closed, $used B, $paid paid)"
