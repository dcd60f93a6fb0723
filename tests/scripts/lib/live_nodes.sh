# Helpers of the live scripts that run `peerlab node` processes with an API,
# sourced after lib/live_common.sh and live_init. The script sets `nodes` (the
# node names) and, for each NAME, api_NAME (its API address, 127.0.0.1:PORT);
# NAME's config is $work/NAME.json with data_dir "NAME-data". `deadline`
# (SECONDS) bounds every poll.
#   jget FILE EXPR         evaluates a python expression over the JSON in FILE (as j)
#   call METHOD URL [BODY] prints the HTTP status; the answer goes to $work/resp.json;
#                          the API token of the node whose API the URL names is sent
#   poll SECONDS CMD...    retries CMD every 0.2 s until it succeeds
#   start NAME             runs the node and waits for its API (fails if it exits)
#   id_of NAME             its peer id (from its config's key)
#   start_origin BYTES     python's http.server on 127.0.0.1 serving $work/www/body.bin
#                          of BYTES random bytes; sets origin (HOST:PORT) and want (its sha256)
declare -A pid

jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

call() {
  local method=$1 url=$2 body=${3-} token="" n av
  for n in "${nodes[@]}"; do
    av="api_$n"
    [[ $url == "http://${!av}/"* ]] && token=$(cat "$work/$n-data/api.token")
  done
  local args=(-sS -o "$work/resp.json" -w '%{http_code}' --max-time 30 -X "$method")
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  args+=(-H "Authorization: Bearer $token")
  curl "${args[@]}" "$url" 2>/dev/null || echo "000"
}

poll() {
  local limit=$((SECONDS + $1))
  shift
  while ! "$@"; do
    ((SECONDS < limit && SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

live_node_started() { # NAME OUT: its API listens (fails the script if the node exited)
  kill -0 "${pid[$1]}" 2>/dev/null || fail "$1 exited early"
  grep -qs '"event":"api_listening"' "$2"
}

start() {
  local name=$1 out="$work/$1.out"
  "$bin" node --config "$work/$name.json" >"$out" 2>"$work/$name.err" &
  pid[$name]=$!
  pids+=("${pid[$name]}")
  # Generous: several nodes start at once on a machine that may be busy building.
  poll 45 live_node_started "$name" "$out" || fail "$name did not report its API address"
}

id_of() { "$bin" id --config "$work/$1.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["peer_id"])'; }

start_origin() {
  mkdir -p "$work/www"
  head -c "$1" /dev/urandom >"$work/www/body.bin"
  want=$(sha256sum "$work/www/body.bin" | cut -d' ' -f1)
  origin=127.0.0.1:$(free_port)
  python3 -m http.server "${origin##*:}" --bind 127.0.0.1 --directory "$work/www" \
    >"$work/origin.out" 2>"$work/origin.err" &
  pids+=("$!")
  poll 10 curl -sf -o /dev/null "http://$origin/" || fail "the origin did not start"
}
