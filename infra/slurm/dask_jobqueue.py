"""Start Dask workers as Slurm jobs with dask-jobqueue, one GPU per worker.

Run on a login node (``uv pip install dask-jobqueue`` first), then point Tessera at the
printed address with ``TESSERA_DASK_ADDRESS``. Each worker is single-threaded and carries
the resources ``GPU=1,PU=1`` that Tessera's training ranks and GPU ingest stages ask for.

Example:
    $ python infra/slurm/dask_jobqueue.py --gpus 16 --partition gpu
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    from dask_jobqueue import SLURMCluster

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gpus", type=int, default=8, help="GPU workers to start")
    parser.add_argument("--partition", default="gpu")
    parser.add_argument("--walltime", default="08:00:00")
    args = parser.parse_args()
    cluster = SLURMCluster(
        queue=args.partition,
        cores=8,
        processes=1,
        memory="64GB",
        walltime=args.walltime,
        job_extra_directives=["--gres=gpu:1"],
        worker_extra_args=["--nthreads", "1", "--resources", "GPU=1,PU=1"],
    )
    cluster.scale(jobs=args.gpus)
    print(f"TESSERA_DASK_ADDRESS={cluster.scheduler_address}", flush=True)
    try:
        while True:
            time.sleep(60)
    except KeyboardInterrupt:
        cluster.close()


if __name__ == "__main__":
    main()
