#!/usr/bin/env bash
# peerlab testbed: a scenario as live node processes. Checks that a run
# passes its checkers and lands in the results file as world 'live', that
# churn kills and restarts processes, that SIGINT mid-run stops every node and
# removes the work folder, and the node control channel the testbed drives.
# Usage: live_testbed.sh REPO_ROOT PEERLAB_BINARY
set -euo pipefail

source "$(dirname "$0")/lib/live_common.sh"
live_init testbed "${1:?repo root}" "${2:?peerlab binary}"
live_tail_lines=30

# Processes whose command line names FOLDER (the testbed's nodes run
# `peerlab node --config FOLDER/nK/node.json`).
procs_in() { pgrep -f -- "$1/" || true; }

# 1. A passing run, stored as a live run.
"$bin" testbed "$root/scenarios/parity/filexfer.json" --out "$work/r.db" --dir "$work/tb1" \
  --quiet >"$work/run1.out" 2>"$work/run1.err" || fail "the filexfer testbed run failed"
grep -qx "passed live" "$work/run1.out" || fail "expected 'passed live'"
[[ ! -e "$work/tb1" ]] || fail "the work folder was not removed"
[[ -z "$(procs_in "$work/tb1")" ]] || fail "node processes outlived the testbed"
python3 - "$work/r.db" <<'PY' || fail "the results file does not hold the live run"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("select world, status, fingerprint, summary from runs").fetchall()
assert len(rows) == 1, rows
world, status, fp, summary = rows[0]
assert (world, status, fp) == ("live", "ok", "live"), rows[0][:3]
s = json.loads(summary)
d = s["downloads"]
assert d["completed"] >= 10 and d["failed"] == 0 and d["corrupt_accepted"] == 0, d
assert s["frames"]["sent"] > 0 and s["frames"]["delivered"] > 0, s["frames"]
assert s["churn"]["starts"] == 11, s["churn"]
assert s["testbed"]["setup_seconds"] > 0, s["testbed"]
import os
# As root every node runs in its own network namespace (docs/testbed.md, Network).
want = "netns" if os.geteuid() == 0 else "loopback"
assert s["testbed"]["network"] == want, s["testbed"]
# Each node's own SQLite rows are collected too (node_rows).
tables = dict(db.execute("select tbl, count(*) from node_rows group by tbl").fetchall())
assert tables.get("DownloadFiles", 0) == d["completed"], tables
print("live run stored:", d["completed"], "downloads,", s["frames"]["sent"], "frames,", sum(tables.values()), "node rows")
PY

# 2. Churn: crashes (SIGKILL) and graceful leaves, restarts on the same folder.
cat >"$work/churn.json" <<'EOF'
{
  "name": "testbed_churn", "seed": 5, "duration": "14s",
  "groups": [
    {"name": "seeders", "count": 2, "roles": ["provider"]},
    {"name": "leechers", "count": 5, "roles": [{"role": "downloader", "request_timeout": "1s"}]}
  ],
  "churn": [{"group": "leechers", "session": {"dist": "exponential", "mean": "3s"},
             "downtime": {"dist": "constant", "value": "1s"}, "crash": 0.5}],
  "workload": [
    {"kind": "files", "name": "f", "count": 4, "size": "256KiB", "providers": ["seeders"]},
    {"kind": "downloads", "group": "leechers", "files": "f",
     "interval": {"dist": "constant", "value": "1s"}, "start": "1s", "stop": "10s", "max_per_node": 4}
  ],
  "checkers": [{"check": "no_corrupt_accepted"}]
}
EOF
"$bin" testbed "$work/churn.json" --out "$work/r.db" --dir "$work/tb2" --quiet --network loopback \
  >"$work/run2.out" 2>"$work/run2.err" || fail "the churn testbed run failed"
[[ -z "$(procs_in "$work/tb2")" ]] || fail "node processes outlived the churn run"
python3 - "$work/r.db" <<'PY' || fail "churn did not kill and restart nodes"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
s = json.loads(db.execute("select summary from runs where scenario_name='testbed_churn'").fetchone()[0])
c = s["churn"]
assert c["crashes"] + c["leaves"] >= 3, c
assert c["starts"] > 7, c  # restarted incarnations said "listening" again
assert s["testbed"]["network"] == "loopback", s["testbed"]
print("churn:", c)
PY

# 3. SIGINT mid-run: every node stops, the folder goes, the run is still stored.
"$bin" testbed "$root/scenarios/parity/dht.json" --out "$work/r.db" --dir "$work/tb3" \
  >"$work/run3.out" 2>"$work/run3.err" &
tb=$!
pids+=("$tb")
for _ in $(seq 1 100); do
  [[ $(procs_in "$work/tb3" | wc -l) -ge 20 ]] && break
  sleep 0.1
done
[[ $(procs_in "$work/tb3" | wc -l) -ge 20 ]] || fail "the dht testbed did not start its 20 nodes"
kill -INT "$tb"
rc=0
wait "$tb" || rc=$?
[[ $rc -le 1 ]] || fail "the interrupted testbed exited with $rc"
[[ -z "$(procs_in "$work/tb3")" ]] || fail "node processes outlived an interrupted testbed"
[[ ! -e "$work/tb3" ]] || fail "an interrupted testbed left its work folder"

# 4. The control channel, by hand: refusals name what was wrong, end of input stops the node.
cat >"$work/ctl.json" <<EOF
{"name": "ctl", "listen": "127.0.0.1:0", "data_dir": "ctl-data", "roles": ["kad"], "control": "stdin"}
EOF
python3 - "$bin" "$work/ctl.json" <<'PY' || fail "the control channel misbehaved"
import json, subprocess, sys
p = subprocess.Popen([sys.argv[1], "node", "--config", sys.argv[2]], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
lines = ['not json', '{"id": 5, "role": "nosuch", "verb": "x"}',
         '{"id": 6, "role": "kad", "verb": "frobnicate"}',
         '{"id": 7, "role": "kad", "verb": "find_node", "args": ["' + "ab" * 32 + '"]}']
out, _ = p.communicate("\n".join(lines) + "\n", timeout=20)
assert p.returncode == 0, p.returncode
ev = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
by = lambda k: [e for e in ev if e.get("event") == k]
assert by("control_error") and by("control_error")[0]["line"] == 1, ev
failed = {e["command_id"]: e for e in by("command_failed")}
assert 5 in failed and "no role" in failed[5]["fields"]["reason"], failed
assert 6 in failed and failed[6]["values"]["code"] == 400, failed
assert any(e.get("command_id") == 7 for e in ev if e["event"] != "command_failed"), ev
assert by("stopped")[0]["reason"] == "control closed", by("stopped")
print("control channel ok")
PY
echo "live_testbed: ok"
