#!/usr/bin/env bash
# The CLI as a user meets it: exit codes, error messages naming the JSON path,
# invalid scenarios writing nothing, appended runs, reproduction commands.
set -uo pipefail
ROOT=${1:?repo root}
PEERLAB=${2:?peerlab binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

# validate: good file.
if "$PEERLAB" validate "$ROOT/scenarios/quickstart.json" >"$work/out" 2>&1; then ok; else bad "validate quickstart"; cat "$work/out"; fi

# validate and run: bad file -> exit 2, error names the path, nothing written.
python3 - "$ROOT/scenarios/quickstart.json" "$work/bad.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["groups"][2]["count"] = "ten"
json.dump(s, open(sys.argv[2], "w"))
PY
"$PEERLAB" validate "$work/bad.json" >"$work/out" 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "validate bad file exit $rc"
grep -q 'groups\[2\].count: expected a positive integer, got "ten"' "$work/out" && ok || { bad "error text"; cat "$work/out"; }
"$PEERLAB" run "$work/bad.json" --out "$work/never.db" >"$work/out" 2>&1; rc=$?
[ $rc = 2 ] && ok || bad "run bad file exit $rc"
[ ! -e "$work/never.db" ] && ok || bad "an invalid scenario created a results file"

# run twice into one file: two runs, same fingerprint.
"$PEERLAB" run "$ROOT/scenarios/quickstart.json" --out "$work/r.db" >"$work/run1" 2>&1 && ok || bad "run quickstart"
"$PEERLAB" run "$ROOT/scenarios/quickstart.json" --out "$work/r.db" --quiet >"$work/run2" 2>&1 && ok || bad "run quickstart again"
n=$(sqlite3 "$work/r.db" "SELECT COUNT(*) FROM runs; " 2>/dev/null)
[ "$n" = 2 ] && ok || bad "expected 2 runs, got $n"
d=$(sqlite3 "$work/r.db" "SELECT COUNT(DISTINCT fingerprint) FROM runs;")
[ "$d" = 1 ] && ok || bad "same seed gave $d fingerprints"
grep -q '^fingerprint ' "$work/run1" && grep -q 'downloads ' "$work/run1" && grep -q 'seed 42' "$work/run1" && ok || bad "summary lines missing"

# a failing checker: exit 1 and the exact reproduction command.
python3 - "$ROOT/scenarios/quickstart.json" "$work/fail.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["network"]["faults"]["loss"] = 1.0
json.dump(s, open(sys.argv[2], "w"))
PY
"$PEERLAB" run "$work/fail.json" --seed 9 --out "$work/f.db" >"$work/out" 2>&1; rc=$?
[ $rc = 1 ] && ok || bad "failing checker exit $rc"
grep -q "peerlab run $work/fail.json --seed 9" "$work/out" && ok || { bad "no reproduction command"; cat "$work/out"; }

# check: deterministic, and across engines.
"$PEERLAB" check "$ROOT/scenarios/quickstart.json" --against direct >"$work/out" 2>&1 && grep -q '^deterministic' "$work/out" && ok || { bad "check"; cat "$work/out"; }

# sweep: three seeds appended.
"$PEERLAB" sweep "$ROOT/scenarios/quickstart.json" --seeds 1..3 --out "$work/s.db" >"$work/out" 2>&1 && ok || { bad "sweep"; cat "$work/out"; }
n=$(sqlite3 "$work/s.db" "SELECT COUNT(DISTINCT seed) FROM runs;")
[ "$n" = 3 ] && ok || bad "sweep stored $n seeds"

# bad usage.
"$PEERLAB" run >/dev/null 2>&1; rc=$?; [ $rc = 2 ] && ok || bad "run without file exit $rc"
"$PEERLAB" run "$ROOT/scenarios/quickstart.json" --seed minus-one >/dev/null 2>&1; rc=$?; [ $rc = 2 ] && ok || bad "bad seed exit $rc"
"$PEERLAB" frobnicate >/dev/null 2>&1; rc=$?; [ $rc = 2 ] && ok || bad "unknown command exit $rc"
# a results file that belongs to something else is refused.
sqlite3 "$work/other.db" "CREATE TABLE t(x); INSERT INTO t VALUES(1);"
"$PEERLAB" run "$ROOT/scenarios/quickstart.json" --out "$work/other.db" >"$work/out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "not a peerlab results file" "$work/out" && ok || bad "foreign db exit $rc"

# help: `peerlab help`, `peerlab help CMD` and `CMD --help`/`-h` print the
# usage and exit 0 for every subcommand `peerlab help` lists; an unknown
# option exits 2 and names the option; docs/cli.md has a section for each.
"$PEERLAB" help >"$work/help" 2>&1 && grep -q '^usage: peerlab' "$work/help" && ok || bad "peerlab help"
"$PEERLAB" --help >/dev/null 2>&1 && ok || bad "peerlab --help"
grep -q '3 runtime failure' "$work/help" && ok || bad "peerlab help lists no exit codes"
subs=$(sed -n '/^subcommands:/,/^exit codes/p' "$work/help" | awk '/^  [a-z]/ {print $1}')
[ "$(echo "$subs" | wc -w)" -ge 9 ] && ok || bad "peerlab help lists too few subcommands: $subs"
for c in $subs "set upload" "set get" "set list"; do
  for h in --help -h; do
    # shellcheck disable=SC2086 # "set upload" is two words
    "$PEERLAB" $c $h >"$work/out" 2>&1; rc=$?
    [ $rc = 0 ] && grep -q "^usage: peerlab" "$work/out" && ok || bad "peerlab $c $h exit $rc"
  done
  # shellcheck disable=SC2086
  "$PEERLAB" help $c >"$work/out" 2>&1; rc=$?
  [ $rc = 0 ] && grep -q "^usage: peerlab" "$work/out" && ok || bad "peerlab help $c exit $rc"
  # shellcheck disable=SC2086
  "$PEERLAB" $c --no-such-option >"$work/out" 2>&1; rc=$?
  [ $rc = 2 ] && grep -q -- "--no-such-option" "$work/out" && ok ||
    { bad "peerlab $c --no-such-option exit $rc"; cat "$work/out"; }
  grep -q "^## \`peerlab $c" "$ROOT/docs/cli.md" && ok || bad "docs/cli.md has no section for $c"
done
# The usage blocks of these sections are the --help text itself (up to the
# shared exit-code lines): docs and binary cannot drift apart.
for c in sweep merge droplog-table mirror drop-gateway; do
  "$PEERLAB" $c --help | sed '/^exit codes:/,$d' >"$work/help_$c"
  awk -v h="## \`peerlab $c\`" '$0 == h {s = 1; next} s && /^```/ {if (in_block) exit; in_block = 1; next} in_block' \
    "$ROOT/docs/cli.md" >"$work/doc_$c"
  diff -u "$work/doc_$c" "$work/help_$c" >"$work/diff_$c" && ok ||
    { bad "docs/cli.md \`peerlab $c\` differs from --help"; cat "$work/diff_$c"; }
done
"$PEERLAB" help frobnicate >/dev/null 2>&1; rc=$?; [ $rc = 2 ] && ok || bad "help of an unknown command exit $rc"
"$PEERLAB" >/dev/null 2>&1; rc=$?; [ $rc = 2 ] && ok || bad "no subcommand exit $rc"
"$PEERLAB" run "$ROOT/scenarios/quickstart.json" --seed >"$work/out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "option --seed needs a value" "$work/out" && ok || bad "missing value exit $rc"
"$PEERLAB" mirror "$work" "$work/m" --delay soon >"$work/out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q 'delay: expected a duration' "$work/out" && ok || bad "bad duration exit $rc"

# a runtime failure (the gateway's address is taken) exits 3.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1]); time.sleep(20)' "$work/taken" &
holder=$!
for _ in $(seq 1 200); do [ -s "$work/taken" ] && break; sleep 0.05; done
printf '{"side": "a", "name": "a", "peer": "b", "key": "%s", "out_dir": "%s", "in_dir": "%s",
 "listen": "127.0.0.1:%s", "run_for": "1s"}\n' "$(printf '%032d' 0)" "$work/o" "$work/i" \
  "$(cat "$work/taken")" >"$work/gw.json"
"$PEERLAB" drop-gateway --config "$work/gw.json" >"$work/out" 2>&1; rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
[ $rc = 3 ] && ok || { bad "drop-gateway on a taken port exit $rc"; cat "$work/out"; }

echo "cli contract: $passed passed, $failed failed"
[ $failed = 0 ]
