#!/usr/bin/env bash
# Crash recovery of the paid file market, live: a ledger, a provider and a
# downloader (which is also the payer) run as `peerlab node` processes on
# 127.0.0.1. Round 0 kills the downloader with SIGKILL once half of a large
# file is verified on disk; every later round kills a randomly chosen role
# (downloader mid-download, provider mid-transfer, ledger or payer
# mid-payment) at a random delay. The killed node restarts with the same
# config and the flow goes on. After every restart and at the end, the
# nodes' SQLite files are checked with the sqlite3 CLI (read-only):
# PRAGMA integrity_check, the ledger's balances sum to its supply, every
# file DownloadFiles marks complete hashes (sha256sum) to its hash, nothing
# was paid beyond what was bought, the honest payer is not blacklisted; and
# every download finishes with the right hash.
# The rounds are drawn from bash's RANDOM seeded with KILL9_SEED (printed);
# replay a failure with KILL9_SEED=N. KILL9_ROUNDS sets the number of rounds.
# Usage: live_kill9_market.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init kill9-market "${1:?repo root}" "${2:?peerlab binary}"
deadline=$((SECONDS + 170)) # the whole script
need curl
need sqlite3
need sha256sum
seed=${KILL9_SEED:-20261206}
rounds=${KILL9_ROUNDS:-12}
RANDOM=$seed
echo "live_kill9_market: KILL9_SEED=$seed KILL9_ROUNDS=$rounds (replay: KILL9_SEED=$seed bash $0 ...)"
live_tail_lines=25
live_fail_extra() { # KILL9_KEEP=DIR keeps a copy of the nodes' folders and output (also on success)
  [[ -n "${KILL9_KEEP-}" ]] && rm -rf "$KILL9_KEEP" && cp -a "$work" "$KILL9_KEEP" && echo "kept in $KILL9_KEEP" >&2
  return 0
}

# jget FILE PYTHON_EXPR: evaluates the expression on the JSON in FILE (as j).
jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# call METHOD URL [BODY]: prints the HTTP status; the answer goes to $work/resp.json.
call() {
  local method=$1 url=$2 body=${3-} token n av
  for n in ledger provider downloader; do
    av="api_$n"
    [[ $url == "http://${!av}/"* ]] && token=$(cat "$work/$n-data/api.token")
  done
  local args=(-sS -o "$work/resp.json" -w '%{http_code}' --max-time 15 -X "$method")
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  args+=(-H "Authorization: Bearer $token")
  curl "${args[@]}" "$url" 2>/dev/null || echo "000"
}

