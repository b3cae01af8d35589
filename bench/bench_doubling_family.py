"""The doubling family on the 8 Pollux workloads, beside the published numbers.

For each policy: mean JCT per workload and overall, and the diagnostics used to find out why
the claims-faithful heuristic trails: restarts, the share of GPU time lost to restarts, GPU
utilisation, and the mean JCT per application (where the time goes).

Run:
    uv run python bench/bench_doubling_family.py          # doubling, -srtf, -plus, -online
    uv run python bench/bench_doubling_family.py --full   # every doubling variant + baselines
    uv run python bench/bench_doubling_family.py --policy doubling --workloads 1,2
Needs ../shared/traces/pollux (or --traces DIR).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from tasks.sched.apps import load_apps
from tasks.sched.experiments import PUBLISHED_MEAN_JCT_S
from tasks.sched.registry import get_policy, information
from tasks.sched.simulator import SimConfig, SimResult, simulate
from tasks.sched.traces import TraceError, find_traces_dir, read_workload

QUICK = ["doubling", "doubling-srtf", "doubling-plus", "doubling-online"]
FULL = [
    "doubling",
    "doubling-restart-aware",
    "doubling-goodput",
    "doubling-srtf",
    "doubling-srtf-goodput",
    "doubling-plus",
    "doubling-online-claims",
    "doubling-online",
    "optimus",
    "tiresias",
]
APPS = ["cifar10", "ncf", "bert", "deepspeech2", "yolov3", "imagenet"]


def restart_gpu_share(result: SimResult, restart_s: float) -> float:
    """GPU-seconds spent restarting over all GPU-seconds used."""
    lost = 0.0
    prev: dict[str, int] = {}
    for _, alloc in result.timeline:
        lost += sum(restart_s * n for name, n in alloc.items() if prev.get(name, 0) != n)
        prev = alloc
    used = sum(j.gpu_s for j in result.jobs)
    return lost / used if used else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="all variants and the baselines")
    parser.add_argument("--policy", action="append", help="policy name (repeatable)")
    parser.add_argument("--workloads", default="1,2,3,4,5,6,7,8", help="comma-separated 1..8")
    parser.add_argument("--traces", type=Path, default=None)
    args = parser.parse_args()
    try:
        traces = find_traces_dir(args.traces)
    except TraceError as exc:
        sys.exit(f"skipped: {exc}")
    apps = load_apps(traces)
    numbers = [int(k) for k in args.workloads.split(",")]
    workloads = {k: read_workload(traces / "workloads" / f"workload-{k}.csv") for k in numbers}
    policies = args.policy or (FULL if args.full else QUICK)
    config = SimConfig()

    header = " | ".join(f"w{k}" for k in numbers)
    rows, diag = [], []
    for name in policies:
        start = time.perf_counter()
        means, restarts, shares, utils = [], [], [], []
        per_app: dict[str, list[float]] = defaultdict(list)
        for k, jobs in workloads.items():
            result = simulate(jobs, get_policy(name), apps, config, workload_name=f"workload-{k}")
            means.append(result.mean_jct_s)
            restarts.append(result.restarts)
            shares.append(restart_gpu_share(result, config.restart_s))
            utils.append(result.gpu_utilisation)
            for job in result.jobs:
                if job.jct_s is not None:
                    per_app[job.application].append(job.jct_s)
        elapsed = time.perf_counter() - start
        cells = " | ".join(f"{m:.0f}" for m in means)
        rows.append(
            f"| {name} (ours, {information(name)}) | {cells} | {statistics.fmean(means):.0f} |"
        )
        app_cells = " | ".join(
            f"{statistics.fmean(per_app[a]):.0f}" if per_app[a] else "-" for a in APPS
        )
        diag.append(
            f"| {name} | {statistics.fmean(restarts):.0f} | {100 * statistics.fmean(shares):.1f}% "
            f"| {100 * statistics.fmean(utils):.0f}% | {app_cells} |"
        )
        print(f"{name}: mean {statistics.fmean(means):.0f} s ({elapsed:.0f} s)", file=sys.stderr)

    print(f"\nMean JCT (s), 1.0x load\n\n| policy | {header} | mean |")
    print("|---" * (len(numbers) + 2) + "|")
    print("\n".join(rows))
    for name, values in PUBLISHED_MEAN_JCT_S.items():
        picked = [values[k - 1] for k in numbers]
        cells = " | ".join(f"{v:.0f}" for v in picked)
        print(f"| {name} (published) | {cells} | {statistics.fmean(picked):.0f} |")
    print("\nDiagnostics (means over the workloads; JCT per application in s)\n")
    print(f"| policy | restarts | GPU time restarting | GPU util | {' | '.join(APPS)} |")
    print("|---" * (len(APPS) + 4) + "|")
    print("\n".join(diag))


if __name__ == "__main__":
    main()
