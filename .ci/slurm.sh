#!/usr/bin/env bash
# .ci/slurm.sh -- a throwaway single-node SLURM cluster on localhost, for CI.
#
#   bash .ci/slurm.sh up      install (if missing) + configure + start munged, slurmctld, slurmd;
#                             wait until the node is idle; smoke-test srun and sbatch --wait
#   bash .ci/slurm.sh down    cancel this cluster's jobs, stop exactly the daemons `up` started
#   bash .ci/slurm.sh status  print daemon pids, sinfo and squeue
#   bash .ci/slurm.sh logs    print the tail of every daemon log
#
# Must run as root on Debian 12 (slurm-wlm 22.05 + munge from the Debian archive). Works without
# systemd: every daemon runs in its foreground mode, started in the background by this script, so
# `$!` IS the daemon's pid. Pids are recorded in $SLURM_CI_STATE; `down` signals only those pids,
# after checking /proc/<pid>/comm (never by process name). Both commands are idempotent.
#
# Knobs (environment):
#   SLURM_CI_STATE=/run/nmfbench-slurm   pid files + daemon stdout/stderr
#   SLURM_CI_PARTITION=debug             name of the single (default) partition
#   SLURM_CI_ACCOUNTING=none|slurmdbd    none (default): no accounting DB, so `sacct` answers
#       "accounting storage is disabled" and Snakemake's slurm plugin must poll with
#       `slurm-status-command: squeue` (see workflow/profiles/slurm-ci). slurmdbd: also install
#       MariaDB + slurmdbd (~6 s more); the plugin's default `sacct` polling then works too.
#   SLURM_CI_FORCE=1                     overwrite an /etc/slurm/slurm.conf not written by us
set -euo pipefail

STATE=${SLURM_CI_STATE:-/run/nmfbench-slurm}
PARTITION=${SLURM_CI_PARTITION:-debug}
ACCOUNTING=${SLURM_CI_ACCOUNTING:-none}
MARK="# managed by nmfbench .ci/slurm.sh"
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)   # start order; `down` uses the reverse

case "$ACCOUNTING" in none|slurmdbd) ;; *) echo "SLURM_CI_ACCOUNTING must be none or slurmdbd" >&2; exit 2 ;; esac

log() { printf '[slurm.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

show_logs() {  # daemon stdout/stderr (in -D mode it repeats what goes to /var/log/slurm/*.log)
  local d
  for d in "${DAEMONS[@]}"; do
    [ -s "$STATE/$d.out" ] || continue
    printf -- '----- last lines of %s -----\n' "$STATE/$d.out" >&2
    tail -n 30 "$STATE/$d.out" >&2
  done
}

# ---------------------------------------------------------------- pid bookkeeping
# pid file $STATE/NAME.pid holds "PID COMM"; alive NAME succeeds only if that pid still runs COMM
alive() {
  local pid comm
  { read -r pid comm <"$STATE/$1.pid"; } 2>/dev/null || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]
}

start() {  # start NAME CMD... : CMD must stay in the foreground (or exec into the daemon)
  local name=$1; shift
  nohup "$@" >"$STATE/$name.out" 2>&1 </dev/null &
  echo "$! $name" >"$STATE/$name.pid"
  log "started $name (pid $!)"
}

stop() {  # stop NAME : TERM, then KILL after 20 s, the recorded pid if it still is NAME
  local name=$1 pid comm i
  { read -r pid comm <"$STATE/$name.pid"; } 2>/dev/null || return 0
  if alive "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 40); do alive "$name" || break; sleep 0.5; done
    if alive "$name"; then log "$name (pid $pid) ignored TERM, sending KILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $name (pid $pid)"
  fi
  # slurm daemons leave /run/NAME.pid behind; a stale one breaks `apt-get purge slurmctld` later
  [ "$(cat "/run/$name.pid" 2>/dev/null)" = "$pid" ] && rm -f "/run/$name.pid"
  rm -f "$STATE/$name.pid"
}

wait_for() {  # wait_for SECONDS WHAT CMD...
  local secs=$1 what=$2 i; shift 2
  for i in $(seq $((secs * 2))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "timed out after ${secs}s waiting for $what"
}

node_ready() {  # idle/mix/alloc; resume a node that came up down/drained (ReturnToService quirks)
  case "$(sinfo -h -N -n localhost -o %t 2>/dev/null)" in
    idle|mix|alloc) return 0 ;;
    down*|drain*|drng*|fail*) scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true ;;
  esac
  return 1
}

wanted() { [ "$ACCOUNTING" = slurmdbd ] && echo munged mariadbd slurmdbd slurmctld slurmd || echo munged slurmctld slurmd; }

is_up() {
  local d
  for d in $(wanted); do alive "$d" || return 1; done
  grep -qs "^AccountingStorageType=accounting_storage/${ACCOUNTING}$" /etc/slurm/slurm.conf && node_ready
}

# ---------------------------------------------------------------- install + configure
install_packages() {
  local pkgs=(slurm-wlm munge) missing=() p own_policy=0
  [ "$ACCOUNTING" = slurmdbd ] && pkgs+=(slurmdbd mariadb-server)
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    # keep maintainer scripts from starting their own services (systemd hosts); we start ours
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; own_policy=1
    fi
    local rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      >"$STATE/apt.out" 2>&1 || rc=$?
    [ $own_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ $rc = 0 ] || { tail -n 30 "$STATE/apt.out" >&2; die "apt-get install failed (rc=$rc)"; }
  fi
  log "packages: $(dpkg-query -W -f='${Package}=${Version} ' "${pkgs[@]}")"
}

