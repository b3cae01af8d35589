"""Measured scaling of a real job at 1, 2 and 4 PUs against the fitted speed function.

Each PU count runs the same job for a fixed number of steps (a real DDP/gloo run through
the launcher) and reports its steady-state step time and throughput. The speed function
of the scheduler core (:mod:`tasks.sched.speed`) is fitted to those samples (step and sync
seconds, as the reschedule flow does) and its predicted throughput is set side by side
with the measurement. When the PUs outnumber the host's cores (4 PUs on a 2-core machine),
each sample carries the share of a core its ranks measured and the prediction multiplies by
the share the placement implies (``core_share``); the table shows both. Also reported: the
prediction for 4 PUs from a fit to 1 and 2 PUs only (held out). Target: error <= 15%.

    uv run python bench/bench_scaling.py          # mlp, 150 steps per PU count
    uv run python bench/bench_scaling.py --full   # mlp and cnn, 400 steps
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="mlp and cnn, longer runs")
    args = parser.parse_args()

    from bench._cluster import bench_cluster, run_steps
    from tasks.sched.speed import SpeedModel, SpeedSample, core_share
    from tasks.training.cluster import cores_per_node
    from tasks.training.spec import JobSpec

    models = ["mlp", "cnn"] if args.full else ["mlp"]
    if os.environ.get("BENCH_MODELS"):
        models = os.environ["BENCH_MODELS"].split(",")
    steps = 400 if args.full else 150
    print(f"host: {os.cpu_count()} CPUs, 1 torch thread per PU")
    worst = 0.0
    with bench_cluster(4) as (settings, client, store):
        cores = cores_per_node(client)
        for model in models:
            measured: dict[int, list[SpeedSample]] = {}
            for n in (1, 2, 4):
                spec = JobSpec(name=f"scale-{model}-{n}", model=model, epochs=1000, batch_size=32)
                job = run_steps(settings, client, store, spec, n, steps)
                samples = [s for s in store.samples(job.id) if s.step_s][1:]  # skip warm-up
                measured[n] = [
                    SpeedSample(
                        n=n,
                        nodes=1,
                        per_pu_batch=32,
                        step_s=s.step_s or 0.0,
                        sync_s=(s.sync_s or 0.0) if n > 1 else 0.0,
                        share=s.share,
                    )
                    for s in samples
                ]
            fit_all = SpeedModel.fit([s for v in measured.values() for s in v])
            fit_12 = SpeedModel.fit(measured[1] + measured[2])
            print(
                f"\n{model}: {'PUs':>4} {'share':>5} {'measured/s':>11} {'fit/s':>9} {'err':>6} "
                f"{'held-out fit/s':>15} {'err':>6}"
            )
            for n, samples in measured.items():
                step = statistics.median(s.step_s for s in samples)
                thr = n * 32 / step
                share = core_share(n, cores)
                pred = fit_all.throughput(n, 1, 32, share)
                err = abs(pred - thr) / thr
                worst = max(worst, err)
                held = fit_12.throughput(n, 1, 32, share)
                print(
                    f"{'':>{len(model) + 1}} {n:>4} {samples[0].share:>5.1f} {thr:>11.0f} "
                    f"{pred:>9.0f} {err:>6.1%} {held:>15.0f} {abs(held - thr) / thr:>6.1%}"
                )
    print(f"\nworst in-sample prediction error: {worst:.1%} (target <= 15%)")


if __name__ == "__main__":
    main()
