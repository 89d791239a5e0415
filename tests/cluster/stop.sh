#!/usr/bin/env bash
# Stop the one-node SLURM cluster of tests/cluster/start.sh (its daemons, by their PID files).
state="${CYCLEBENCH_SLURM_STATE:-/tmp/cyclebench-slurm}"
pidfiles=("$state/slurmd.pid" "$state/slurmctld.pid" "$state/munge/run/munged.pid")
for pidfile in "${pidfiles[@]}"; do
    if [ -s "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
done
sleep 1
rm -f "${pidfiles[@]}"
