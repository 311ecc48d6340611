#!/usr/bin/env bash
# Install and start a one-node Slurm cluster on this machine, for the job-array test of
# tests/test_cluster.py. Run as root. Idempotent: quick when the cluster already answers.
#
# What it sets up (Debian's slurm-wlm and munge, no systemd needed):
#   - munge with a key in /etc/munge/munge.key, munged running as the munge user;
#   - /etc/slurm/slurm.conf for this host only: slurmctld and slurmd on this machine,
#     ProctrackType=proctrack/linuxproc and TaskPlugin=task/none (no cgroups at all),
#     select/cons_tres on cores, one partition "debug" with this node;
#   - slurmctld and slurmd started as background daemons, then waits until `sinfo`
#     shows the node idle.
# Exits non-zero with a message on stderr when any step fails.
set -euo pipefail

PARTITION=debug
WAIT_SECONDS=${SLURM_SETUP_WAIT:-60}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf

die() {
  echo "slurm-setup: $*" >&2
  exit 1
}
say() { echo "slurm-setup: $*"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, starts daemons)"

NODE=$(hostname -s)
node_idle() {
  command -v sinfo >/dev/null 2>&1 || return 1
  local state
  state=$(sinfo --noheader --nodes="$NODE" --format=%t 2>/dev/null | head -n1) || return 1
  [[ "$state" == idle* || "$state" == mix* || "$state" == alloc* ]]
}

# Fast path: already up.
ctld_up() { [[ "$(scontrol ping 2>/dev/null || true)" == *UP* ]]; }
if node_idle && ctld_up; then
  say "already running: node $NODE is $(sinfo --noheader --nodes="$NODE" --format=%t)"
  exit 0
fi

# -- packages ------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 \
  || ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "no apt-get: install slurm-wlm and munge by hand"
  say "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  policy=$(apt-cache policy slurm-wlm munge)
  [ "$(grep -c "Candidate: [0-9]" <<<"$policy")" -eq 2 ] \
    || die "no slurm-wlm/munge package candidate in the apt sources"
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null \
    || die "apt-get install slurm-wlm munge failed"
fi
for tool in slurmctld slurmd sbatch sinfo scontrol munged; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found after installing slurm-wlm"
done

# -- munge -----------------------------------------------------------------------------
id munge >/dev/null 2>&1 || die "no munge user (the munge package creates it)"
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  say "creating the munge key"
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "starting munged"
  rm -f /run/munge/munged.pid
  runuser -u munge -- munged || die "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null 2>&1 || die "munge does not answer after starting munged"
fi

# -- slurm.conf ------------------------------------------------------------------------
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024}' /proc/meminfo)
# Leave room for the system; about 20000 MB on a 24 GiB machine.
REAL_MEM=$((MEM_MB * 82 / 100))
install -d -m 0755 $CONF_DIR /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
WANT=$(
  cat <<EOF
# Written by .ci/slurm-setup.sh: a one-node cluster on $NODE, no cgroups.
ClusterName=zoomingonline
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=60
NodeName=$NODE CPUs=$CPUS RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
)
if [ ! -f $CONF ] || [ "$(cat $CONF)" != "$WANT" ]; then
  say "writing $CONF (node $NODE, $CPUS CPUs, $REAL_MEM MB)"
  printf '%s\n' "$WANT" >$CONF
  RESTART=1
else
  RESTART=0
fi
# Nothing in this setup uses cgroups; an empty cgroup.conf keeps slurmd from guessing.
[ -f $CONF_DIR/cgroup.conf ] || printf '# no cgroups: proctrack/linuxproc, task/none\n' \
  >$CONF_DIR/cgroup.conf

# -- daemons ---------------------------------------------------------------------------
running() { # pidfile
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}
stop() { # pidfile
  if running "$1"; then
    kill "$(cat "$1")" 2>/dev/null || true
    for _ in $(seq 50); do running "$1" || break; sleep 0.1; done
  fi
}
if [ "$RESTART" -eq 1 ]; then
  stop /run/slurmd.pid
  stop /run/slurmctld.pid
fi
if ! running /run/slurmctld.pid; then
  say "starting slurmctld"
  slurmctld || die "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
fi
for _ in $(seq 100); do
  ctld_up && break
  sleep 0.2
done
ctld_up \
  || die "slurmctld does not answer; $(tail -n 5 /var/log/slurm/slurmctld.log 2>/dev/null)"
if ! running /run/slurmd.pid; then
  say "starting slurmd"
  slurmd || die "slurmd did not start; $(tail -n 5 /var/log/slurm/slurmd.log 2>/dev/null)"
fi

deadline=$((SECONDS + WAIT_SECONDS))
while ! node_idle; do
  state=$(sinfo --noheader --nodes="$NODE" --format=%t 2>/dev/null | head -n1 || true)
  if [[ "$state" == down* || "$state" == drain* ]]; then
    scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
  fi
  if [ $SECONDS -ge $deadline ]; then
    die "node $NODE is '${state:-unknown}', not idle, after ${WAIT_SECONDS}s;" \
      "slurmd log: $(tail -n 5 /var/log/slurm/slurmd.log 2>/dev/null)"
  fi
  sleep 1
done
say "ready: partition $PARTITION, node $NODE $(sinfo --noheader --nodes="$NODE" --format=%t)"
