"""One scheduling decision at cluster scale: doubling heuristic vs Optimus's +1-PU greedy.

Builds 10,000 jobs with ring all-reduce speed functions (``tasks.sched.instances``) and times
one ``allocate`` call of each policy on the same input, in the same run, on 16,384 PUs. The
target for the doubling heuristic is 50 ms on this machine.

Run:
    uv run python bench/bench_decision.py            # 5 repetitions, median reported
    uv run python bench/bench_decision.py --full     # 20 repetitions, also 100,000 jobs
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


def time_policy(
    policy: Policy, jobs: Sequence[SchedJob], capacity: int, reps: int
) -> tuple[float, float]:
    """Median CPU and wall milliseconds of one ``allocate`` call.

    CPU time is the figure compared with the target: the machine is shared, and wall time
    then counts the time the process waited for a core.
    """
    cpu, wall = [], []
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        policy.allocate(jobs, capacity)
        cpu.append((time.process_time() - c0) * 1e3)
        wall.append((time.perf_counter() - w0) * 1e3)
    return statistics.median(cpu), statistics.median(wall)


def run(num_jobs: int, capacity: int, reps: int) -> None:
    jobs = random_jobs(random.Random(2024), num_jobs)
    doubling, optimus = DoublingPolicy(), OptimusOraclePolicy()
    d_ms, d_wall = time_policy(doubling, jobs, capacity, reps)
    o_ms, o_wall = time_policy(optimus, jobs, capacity, reps)
    d_alloc = {k: v.pus for k, v in doubling.allocate(jobs, capacity).items()}
    o_alloc = {k: v.pus for k, v in optimus.allocate(jobs, capacity).items()}
    d_total, o_total = total_time(jobs, d_alloc), total_time(jobs, o_alloc)
    verdict = "meets" if d_ms <= TARGET_MS else "misses"
    print(f"{num_jobs:,} jobs on {capacity:,} PUs (median of {reps})")
    for name, cpu, wall, alloc, total in (
        ("doubling", d_ms, d_wall, d_alloc, d_total),
        ("optimus", o_ms, o_wall, o_alloc, o_total),
    ):
        print(
            f"  {name:<9} {cpu:7.1f} ms CPU ({wall:7.1f} ms wall)  "
            f"PUs used {sum(alloc.values()):>7,}  total remaining time {total:.4g} s"
        )
    print(f"  optimus / doubling CPU time: {o_ms / d_ms:.2f}x")
    print(f"  doubling {verdict} the {TARGET_MS:.0f} ms target ({d_ms:.1f} ms CPU)")
    print(f"  plan quality, doubling total / optimus total: {d_total / o_total:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="more repetitions and 100k jobs")
    args = parser.parse_args()
    reps = 20 if args.full else 5
    run(10_000, 16_384, reps)
    if args.full:
        run(100_000, 131_072, 3)


if __name__ == "__main__":
    main()
