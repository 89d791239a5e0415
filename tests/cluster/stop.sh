#!/usr/bin/env bash
# Stop the one-node SLURM cluster of tests/cluster/start.sh (its daemons, by their PID files).
state="${CYCLEBENCH_SLURM_STATE:-/tmp/cyclebench-slurm}"
for pidfile in "$state/slurmd.pid" "$state/slurmctld.pid" "$state/munge/run/munged.pid"; do
    if [ -s "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
done
sleep 1
rm -f "$state/slurmd.pid" "$state/slurmctld.pid" "$state/munge/run/munged.pid"
