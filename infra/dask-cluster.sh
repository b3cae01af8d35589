#!/usr/bin/env bash
# Start a Dask scheduler and PU workers by hand (what `tessera cluster up` does for you).
#   infra/dask-cluster.sh [N_PUS] [SCHEDULER_PORT]
# CPU host: N single-threaded workers with the resource PU=1.
# GPU host: one worker per GPU, pinned with CUDA_VISIBLE_DEVICES, resources PU=1,GPU=1
# (the same layout dask-cuda's LocalCUDACluster gives).
set -euo pipefail
n=${1:-4}
port=${2:-8786}
host=${DASK_HOST:-127.0.0.1}   # every socket (scheduler, workers, nannies, dashboards) binds here
cd "$(dirname "$0")/.."
uv=$(bash infra/uv.sh) || { echo "dask-cluster: uv not found: run make setup first" >&2; exit 1; }
# PU workers' Dask settings (no malloc trimming; see the file).
export DASK_CONFIG=${DASK_CONFIG:-$PWD/tasks/training/dask}
"$uv" run --frozen dask scheduler --host "$host" --port "$port" --dashboard-address "$host:8787" &
sleep 3
gpus=$(command -v nvidia-smi >/dev/null && nvidia-smi -L | wc -l || echo 0)
if [ "$gpus" -gt 0 ]; then
  for i in $(seq 0 $((gpus - 1))); do
    CUDA_VISIBLE_DEVICES=$i "$uv" run --frozen dask worker "tcp://$host:$port" --nworkers 1 \
      --host "$host" --dashboard-address "$host:0" --nthreads 1 --resources "PU=1,GPU=1" --preload tasks.training.preload --name "gpu-$i" &
  done
else
  for i in $(seq 0 $((n - 1))); do
    "$uv" run --frozen dask worker "tcp://$host:$port" --nworkers 1 --nthreads 1 \
      --host "$host" --dashboard-address "$host:0" --resources "PU=1" --preload tasks.training.preload --name "pu-$i" &
  done
fi
echo "Dask scheduler tcp://$host:$port (dashboard http://$host:8787); Ctrl-C stops the cluster"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT INT TERM
wait
