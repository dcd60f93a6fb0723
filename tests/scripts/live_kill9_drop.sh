#!/usr/bin/env bash
# Crash recovery of the HTTP-over-file-drop gateway, live: curl -> gateway a ->
# folder -> gateway b -> a local python3 http.server -> and back, both sides
# with a state_db. Each round fetches a new file and kills one side with
# SIGKILL at a random point of the transfer (while b performs the request,
# while the response's packets are written or read), then restarts it with the
# same config:
#   - side b killed: the same curl request must still complete with the right
#     bytes (b takes up what its log acknowledged; the log resends the rest);
#   - side a killed: its client's connection dies with it (curl fails); a new
#     request through the restarted a must complete with the right bytes.
# After every restart both state files pass PRAGMA integrity_check; at the end
# side b holds no unanswered request. Rounds are drawn from bash's RANDOM
# seeded with KILL9_SEED (printed; replay with KILL9_SEED=N).
# Usage: live_kill9_drop.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init kill9-drop "${1:?repo root}" "${2:?peerlab binary}"
need curl
need sqlite3
need python3
seed=${KILL9_SEED:-20261206}
rounds=${KILL9_ROUNDS:-8}
RANDOM=$seed
echo "live_kill9_drop: KILL9_SEED=$seed KILL9_ROUNDS=$rounds"
live_tail_lines=8
deadline=$((SECONDS + 200))

mkdir -p "$work/www" "$work/ab" "$work/ba"
for ((r = 0; r < rounds; r++)); do
  { openssl enc -aes-128-ctr -nosalt -pass "pass:peerlab-kill9-drop-$r" -pbkdf2 </dev/zero 2>/dev/null ||
    true; } | head -c $((6 << 20)) >"$work/www/r$r.bin"
done
up_port=$(free_port)
python3 -m http.server "$up_port" --bind 127.0.0.1 --directory "$work/www" \
  >"$work/upstream.out" 2>"$work/upstream.err" &
upstream=$!
pids+=("$upstream")
for _ in $(seq 1 200); do
  curl -s -o /dev/null "http://127.0.0.1:$up_port/r0.bin" && break
  sleep 0.05
done
a_port=$(free_port)
common='"key": "live kill9 drop test shared key", "poll_interval": "5ms", "initial_rtt": "100ms",
  "max_ack_delay": "10ms", "min_packet": "256KiB", "initial_packet": "1MiB", "max_packet": "4MiB",
  "fragment": "64KiB", "metrics_interval": "0s"'
cat >"$work/a.json" <<EOF
{"side": "a", "name": "k9-a", "peer": "k9-b", "out_dir": "ab", "in_dir": "ba", "state_db": "a.db",
 "listen": "127.0.0.1:$a_port", "request_timeout": "60s", $common}
EOF
cat >"$work/b.json" <<EOF
{"side": "b", "name": "k9-b", "peer": "k9-a", "out_dir": "ba", "in_dir": "ab", "state_db": "b.db",
 "upstream": "http://127.0.0.1:$up_port", $common}
EOF

declare -A pid incarnation=([a]=0 [b]=0) kills=([a]=0 [b]=0)
start_side() { # a|b
  local s=$1
  incarnation[$s]=$((incarnation[$s] + 1))
  "$bin" drop-gateway --config "$work/$s.json" >"$work/$s.${incarnation[$s]}.out" \
    2>"$work/$s.${incarnation[$s]}.err" &
  pid[$s]=$!
  pids+=("${pid[$s]}")
  if [[ $s == a ]]; then
    for _ in $(seq 1 200); do
      grep -q drop_gateway_listening "$work/a.${incarnation[a]}.out" 2>/dev/null && return 0
      kill -0 "${pid[a]}" 2>/dev/null || fail "side a exited at start"
      sleep 0.05
    done
    fail "side a did not start listening"
  fi
}
check_db() { # a|b WHEN
  local ok
  ok=$(sqlite3 -readonly "$work/$1.db" 'PRAGMA integrity_check' 2>&1) || fail "$2: $1.db cannot be read: $ok"
  [[ $ok == ok ]] || fail "$2: $1.db: integrity_check says $ok"
}
fetch() { # ROUND OUT: curl through side a; prints the HTTP status (000 if the connection died)
  curl -s --max-time 90 -o "$2" -w '%{http_code}' "http://127.0.0.1:$a_port/r$1.bin" 2>/dev/null || true
}
same() { cmp -s "$1" "$work/www/r$2.bin"; }

start_side b
start_side a
for ((r = 0; r < rounds; r++)); do
  ((SECONDS < deadline)) || fail "only $r rounds fit in the time bound"
  victim=$([[ $((RANDOM % 3)) == 0 ]] && echo a || echo b)
  delay_ms=$((20 + RANDOM % 600))
  fetch "$r" "$work/got$r.bin" >"$work/status$r" &
  client=$!
  sleep "$(printf '0.%03d' "$delay_ms")"
  done_before=no
  kill -0 "$client" 2>/dev/null || done_before=yes
  kill -KILL "${pid[$victim]}"
  wait "${pid[$victim]}" 2>/dev/null || true
  kills[$victim]=$((kills[$victim] + 1))
  check_db "$victim" "round $r"
  start_side "$victim"
  wait "$client" || true
  status=$(cat "$work/status$r")
  if [[ $victim == b || $done_before == yes ]]; then
    [[ $status == 200 ]] && same "$work/got$r.bin" "$r" ||
      fail "round $r: the request did not survive kill -9 of side $victim after $delay_ms ms (status $status)"
    outcome="the same request completed"
  else
    [[ $status == 200 ]] && same "$work/got$r.bin" "$r" && outcome="the request had completed" ||
      outcome="its client's connection died with it (status $status)"
    again=$(fetch "$r" "$work/again$r.bin")
    [[ $again == 200 ]] && same "$work/again$r.bin" "$r" ||
      fail "round $r: a new request through the restarted side a failed (status $again)"
    outcome="$outcome; a new request completed"
  fi
  echo "round $r: kill -9 of side $victim after $delay_ms ms: $outcome"
done

for s in a b; do check_db "$s" "at the end"; done
# Every request b took up got its answer into the log.
left=""
for _ in $(seq 1 100); do
  left=$(sqlite3 -readonly "$work/b.db" "SELECT COUNT(*) FROM DropLogUnanswered")
  [[ $left == 0 ]] && break
  sleep 0.1
done
[[ $left == 0 ]] || fail "side b still holds $left unanswered requests"
performed=$(grep -c '"GET /r[0-9]*.bin' "$work/upstream.err" || true)
for s in a b; do
  kill -TERM "${pid[$s]}"
  wait "${pid[$s]}" || fail "side $s exited with $? after SIGTERM"
done
pids=("$upstream") # the gateways are stopped; the EXIT trap stops the upstream
echo "live_kill9_drop: OK rounds=$rounds kills: a=${kills[a]} b=${kills[b]}; upstream GETs: $performed" \
  "(a request b had taken when killed is performed again); seed $seed; ${SECONDS}s"
