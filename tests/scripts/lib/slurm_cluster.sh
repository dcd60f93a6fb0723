# A throwaway single-node Slurm cluster (munge + slurmctld + slurmd) for one
# test, as /work/shared/notes/slurm.md measured it: private ports, no systemd,
# cgroups or accounting, all state under one folder. Needs root. Sourced after
# `set -euo pipefail`:
#   slurm_missing            prints why a cluster cannot start here (not root,
#                            packages missing); prints nothing if it can
#   slurm_start DIR          starts the daemons with state in DIR (created;
#                            mode 755 as munged wants); exports SLURM_CONF;
#                            waits until the node is idle
#   slurm_stop               scancels what is left, stops the three daemons by
#                            the pids it started (TERM, then KILL), idempotent
# The caller's EXIT trap must call slurm_stop.

slurm_pids=()

slurm_missing() {
  [[ "$(id -u)" == 0 ]] || { echo "not root (slurmd needs root)"; return; }
  local c
  for c in munged slurmctld slurmd sbatch squeue scontrol sinfo scancel; do
    command -v "$c" >/dev/null 2>&1 || [[ -x /usr/sbin/$c ]] ||
      { echo "$c is not installed (apt-get install slurmctld slurmd slurm-client munge)"; return; }
  done
}

slurm_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

slurm_start() {
  slurm_dir=$1
  mkdir -p "$slurm_dir"/{munge,state,spool,log}
  chmod 755 "$slurm_dir" "$slurm_dir/munge"
  local host ctl_port d_port node
  host=$(hostname -s)
  ctl_port=$(slurm_free_port)
  d_port=$(slurm_free_port)
  while [[ "$d_port" == "$ctl_port" ]]; do d_port=$(slurm_free_port); done
  slurm_ports=("$ctl_port" "$d_port")
  head -c 1024 /dev/urandom >"$slurm_dir/munge/munge.key"
  chmod 400 "$slurm_dir/munge/munge.key"
  PATH=$PATH:/usr/sbin munged --foreground --force --key-file="$slurm_dir/munge/munge.key" \
    --socket="$slurm_dir/munge/munge.socket" --pid-file="$slurm_dir/munge/munged.pid" \
    --log-file="$slurm_dir/log/munged.log" --seed-file="$slurm_dir/munge/munge.seed" \
    >"$slurm_dir/log/munged.out" 2>&1 &
  slurm_pids+=($!)
  for _ in $(seq 1 100); do [[ -S "$slurm_dir/munge/munge.socket" ]] && break; sleep 0.05; done
  [[ -S "$slurm_dir/munge/munge.socket" ]] || { echo "munged did not start:" >&2; cat "$slurm_dir"/log/munged.* >&2; return 1; }
  node=$(/usr/sbin/slurmd -C | head -n 1)
  cat >"$slurm_dir/slurm.conf" <<CONF
ClusterName=peerlabtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$slurm_dir/munge/munge.socket
StateSaveLocation=$slurm_dir/state
SlurmdSpoolDir=$slurm_dir/spool
SlurmctldPidFile=$slurm_dir/slurmctld.pid
SlurmdPidFile=$slurm_dir/slurmd.pid
SlurmctldLogFile=$slurm_dir/log/slurmctld.log
SlurmdLogFile=$slurm_dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MinJobAge=300
ReturnToService=2
MailProg=/bin/true
$node NodeAddr=127.0.0.1
PartitionName=peerlab Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$slurm_dir/slurm.conf
  /usr/sbin/slurmctld -D -f "$SLURM_CONF" >"$slurm_dir/log/slurmctld.out" 2>&1 &
  slurm_pids+=($!)
  /usr/sbin/slurmd -D -N "$host" -f "$SLURM_CONF" >"$slurm_dir/log/slurmd.out" 2>&1 &
  slurm_pids+=($!)
  local state=""
  for _ in $(seq 1 200); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    [[ "$state" == idle ]] && return 0
    sleep 0.1
  done
  echo "the Slurm node is not idle after 20 s (state: '$state')" >&2
  tail -n 20 "$slurm_dir"/log/*.log >&2 || true
  return 1
}

slurm_stop() {
  ((${#slurm_pids[@]})) || return 0
  if [[ -n "${SLURM_CONF:-}" ]]; then
    timeout 5 scancel --user=root 2>/dev/null || true
  fi
  local p
  for p in "${slurm_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${slurm_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${slurm_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${slurm_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  slurm_pids=()
}
