#!/usr/bin/env bash
# Start (or restart) a one-node SLURM cluster on this machine for `make test-cluster`:
# munged, slurmctld and slurmd, the config in /etc/slurm/slurm.conf, state and logs under
# $CYCLEBENCH_SLURM_STATE (default /tmp/cyclebench-slurm).  Needs the Debian packages
# slurm-wlm and munge (`make cluster-setup` installs them) and root (slurmd launches the jobs).
# Idempotent: a running cluster of this state folder is stopped first.  Prints the sinfo line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${CYCLEBENCH_SLURM_STATE:-/tmp/cyclebench-slurm}"
for cmd in munged slurmctld slurmd sinfo sbatch squeue srun; do
    command -v "$cmd" >/dev/null || {
        echo "tests/cluster/start.sh: '$cmd' not found: install slurm-wlm and munge first" \
             "(make cluster-setup, as root)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "tests/cluster/start.sh: run as root (slurmd starts the jobs" \
                             "as their submitting user)" >&2; exit 2; }
"$here/stop.sh" >/dev/null 2>&1 || true
mkdir -p "$state/ctld" "$state/d" "$state/munge/run" "$state/munge/lib" "$state/munge/log"
cpus="$(nproc)"
mem_mb="$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))"
# The config goes to SLURM's default path: the jobstep plugin drops every SLURM_* variable
# (SLURM_CONF too) before it calls srun inside a job, so a config elsewhere never reaches srun
# ("srun: fatal: Could not establish a configuration source").  A foreign config is kept.
conf=/etc/slurm/slurm.conf
if [ -e "$conf" ] && ! grep -q "^ClusterName=cyclebench$" "$conf"; then
    echo "tests/cluster/start.sh: $conf exists and is not this test's; not overwriting it" >&2
    exit 2
fi
mkdir -p /etc/slurm
sed -e "s|@USER@|$(id -un)|" -e "s|@STATE@|$state|g" -e "s|@CPUS@|$cpus|" \
    -e "s|@MEM_MB@|$mem_mb|" -e "s|@CTLD_PORT@|${CYCLEBENCH_SLURMCTLD_PORT:-6817}|" \
    -e "s|@D_PORT@|${CYCLEBENCH_SLURMD_PORT:-6818}|" \
    "$here/slurm.conf.in" > "$conf"
# munge: a fresh key, its own socket (MUNGE_SOCKET would not reach slurmd's plugin: use the
# packaged default socket path, which slurm's auth/munge plugin reads)
install -d -m 0700 /etc/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
chmod 0400 /etc/munge/munge.key
install -d -m 0755 /run/munge
munged --force --key-file /etc/munge/munge.key --pid-file "$state/munge/run/munged.pid" \
       --log-file "$state/munge/log/munged.log" --seed-file "$state/munge/lib/munged.seed"
slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 60); do
    if sinfo -h -o "%T" 2>/dev/null | grep -qx idle; then
        echo "SLURM up: $conf"
        sinfo
        exit 0
    fi
    sleep 1
done
echo "tests/cluster/start.sh: the node did not become idle within 60 s; see $state/*.log" >&2
sinfo >&2 || true
tail -n 20 "$state"/slurmctld.log "$state"/slurmd.log >&2 || true
exit 1
