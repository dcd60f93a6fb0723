#!/usr/bin/env bash
# The paid proxy's data plane with curl, live: curl -x -> local proxy ->
# provider's forward proxy -> origins on 127.0.0.1 (tests/tools/proxy_pair,
# the real net/local_proxy and net/forward_proxy). A plain HTTP body and an
# HTTPS body through a CONNECT tunnel must arrive intact (sha256sum); both
# proxies must count exactly the bytes curl moved; curl straight at the
# provider needs TLS (plain HTTP gets 400), the bearer token (407 without)
# and the certificate of the node the token was issued to (407 without one,
# 403 with another node's); after the provider terminates the client,
# requests get 403.
# Usage: live_proxy_curl.sh REPO_ROOT PEERLAB_BINARY [SIZE_BYTES]. Binds 127.0.0.1 only.
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init proxy_curl "${1:?repo root}" "${2:?peerlab binary}"
size=${3:-33554432}
need curl
need openssl
pair=${PEERLAB_PROXY_PAIR:-$(dirname "$bin")/../../tests/proxy_pair}
[[ -x "$pair" ]] || fail "proxy_pair not built (expected at $pair)"

# Origins: python's http.server, plain and behind TLS with a throw-away certificate.
mkdir -p "$work/www"
head -c "$size" /dev/urandom >"$work/www/big.bin"
want=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || fail "openssl req failed"
http_port=$(free_port)
https_port=$(free_port)
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$work/www" \
  >"$work/http.out" 2>"$work/http.err" &
pids+=("$!")
python3 - "$https_port" "$work/www" "$work/cert.pem" "$work/key.pem" >"$work/https.out" 2>"$work/https.err" <<'PY' &
import functools, http.server, ssl, sys
port, root, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
pids+=("$!")

mkfifo "$work/ctl"
"$pair" secret-token 300 "$work/client.key" <"$work/ctl" >"$work/pair.out" 2>"$work/pair.err" &
pids+=("$!")
exec 3>"$work/ctl"
for _ in $(seq 1 200); do [[ -s "$work/pair.out" ]] && break; sleep 0.05; done
local_addr=$(head -1 "$work/pair.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["local"])')
provider_addr=$(head -1 "$work/pair.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["provider"])')
for p in $http_port $https_port; do
  for _ in $(seq 1 200); do
    curl -sk -o /dev/null "http$([[ $p == "$https_port" ]] && echo s)://127.0.0.1:$p/" && break
    sleep 0.05
  done
done

totals() { # prints the JSON line answering "totals"
  local n
  n=$(wc -l <"$work/pair.out")
  echo totals >&3
  for _ in $(seq 1 200); do
    [[ $(wc -l <"$work/pair.out") -gt $n ]] && break
    sleep 0.02
  done
  tail -1 "$work/pair.out"
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

# Plain HTTP through both proxies: the body intact, every byte curl moved counted.
stats=$(curl -sS -x "http://$local_addr" -o "$work/got.bin" \
  -w '%{http_code} %{size_request} %{size_header} %{size_download}' \
  "http://127.0.0.1:$http_port/big.bin") || fail "curl through the local proxy failed"
read -r code req hdr body <<<"$stats"
[[ $code == 200 ]] || fail "plain GET through the proxies: HTTP $code"
[[ $(sha256sum "$work/got.bin" | cut -d' ' -f1) == "$want" ]] || fail "plain body differs"
sleep 0.2 # curl's close reaches the proxies
t=$(totals)
[[ $(field "$t" local_up) -eq $req ]] || fail "local proxy counted $(field "$t" local_up) bytes up, curl sent $req"
[[ $(field "$t" local_down) -eq $((hdr + body)) ]] ||
  fail "local proxy counted $(field "$t" local_down) bytes down, curl received $((hdr + body))"
[[ $(field "$t" provider_down) -ge $body ]] || fail "the provider counted less than the body"

# HTTPS through a CONNECT tunnel (curl checks the origin's certificate).
code=$(curl -sS -x "http://$local_addr" --cacert "$work/cert.pem" -o "$work/got_tls.bin" \
  -w '%{http_code}' "https://127.0.0.1:$https_port/big.bin") || fail "curl https through the proxies failed"
[[ $code == 200 ]] || fail "https GET through the tunnel: HTTP $code"
[[ $(sha256sum "$work/got_tls.bin" | cut -d' ' -f1) == "$want" ]] || fail "https body differs"
t2=$(totals)
[[ $(field "$t2" local_down) -gt $(($(field "$t" local_down) + size)) ]] || fail "the tunnel was not metered"

# Straight at the provider: TLS, the token and the client node's key are required.
# Certificates of the client node's key (the pair made it) and of another key.
openssl req -x509 -new -key "$work/client.key" -subj /CN=client -days 1 -out "$work/client.crt" \
  >/dev/null 2>&1 || fail "openssl req (client) failed"
openssl genpkey -algorithm ed25519 -out "$work/other.key" >/dev/null 2>&1 &&
  openssl req -x509 -new -key "$work/other.key" -subj /CN=other -days 1 -out "$work/other.crt" \
    >/dev/null 2>&1 || fail "openssl (other key) failed"
at_provider() { # at_provider CURL_ARGS...: the HTTP code of a GET straight at the provider
  curl -s -o /dev/null -w '%{http_code}' -x "https://$provider_addr" --proxy-insecure "$@" \
    "http://127.0.0.1:$http_port/"
}
bearer=(--proxy-header "Proxy-Authorization: Bearer secret-token")
code=$(curl -s -o /dev/null -w '%{http_code}' -x "http://$provider_addr" "${bearer[@]}" "http://127.0.0.1:$http_port/")
[[ $code == 400 ]] || fail "plain HTTP at the TLS provider: HTTP $code, expected 400"
code=$(at_provider)
[[ $code == 407 ]] || fail "no token at the provider: HTTP $code, expected 407"
code=$(at_provider "${bearer[@]}")
[[ $code == 407 ]] || fail "the token without a client certificate: HTTP $code, expected 407"
code=$(at_provider "${bearer[@]}" --proxy-cert "$work/other.crt" --proxy-key "$work/other.key")
[[ $code == 403 ]] || fail "the token from another node's key: HTTP $code, expected 403"
code=$(at_provider "${bearer[@]}" --proxy-cert "$work/client.crt" --proxy-key "$work/client.key")
[[ $code == 200 ]] || fail "the token from the client node's key at the provider: HTTP $code"

# Terminated: plain requests and tunnels are refused.
echo terminate >&3
sleep 0.2
code=$(curl -s -o /dev/null -w '%{http_code}' -x "http://$local_addr" "http://127.0.0.1:$http_port/")
[[ $code == 403 ]] || fail "after termination: HTTP $code, expected 403"
code=$(curl -s -o /dev/null -w '%{http_connect}' -x "http://$local_addr" --cacert "$work/cert.pem" \
  "https://127.0.0.1:$https_port/" || true)
[[ $code == 403 ]] || fail "CONNECT after termination: $code, expected 403"
grep -q "403" "$work/pair.err" || fail "the local proxy did not report the 403"
echo "live proxy with curl: ok ($size bytes plain and through TLS over the nodes' mutual TLS leg, metering exact, 400/407/403 at the provider)"
