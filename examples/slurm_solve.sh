#!/bin/bash
# Solve many plans on GPU nodes as a SLURM job array: each task solves one slice of the plans,
# resumably, and a dependent job merges the slices.
#
#   sbatch examples/slurm_solve.sh                       # submits the array (and the merge, below)
#
# Each task writes results/out-<i>.parquet (+ .labour.parquet, + .shard.json). A task that is killed or
# pre-empted (SLURM --requeue) is simply run again: --chunk keeps every finished chunk of plans in
# results/out-<i>.parquet.parts/ and the rerun solves only the rest.  Exit codes: 0 done, 2 bad input,
# 3 not converged, 4 out of memory, 5 interrupted, 6 backend unavailable, 7 store busy or damaged.
#
#SBATCH --job-name=bigplan-solve
#SBATCH --array=0-7
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --mem=32G
#SBATCH --time=02:00:00
#SBATCH --requeue
#SBATCH --output=logs/solve-%A_%a.log

set -euo pipefail

ECONOMY=${ECONOMY:-data/economy.npz}    # a one-file economy (Economy.save), a pymrio folder, .mtx, .parquet...
PLANS=${PLANS:-data/plans.parquet}      # products x plans
SHARDS=${SLURM_ARRAY_TASK_COUNT:-8}
mkdir -p results logs

if [[ -n "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    # SLURM sends SIGTERM before killing a task at its time limit: bigplan stops with exit code 5 and keeps
    # its finished chunks; the requeued task continues from there.
    bigplan solve --economy "$ECONOMY" --plans "$PLANS" --backend auto \
        --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" --chunk 256 \
        --out "results/out-${SLURM_ARRAY_TASK_ID}.parquet" --json \
        > "results/summary-${SLURM_ARRAY_TASK_ID}.json"

    # the first task submits the merge, to run once every task of the array has succeeded
    if [[ "${SLURM_ARRAY_TASK_ID}" == "0" && -z "${BIGPLAN_MERGE_SUBMITTED:-}" ]]; then
        sbatch --dependency="afterok:${SLURM_ARRAY_JOB_ID}" --job-name=bigplan-merge \
            --output=logs/merge-%j.log --wrap \
            "bigplan merge results/out-*.parquet.shard.json --out results/all.parquet --overwrite --json"
        export BIGPLAN_MERGE_SUBMITTED=1
    fi
fi
