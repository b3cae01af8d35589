"""Measured scaling of a real job at 1, 2 and 4 PUs against the fitted speed function.

One job runs for a fixed number of steps on 1, then 2, then 4 PUs (real DDP/gloo launches
through the launcher, each resuming from the previous launch's checkpoint, as the reschedule
flow moves a job). Its stored samples are turned into the scheduler's view exactly as the
reschedule flow does (:func:`tasks.training.estimate.job_view`: step and sync seconds, the
share of a core each launch measured, warm-up steps left out) and the fitted speed function's
throughput is set beside the measured one at each PU count. Four PUs on a 2-core host share
the cores; the prediction multiplies by the share the placement implies (``core_share``).
Also reported: the prediction for 4 PUs from the 1- and 2-PU samples only (held out).
Target: in-sample error <= 15%.

    uv run python bench/bench_scaling.py          # mlp, 300 steps per PU count
    uv run python bench/bench_scaling.py --full   # mlp and cnn, 600 steps
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PU_COUNTS = (1, 2, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="mlp and cnn, longer runs")
    args = parser.parse_args()

    from bench._cluster import bench_cluster, run_steps
    from tasks.sched.speed import core_share
    from tasks.training.cluster import cores_per_node
    from tasks.training.estimate import job_view, steady_samples
    from tasks.training.spec import JobSpec

    models = ["mlp", "cnn"] if args.full else ["mlp"]
    steps = 600 if args.full else 300
    print(f"host: {os.cpu_count()} CPUs, 1 torch thread per PU, {steps} steps per PU count")
    worst = 0.0
    with bench_cluster(max(PU_COUNTS)) as (settings, client, store):
        cores = cores_per_node(client)
        per_node = max(PU_COUNTS)
        for model in models:
            spec = JobSpec(name=f"scale-{model}", model=model, epochs=1000, batch_size=32)
            for n in PU_COUNTS:
                job = run_steps(settings, client, store, spec, n, steps)
            samples = store.samples(job.id)
            fit_all = job_view(job, samples, per_node, cores).model
            held_out = job_view(job, [s for s in samples if s.pus <= 2], per_node, cores).model
            print(
                f"\n{model}: {'PUs':>4} {'share':>5} {'measured/s':>11} {'fit/s':>9} {'err':>6} "
                f"{'held-out fit/s':>15} {'err':>6}"
            )
            for n in PU_COUNTS:
                steady = [s for s in steady_samples(samples) if s.pus == n]
                measured = n * spec.batch_size / statistics.median(s.step_s or 0 for s in steady)
                share = core_share(n, cores)
                pred = fit_all.throughput(n, 1, spec.batch_size, share)
                held = held_out.throughput(n, 1, spec.batch_size, share)
                err = abs(pred - measured) / measured
                worst = max(worst, err)
                print(
                    f"{'':>{len(model) + 1}} {n:>4} {steady[0].share:>5.1f} {measured:>11.0f} "
                    f"{pred:>9.0f} {err:>6.1%} {held:>15.0f} "
                    f"{abs(held - measured) / measured:>6.1%}"
                )
            p = fit_all.params
            compute_ms = 1e3 * (p.c0 + p.c1 * spec.batch_size)
            print(
                f"{'':>{len(model) + 1}} fit: c0+c1*b {compute_ms:.2f} ms, "
                f"c_dist {1e3 * p.c_dist:.2f} ms, g_intra {1e3 * p.g_intra:.2f} ms, "
                f"l_intra {1e3 * p.l_intra:.2f} ms"
            )
    print(f"\nworst in-sample prediction error: {worst:.1%} (target <= 15%)")


if __name__ == "__main__":
    main()