write_configs() {
  local conf=/etc/slurm/slurm.conf hw cpus mem acct
  if [ -e "$conf" ] && ! grep -qF "$MARK" "$conf"; then
    [ "${SLURM_CI_FORCE:-0}" = 1 ] || die "$conf was not written by this script; refusing to overwrite (SLURM_CI_FORCE=1 to override)"
    cp "$conf" "$conf.bak.$(date +%s)"
  fi
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld /var/log/slurm
  install -d -m 0755 /var/spool/slurmd

  # size the node as slurmd detects it: a RealMemory above what slurmd sees would drain the node
  hw=$(slurmd -C | head -n1)
  cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
  mem=$(( $(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw") * 8 / 10 ))
  if [ "$ACCOUNTING" = slurmdbd ]; then
    acct=$'AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost'
  else
    acct='AccountingStorageType=accounting_storage/none'
  fi
  cat >"$conf" <<EOF
$MARK -- single-node CI cluster, rewritten on every \`up\`
ClusterName=ci
SlurmctldHost=localhost
AuthType=auth/munge
CredType=cred/munge
SlurmUser=slurm
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MailProg=/bin/true
# containers/sandboxes: no cgroups, plain /proc process tracking, no CPU binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# finished jobs stay visible to squeue for 5 min; Snakemake's squeue polling needs >= 3x its first poll delay
MinJobAge=300
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
$acct
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  log "slurm.conf: node localhost CPUs=$cpus RealMemory=${mem}M, partition $PARTITION, accounting $ACCOUNTING"
}

start_accounting() {  # MariaDB + slurmdbd (only with SLURM_CI_ACCOUNTING=slurmdbd)
  local pass=nmfbench-ci   # loopback-only throwaway DB user
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$STATE/mariadb-install-db.out" 2>&1
  start mariadbd /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1
  wait_for 60 mariadb mariadb-admin ping
  mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$pass';
    ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$pass';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  cat >/etc/slurm/slurmdbd.conf <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$pass
StorageLoc=slurm_acct_db
EOF
  chown slurm:slurm /etc/slurm/slurmdbd.conf; chmod 0600 /etc/slurm/slurmdbd.conf   # slurmdbd insists
  start slurmdbd /usr/sbin/slurmdbd -D
  wait_for 60 slurmdbd sacctmgr -n list cluster
}

# ---------------------------------------------------------------- commands
cmd_up() {
  local t0=$SECONDS job out
  [ "$(id -u)" = 0 ] || die "must run as root"
  mkdir -p "$STATE"
  if is_up; then log "already up (pids in $STATE)"; return 0; fi
  # on any failure below: show the daemon logs, then stop whatever this call started
  trap 'rc=$?; if [ $rc != 0 ]; then show_logs; cmd_down; fi' EXIT
  cmd_down   # a half-started cluster of ours from an earlier call
  rm -f "$STATE"/*.out
  install_packages
  write_configs

  # setpriv execs munged (runuser/su would stay behind as the parent and own $!)
  start munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F
  wait_for 15 munge bash -c 'munge -n | unmunge'
  [ "$ACCOUNTING" = slurmdbd ] && start_accounting
  start slurmctld /usr/sbin/slurmctld -D -i     # -D: foreground; drops to SlurmUser itself, same pid
  wait_for 60 slurmctld scontrol ping
  start slurmd /usr/sbin/slurmd -D -N localhost  # -N: the node is "localhost" whatever the hostname
  wait_for 90 "node localhost to become idle" node_ready
  log "cluster up after $((SECONDS - t0))s"

  # smoke tests: an interactive step and a batch job through the whole stack
  out=$(timeout 60 srun -N1 -n1 hostname) || die "srun hostname failed"
  log "srun hostname -> $out"
  job=$(printf '#!/bin/sh\necho "batch job $SLURM_JOB_ID on $(hostname)"\n' |
        timeout 120 sbatch --wait --parsable -o "$STATE/smoke-%j.out") || die "sbatch --wait failed"
  log "sbatch --wait job $job -> $(cat "$STATE/smoke-$job.out")"
  sinfo >&2
  log "up in $((SECONDS - t0))s total"
}

cmd_down() {
  local d ids i
  [ -d "$STATE" ] || return 0
  if alive slurmctld; then   # our private cluster: no job of it may outlive it
    ids=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${ids// }" ]; then
      log "cancelling leftover jobs: $ids"
      scancel $ids 2>/dev/null || true
      for i in $(seq 20); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
    fi
  fi
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop "${DAEMONS[i]}"; done
}

cmd_status() {
  local d pid comm
  for d in "${DAEMONS[@]}"; do
    [ -f "$STATE/$d.pid" ] || continue
    read -r pid comm <"$STATE/$d.pid"
    if alive "$d"; then echo "$d: running (pid $pid)"; else echo "$d: NOT running (stale pid $pid)"; fi
  done
  sinfo 2>&1 || true
  squeue --states=all 2>&1 || true
  is_up
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) show_logs ;;
  *) echo "usage: $0 up|down|status|logs" >&2; exit 2 ;;
esac
