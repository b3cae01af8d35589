"""How far the doubling heuristic is from the exhaustive optimum on small instances.

Draws random instances (1 to 6 jobs, up to 16 PUs, ring all-reduce speed functions from
``tasks.sched.instances``, half of them with per-job minimum and maximum PUs) and compares the
total remaining time ``sum_j T_j(n_j)`` of each plan with the exact minimum over all integer
allocations. Also reported: the optimum restricted to the counts doubling can reach (minimum
times a power of two, or the maximum), which separates the cost of doubling's coarse steps
from the cost of its greediness, and the leftover-PU variant.

Run:
    uv run python bench/bench_optimality.py          # 300 instances
    uv run python bench/bench_optimality.py --full   # 3,000 instances
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from tasks.sched.doubling import plan_doubling, total_time
from tasks.sched.instances import random_jobs
from tasks.sched.optimum import optimum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="3,000 instances instead of 300")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    count = 3000 if args.full else 300
    rng = random.Random(args.seed)

    ratios: dict[str, list[float]] = {"doubling": [], "doubling+partial": [], "pow2-optimum": []}
    exact = 0
    start = time.perf_counter()
    while len(ratios["doubling"]) < count:
        jobs = random_jobs(rng, rng.randint(1, 6), with_bounds=rng.random() < 0.5)
        need = sum(j.min_pus for j in jobs)
        if need > 16:
            continue
        capacity = rng.randint(need, 16)
        best = optimum(jobs, capacity).total
        heuristic = total_time(jobs, plan_doubling(jobs, capacity).pus)
        partial = total_time(jobs, plan_doubling(jobs, capacity, leftover="partial").pus)
        pow2 = optimum(jobs, capacity, powers_of_two=True).total
        ratios["doubling"].append(heuristic / best)
        ratios["doubling+partial"].append(partial / best)
        ratios["pow2-optimum"].append(pow2 / best)
        exact += heuristic <= best * (1 + 1e-9)
    elapsed = time.perf_counter() - start

    print(f"{count} random instances (<= 6 jobs, <= 16 PUs), seed {args.seed}, {elapsed:.1f} s")
    print("total remaining time / exhaustive optimum:")
    print(f"  {'plan':<18} {'mean':>8} {'p95':>8} {'worst':>8}")
    for name, values in ratios.items():
        p95 = statistics.quantiles(values, n=20)[-1]
        print(f"  {name:<18} {statistics.fmean(values):8.4f} {p95:8.4f} {max(values):8.4f}")
    print(f"  doubling optimal on {exact}/{count} instances ({100 * exact / count:.0f}%)")


if __name__ == "__main__":
    main()
