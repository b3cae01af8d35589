"""Restart overhead of an elastic job: stop request -> first step at the new world size.

For each model size (mlp, cnn, transformer) a job trains on 2 PUs, is asked to stop (all
ranks stop at a step boundary, rank 0 checkpoints), and is relaunched on 4 PUs (default run:
1 PU) from the checkpoint. Reported: seconds from the stop request to the first step of the
new launch, and that overhead in steady-state steps of the new launch.

    uv run python bench/bench_restart.py          # mlp and cnn, 2 -> 1 PUs
    uv run python bench/bench_restart.py --full   # all three models, 2 -> 4 PUs
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="three models, 2 -> 4 PUs")
    args = parser.parse_args()

    from bench._cluster import bench_cluster, wait_state
    from tasks.training import launcher
    from tasks.training.cluster import pu_workers
    from tasks.training.spec import JobSpec

    models = ["mlp", "cnn", "transformer"] if args.full else ["mlp", "cnn"]
    target = 4 if args.full else 1
    print(f"{'model':>12} {'params':>8} {'restart s':>10} {'step s':>8} {'steps lost':>11}")
    with bench_cluster(4) as (settings, client, store):
        workers = pu_workers(client)
        for model in models:
            from tasks.training.workloads import build_workload

            spec = JobSpec(name=f"restart-{model}", model=model, epochs=1000, batch_size=16)
            params = sum(p.numel() for p in build_workload(spec).model.parameters())
            job = store.submit(spec)
            launcher.launch(
                client,
                store,
                job,
                workers[:2],
                checkpoint_root=settings.checkpoint_root,
                sample_every_s=0.25,
            )
            deadline = time.monotonic() + 300
            while len(store.samples(job.id)) < 4:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{model}: no progress")
                time.sleep(0.1)
            t_stop = time.time()
            launcher.request_stop(client, store, store.get(job.id))
            job = wait_state(store, spec.name, ("queued",))
            launcher.launch(
                client,
                store,
                job,
                workers[:target],
                checkpoint_root=settings.checkpoint_root,
                sample_every_s=0.25,
            )
            gen = job.generation + 1
            while len([s for s in store.samples(job.id) if s.generation == gen]) < 4:
                time.sleep(0.1)
            new = [s for s in store.samples(job.id) if s.generation == gen]
            step_s = statistics.median(s.step_s for s in new[1:] if s.step_s)
            first = new[0]
            restart_s = first.at - t_stop - (first.step_s or 0.0)
            print(
                f"{model:>12} {params:>8} {restart_s:>10.2f} {step_s:>8.4f} "
                f"{restart_s / step_s:>11.0f}"
            )
            launcher.request_stop(client, store, store.get(job.id))
            wait_state(store, spec.name, ("queued",))
    print(
        f"(2 -> {target} PUs; restart = stop at a step boundary + checkpoint + relaunch + "
        "rendezvous + restore)"
    )


if __name__ == "__main__":
    main()
