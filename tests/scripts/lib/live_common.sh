# Shared set-up of the live test scripts, sourced after `set -euo pipefail`:
#   live_init NAME ROOT BIN   checks the arguments, makes $work, and arranges
#                             that every pid added to `pids` is stopped (by its
#                             own id, nothing else) and $work removed on exit,
#                             also when the script fails or is interrupted
#   fail MESSAGE...           prints MESSAGE and the tail of $work/*.out|*.err
#                             (live_tail_lines lines, default 15), exits 1
#   free_port                 a free TCP port on 127.0.0.1
#   need COMMAND              fails unless COMMAND is installed
#   event_field FILE EVENT KEY  a field of the first JSON line with that event

live_init() {
  local name=$1
  root=$2
  bin=$3
  [[ -x "$bin" ]] || { echo "FAIL: $bin is not an executable" >&2; exit 1; }
  [[ -d "$root" ]] || { echo "FAIL: $root is not a folder" >&2; exit 1; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/peerlab-$name.XXXXXX")
  pids=()
  trap live_cleanup EXIT
  trap 'exit 1' INT TERM
}

live_cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true # only processes this script started, by pid
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}

live_tail_lines=15
fail() {
  echo "FAIL: $*" >&2
  if declare -F live_fail_extra >/dev/null; then live_fail_extra; fi
  for f in "$work"/*.out "$work"/*.err; do
    [[ -s "$f" ]] && { echo "--- $f" >&2; tail -n "$live_tail_lines" "$f" | cut -c1-600 >&2; }
  done
  exit 1
}

# Each port once per run: the kernel can hand out a just-closed port again,
# and two nodes given the same port made a script fail at random.
free_port() {
  local p
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    if ! grep -qx "$p" "$work/.ports_given" 2>/dev/null; then
      echo "$p" >>"$work/.ports_given"
      echo "$p"
      return 0
    fi
  done
  echo "FAIL: no fresh free port after 10 tries" >&2
  return 1
}

need() {
  command -v "$1" >/dev/null || { echo "FAIL: $1 is needed" >&2; exit 1; }
}

# event_field FILE EVENT KEY: KEY of the first JSON line of FILE whose "event"
# is EVENT (a node's stdout); empty if there is none yet.
event_field() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("event") == sys.argv[2]:
        print(j.get(sys.argv[3], ""))
        break
' "$@" 2>/dev/null || true
}