# poll SECONDS COMMAND...: retries the command every 0.1 s until it succeeds.
poll() {
  local limit=$((SECONDS + $1))
  shift
  while ! "$@"; do
    ((SECONDS < limit && SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# q NODE SQL: one read-only query on the node's SQLite file.
q() { sqlite3 -readonly -batch -noheader "$work/$1-data/node.db" "$2"; }
# s64 ID: a peer id as SQLite stores it (u64 bit for bit in a signed INTEGER).
s64() { python3 -c 'import sys; v=int(sys.argv[1]); print(v - (1 << 64) if v >= 1 << 63 else v)' "$1"; }

port() { free_port; }
for n in ledger provider downloader; do
  eval "addr_$n=127.0.0.1:$(port)"
  eval "api_$n=127.0.0.1:$(port)"
done

# The downloader reaches the provider through a relay that paces the
# provider's uploads (lib/pace_relay.py), so a round lasts long enough to be
# cut in the middle.
rate=$((48 << 20))
addr_relay=127.0.0.1:$(port)
python3 "$(dirname "$0")/lib/pace_relay.py" "${addr_relay##*:}" "${addr_provider##*:}" "$rate" 200 \
  >"$work/relay.out" 2>"$work/relay.err" &
relay=$!
pids+=("$relay")
for _ in $(seq 1 100); do
  grep -q ready "$work/relay.out" 2>/dev/null && break
  sleep 0.05
done
grep -q ready "$work/relay.out" || fail "the relay did not start"

declare -A pid incarnation
# start NAME: runs $work/NAME.json (a new incarnation) and waits for its API.
start() {
  local name=$1
  incarnation[$name]=$((${incarnation[$name]:-0} + 1))
  local out="$work/$name.${incarnation[$name]}.out"
  "$bin" node --config "$work/$name.json" >"$out" 2>"$work/$name.${incarnation[$name]}.err" &
  pid[$name]=$!
  pids+=("${pid[$name]}")
  local ok=""
  for _ in $(seq 1 200); do
    if grep -q '"event":"api_listening"' "$out" 2>/dev/null; then
      ok=yes
      break
    fi
    kill -0 "${pid[$name]}" 2>/dev/null || fail "$name (incarnation ${incarnation[$name]}) exited early"
    sleep 0.05
  done
  [[ -n "$ok" ]] || fail "$name did not report its API address"
}

# kill9 NAME: SIGKILL, reaped, then restarted with the same config.
kill9() {
  local name=$1
  kill -KILL "${pid[$name]}" 2>/dev/null || true
  wait "${pid[$name]}" 2>/dev/null || true
  kills[$name]=$((kills[$name] + 1))
  start "$name"
}
declare -A kills=([downloader]=0 [provider]=0 [ledger]=0)

# dead_nodes: names any node that exited by itself, with its status (a node
# killed by SIGPIPE when a peer reset a connection ended that way once).
dead_nodes() {
  local n rc
  for n in ledger provider downloader; do
    kill -0 "${pid[$n]}" 2>/dev/null && continue
    rc=0
    wait "${pid[$n]}" 2>/dev/null || rc=$?
    echo "--- the $n (incarnation ${incarnation[$n]}) exited by itself with status $rc" >&2
  done
}

id_of() { "$bin" id --config "$work/$1.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["peer_id"])'; }

mkdir -p "$work/provider-shared" "$work/downloader-dl"
price=1000
fee=1 # the payer's default
fund=10000000

cat >"$work/ledger.json" <<EOF
{"name": "k9-ledger", "listen": "$addr_ledger", "data_dir": "ledger-data",
 "roles": [{"role": "ledger", "block_interval": "200ms", "confirmations": 1}],
 "api": {"listen": "$api_ledger"}}
EOF
id_ledger=$(id_of ledger)
cat >"$work/provider.json" <<EOF
{"name": "k9-provider", "listen": "$addr_provider", "data_dir": "provider-data",
 "roles": [{"role": "provider", "chunk_size": "256KiB", "payment": {"policy": "pay_after"}},
           {"role": "payment_verifier", "ledger": $id_ledger, "ledger_address": "$addr_ledger",
            "poll_interval": "200ms"}],
 "api": {"listen": "$api_provider", "provide_dirs": ["provider-shared"], "max_price": 1000000,
         "ledger": $id_ledger, "ledger_address": "$addr_ledger"}}
EOF
id_provider=$(id_of provider)
cat >"$work/downloader.json" <<EOF
{"name": "k9-downloader", "listen": "$addr_downloader", "data_dir": "downloader-data",
 "peers": ["$addr_relay"],
 "roles": [{"role": "downloader", "chunk_size": "256KiB", "window": "1MiB", "initial_timeout": "1s",
            "min_timeout": "500ms", "request_timeout": "2s", "retry_initial": "200ms",
            "retry_max": "1s", "retry_deadline": "10min"},
           {"role": "payer", "ledger": $id_ledger, "ledger_address": "$addr_ledger", "resend_interval": "500ms"}],
 "api": {"listen": "$api_downloader", "download_dir": "downloader-dl", "lookup_timeout": "1s",
         "ledger": $id_ledger, "ledger_address": "$addr_ledger"}}
EOF
id_downloader=$(id_of downloader)
start ledger
start provider
start downloader
L="http://$api_ledger" P="http://$api_provider" D="http://$api_downloader"

# --- the checks ------------------------------------------------------------------
declare -A file_hash file_size # round -> hash / size of the file it downloads
check_tables() {
  local when=$1 n r
  for n in ledger provider downloader; do
    r=$(q "$n" 'PRAGMA integrity_check' 2>&1) || fail "$when: sqlite3 cannot read $n's node.db: $r"
    [[ "$r" == ok ]] || fail "$when: integrity_check of $n's node.db: $r"
  done
  # Balances are conserved: every account, the treasury and the fee sink included.
  local sum
  sum=$(q ledger 'SELECT COALESCE(SUM(balance), 0) FROM LedgerAccounts')
  supply=$(q ledger "SELECT supply FROM LedgerMeta WHERE name = 'state'")
  [[ -n "$supply" && "$sum" == "$supply" ]] || fail "$when: the ledger's balances sum to $sum, not its supply $supply"
  # Every file marked complete is on disk with its hash.
  local hash name
  while IFS='|' read -r hash name; do
    [[ -n "$hash" ]] || continue
    [[ -f "$work/downloader-data/downloads/$name" ]] ||
      fail "$when: DownloadFiles lists $name but downloads/$name is missing"
    [[ $(sha256sum "$work/downloader-data/downloads/$name" | cut -d' ' -f1) == "$hash" ]] ||
      fail "$when: downloads/$name is marked complete but its SHA-256 is not $hash"
  done < <(q downloader 'SELECT lower(hex(hash)), name FROM DownloadFiles')
  # Nothing paid beyond what was bought: at most the price per file, on both sides.
  local over
  over=$(q downloader "SELECT lower(hex(hash)) || ' ' || SUM(amount) FROM Payments
                        WHERE direction = 'out' GROUP BY hash HAVING SUM(amount) > $price")
  [[ -z "$over" ]] || fail "$when: the payer paid more than $price for: $over"
  over=$(q provider "SELECT lower(hex(hash)) || ' ' || SUM(amount) FROM Payments
                      WHERE direction = 'in' GROUP BY hash HAVING SUM(amount) > $price")
  [[ -z "$over" ]] || fail "$when: the provider billed more than $price for: $over"
  local paid bought
  paid=$(q ledger "SELECT COALESCE(SUM(amount), 0) FROM LedgerTxs WHERE status != 'replaced'
                    AND from_account = $(s64 "$id_downloader") AND to_account = $(s64 "$id_provider")")
  bought=$(q downloader "SELECT COUNT(*) FROM Purchases")
  ((paid <= bought * price)) || fail "$when: the ledger moved $paid to the provider for $bought purchases"
}

# --- the rounds ------------------------------------------------------------------
[[ $(call POST "$L/api/ledger/fund" "{\"account\": \"$id_downloader\", \"amount\": $fund}") == 200 ]] ||
  fail "fund the downloader"
poll 20 eval '[[ $(q ledger "SELECT COUNT(*) FROM LedgerAccounts WHERE account = $(s64 "$id_downloader")") == 1 ]]' ||
  fail "the fund never reached a block"
check_tables "at the start"

# new_file ROUND MIB: a file of pseudo-random bytes, provided at $price.
new_file() {
  local r=$1 mib=$2 f="$work/provider-shared/r$1.bin"
  { openssl enc -aes-128-ctr -nosalt -pass "pass:peerlab-kill9-$seed-$r" -pbkdf2 </dev/zero 2>/dev/null ||
    true; } | head -c $((mib << 20)) >"$f"
  file_size[$r]=$(stat -c %s "$f")
  ((file_size[$r] == mib << 20)) || fail "could not create $f"
  file_hash[$r]=$(sha256sum "$f" | cut -d' ' -f1)
  [[ $(call POST "$P/api/file/provide-file" "{\"file_path\": \"r$r.bin\", \"price\": $price}") == 201 ]] ||
    fail "round $r: provide-file: $(cat "$work/resp.json")"
}

# download ROUND: asks the downloader for the round's file (202, or 200 if
# it is already complete).
download() {
  local r=$1 got
  got=$(call POST "$D/api/file/download-file" "{\"file_id\": \"${file_hash[$r]}\", \"dest_path\": \"r$r.bin\"}")
  [[ $got == 202 || $got == 200 ]] || return 1
}

is_done() { [[ $(q downloader "SELECT COUNT(*) FROM DownloadFiles WHERE lower(hex(hash)) = '${file_hash[$1]}'") == 1 ]]; }
verified_bytes() { q downloader "SELECT COALESCE(MAX(verified), 0) FROM PartialDownloads WHERE lower(hex(hash)) = '${file_hash[$1]}'"; }

# after_restart ROUND NAME: what a user does once NAME is back, then the checks.
after_restart() {
  local r=$1 name=$2
  # The restarted downloader resumed the download from its PartialDownloads
  # row: asking again attaches to it (or, if it finished meanwhile, answers
  # with the file it holds); it neither fails nor buys the file again.
  if [[ $name == downloader && ! -e "$work/downloader-dl/r$r.bin" ]]; then
    poll 20 download "$r" || fail "round $r: download-file after the restart: $(cat "$work/resp.json")"
  fi
  check_tables "round $r, after kill -9 of the $name"
}

refetched=0 resumed_total=0 resumed_rounds=0

# resumed_bytes OUT ROUND: the verified prefix the restarted downloader whose
# output is OUT resumed the round's download from (-1: it resumed nothing).
resumed_bytes() {
  python3 - "$1" "${file_hash[$2]}" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("event") == "download_resumed" and j["fields"]["hash"] == sys.argv[2]:
        print(int(j["values"]["partial_bytes"]))
        break
else:
    print(-1)
EOF
}

# Round 0: the downloader dies once half of a 64 MiB file is verified.
new_file 0 64
t0=$EPOCHREALTIME
poll 20 download 0 || fail "round 0: download-file: $(cat "$work/resp.json")"
half=$((file_size[0] / 2))
# Killed the moment the row says half is verified: nothing else runs in between.
until (($(verified_bytes 0) >= half)); do
  is_done 0 && fail "round 0: the download finished before half of it was seen verified"
  ((SECONDS < deadline)) || fail "round 0: never reached half the file"
done
t_kill=$EPOCHREALTIME
kill9 downloader
t_half=$(python3 -c "print(round($t_kill - $t0, 2))")
after_restart 0 downloader
poll 120 is_done 0 || fail "round 0: the resumed download never finished"
resumed=$(resumed_bytes "$work/downloader.2.out" 0)
((resumed >= half)) || fail "round 0: the restart resumed from $resumed bytes, not from at least $half"
grep -qE '"command_id":[1-9][0-9]*,"event":"download_started".*"resumed":1|"already_had":1' "$work/downloader.2.out" ||
  fail "round 0: the download-file after the restart did not take over the resumed download"
half_fetched=$((file_size[0] - resumed))
refetched=$((refetched + half_fetched))
resumed_total=$((resumed_total + file_size[0]))
resumed_rounds=1
# The relay paces the provider's uploads: a download lasts about size / rate.
ms_per_mib=$((1000 * (1 << 20) / rate))
echo "round 0: kill -9 of the downloader at $((resumed >> 20)) MiB verified of 64 MiB ($t_half s in):" \
  "fetched $half_fetched bytes after the restart"

mib=24
for ((r = 1; r < rounds; r++)); do
  ((SECONDS < deadline - 20)) || fail "only $r rounds fit in the time bound"
  new_file "$r" "$mib"
  full_ms=$((ms_per_mib * mib))
  case $((RANDOM % 4)) in
  0) victim=downloader what="mid-download" delay=$((RANDOM % full_ms)) ;;
  1) victim=provider what="mid-transfer" delay=$((RANDOM % full_ms)) ;;
  2) victim=ledger what="mid-payment" delay=$((full_ms * 3 / 4 + RANDOM % full_ms)) ;;
  *) victim=downloader what="mid-payment (payer)" delay=$((full_ms * 3 / 4 + RANDOM % full_ms)) ;;
  esac
  poll 20 download "$r" || fail "round $r: download-file: $(cat "$work/resp.json")"
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  was_done=no
  is_done "$r" && was_done=yes
  kill9 "$victim"
  after_restart "$r" "$victim"
  poll 120 is_done "$r" || {
    dead_nodes
    fail "round $r: the download never finished after kill -9 of the $victim"
  }
  note=""
  [[ $was_done == yes ]] && note=" (the download had finished)"
  if [[ $victim == downloader && $was_done == no ]]; then
    before=$(resumed_bytes "$work/downloader.${incarnation[downloader]}.out" "$r")
    if ((before >= 0)); then # else it had not been accepted yet: asked again, from 0
      resumed_rounds=$((resumed_rounds + 1))
      refetched=$((refetched + ${file_size[$r]} - before))
      resumed_total=$((resumed_total + ${file_size[$r]}))
      note=", resumed from $before of ${file_size[$r]} bytes"
    fi
  fi
  echo "round $r: kill -9 of the $victim $what after $delay ms$note"
  check_tables "round $r, at its end"
done

# --- the end -------------------------------------------------------------------------
# Every payment settles: the provider's verified bills add up to the price of
# every file (a file may have several bills: one for what was sent before the
# provider was killed, billed when the purchase went idle, and one at its end).
settled_files() {
  q provider "SELECT COUNT(*) FROM (SELECT hash FROM Payments WHERE direction = 'in'
              AND status IN ('verified', 'late_paid') GROUP BY hash HAVING SUM(amount) = $price)"
}
all_settled() { [[ $(settled_files) == "$rounds" ]]; }
poll 90 all_settled || {
  q provider "SELECT lower(hex(hash)), amount, status, reason FROM Payments WHERE direction = 'in' ORDER BY hash" >&2
  fail "the provider was paid the price of $(settled_files) of $rounds files (bills above)"
}
balance_is() { # URL EXPECTED
  [[ $(call GET "$1/api/wallet/balance") == 200 ]] && [[ $(jget "$work/resp.json" 'j["balance"]') == "$2" ]]
}
# The balances moved by exactly what was verified: the provider got every
# verified bill, the payer paid those and a fee per transfer.
got=$(q provider "SELECT COALESCE(SUM(amount), 0) FROM Payments WHERE direction = 'in' AND status IN ('verified', 'late_paid')")
spent=$(q downloader "SELECT COALESCE(SUM(amount), 0) + $fee * COUNT(*) FROM Payments WHERE direction = 'out' AND status = 'verified'")
((got == rounds * price)) || fail "the provider was paid $got for $rounds files at $price"
poll 20 balance_is "$P" "$got" || fail "the provider's balance is not the $got its verified bills add up to"
poll 20 balance_is "$D" "$((fund - spent))" || fail "the downloader's balance is not $fund - $spent (its payments and fees)"
check_tables "at the end"
for ((r = 0; r < rounds; r++)); do
  [[ $(sha256sum "$work/downloader-data/downloads/r$r.bin" | cut -d' ' -f1) == "${file_hash[$r]}" ]] ||
    fail "round $r: the downloaded file does not hash to ${file_hash[$r]}"
done
[[ $(q provider "SELECT COUNT(*) FROM Blacklist WHERE peer = $(s64 "$id_downloader")") == 0 ]] ||
  fail "the honest payer is blacklisted: $(q provider 'SELECT reason FROM Blacklist')"
[[ $(q downloader "SELECT COUNT(*) FROM PartialDownloads") == 0 ]] || fail "PartialDownloads rows are left"

for n in downloader provider ledger; do
  kill -TERM "${pid[$n]}"
done
for n in downloader provider ledger; do
  timeout 15 tail --pid="${pid[$n]}" -f /dev/null || fail "$n did not stop within 15 s of SIGTERM"
  wait "${pid[$n]}" || fail "$n exited with $? after SIGTERM"
done
pids=("$relay") # the nodes are stopped; the EXIT trap stops the relay
live_fail_extra
echo "live_kill9_market: OK rounds=$rounds kills: downloader=${kills[downloader]} provider=${kills[provider]}" \
  "ledger=${kills[ledger]}; after $resumed_rounds downloader restarts mid-download: fetched $refetched bytes" \
  "of $resumed_total (files' total) after resume; provider paid $got of $((rounds * price)); seed $seed; ${SECONDS}s"
