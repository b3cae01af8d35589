"""One scheduling decision at cluster scale: doubling heuristic vs Optimus's +1-PU greedy.

Builds 10,000 jobs with ring all-reduce speed functions (``tasks.sched.instances``) and times
one ``allocate`` call of each policy on the same input, in the same run, on 16,384 PUs. The
target for the doubling heuristic is 50 ms on this machine.

Run:
    uv run python bench/bench_decision.py            # 11 runs per policy
    uv run python bench/bench_decision.py --full     # 30 runs, also 100,000 jobs
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Sequence

from tasks.sched.baselines import OptimusOraclePolicy
from tasks.sched.doubling import DoublingPolicy, total_time
from tasks.sched.instances import random_jobs
from tasks.sched.policy import Policy, SchedJob

TARGET_MS = 50.0


def time_policies(
    policies: Sequence[Policy], jobs: Sequence[SchedJob], capacity: int, reps: int
) -> list[tuple[float, float]]:
    """Best and median CPU milliseconds of one ``allocate`` call of each policy.

    CPU time, not wall time: the machine is shared, and wall time then counts the time the
    process waited for a core. The policies take turns, run by run, so that a burst of load
    from other processes hits both alike; the best run is the figure compared with the target
    (the least disturbed), the median is printed beside it.
    """
    cpu: list[list[float]] = [[] for _ in policies]
    for _ in range(reps):
        for k, policy in enumerate(policies):
            start = time.process_time()
            policy.allocate(jobs, capacity)
            cpu[k].append((time.process_time() - start) * 1e3)
    return [(min(c), statistics.median(c)) for c in cpu]


def run(num_jobs: int, capacity: int, reps: int) -> None:
    jobs = random_jobs(random.Random(2024), num_jobs)
    doubling, optimus = DoublingPolicy(), OptimusOraclePolicy()
    (d_ms, d_median), (o_ms, o_median) = time_policies([doubling, optimus], jobs, capacity, reps)
    d_alloc = {k: v.pus for k, v in doubling.allocate(jobs, capacity).items()}
    o_alloc = {k: v.pus for k, v in optimus.allocate(jobs, capacity).items()}
    d_total, o_total = total_time(jobs, d_alloc), total_time(jobs, o_alloc)
    verdict = "meets" if d_ms <= TARGET_MS else "misses"
    print(f"{num_jobs:,} jobs on {capacity:,} PUs ({reps} runs each)")
    for name, cpu, median, alloc, total in (
        ("doubling", d_ms, d_median, d_alloc, d_total),
        ("optimus", o_ms, o_median, o_alloc, o_total),
    ):
        print(
            f"  {name:<9} {cpu:7.1f} ms CPU best ({median:7.1f} median)  "
            f"PUs used {sum(alloc.values()):>7,}  total remaining time {total:.4g} s"
        )
    print(f"  optimus / doubling CPU time: {o_ms / d_ms:.2f}x")
    print(f"  doubling {verdict} the {TARGET_MS:.0f} ms target ({d_ms:.1f} ms CPU)")
    print(f"  plan quality, doubling total / optimus total: {d_total / o_total:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="more repetitions and 100k jobs")
    args = parser.parse_args()
    reps = 30 if args.full else 11
    run(10_000, 16_384, reps)
    if args.full:
        run(100_000, 131_072, 3)


if __name__ == "__main__":
    main()
