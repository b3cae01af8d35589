"""Online vs oracle scheduling on the 8 Pollux workloads, at several loads.

For each load: mean JCT per workload of the online policy (estimates from the jobs' own
observations), of the same policy with the oracle (how much the estimates cost), of Tiresias
in the same run, and Pollux's published number at 1.0x. The means are split into workloads
1-4 (where every constant of the online policy was chosen) and 5-8 (held out), and over all 8.
Every run is checked for unfinished jobs.

Run:
    uv run python bench/bench_online.py                      # 1.0x load, 8 workloads
    uv run python bench/bench_online.py --loads 0.5,1.5,2.0  # the load-sensitivity check
    uv run python bench/bench_online.py --seeds 0,1,2        # noise seeds (mean over them)
Needs ../shared/traces/pollux (or --traces DIR).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.sched.apps import load_apps
from tasks.sched.experiments import PUBLISHED_MEAN_JCT_S
from tasks.sched.registry import DEFAULT_ONLINE, get_policy
from tasks.sched.simulator import SimConfig, simulate
from tasks.sched.traces import TraceError, find_traces_dir, read_workload, workload_variant

TUNING, HELD_OUT = (1, 2, 3, 4), (5, 6, 7, 8)


def run_load(
    apps: dict, workloads: dict, load: float, online: str, oracle: bool, seeds: list[int]
) -> dict[str, dict[int, float]]:
    """Mean JCT per workload of each column (online, oracle, tiresias), averaged over seeds."""
    columns: dict[str, dict[int, float]] = {"online": {}, "tiresias": {}}
    if oracle:
        columns["oracle"] = {}
    for k, jobs in workloads.items():
        variant = workload_variant(jobs, load)
        for column in columns:
            means = []
            for seed in seeds if column == "online" else seeds[:1]:
                name = "tiresias" if column == "tiresias" else online
                info = {"online": "online", "oracle": "oracle", "tiresias": None}[column]
                config = SimConfig(information=info, seed=seed)  # type: ignore[arg-type]
                result = simulate(variant, get_policy(name), apps, config, f"workload-{k}")
                if result.unfinished:
                    sys.exit(f"{name} left {result.unfinished} jobs unfinished on workload {k}")
                means.append(result.mean_jct_s)
            columns[column][k] = statistics.fmean(means)
    return columns


def print_load(load: float, columns: dict[str, dict[int, float]], numbers: list[int]) -> None:
    print(f"\n### {load:g}x load: mean JCT (s)\n")
    print("| policy | " + " | ".join(f"w{k}" for k in numbers) + " | 1-4 | 5-8 | all |")
    print("|---" * (len(numbers) + 4) + "|")
    rows = dict(columns)
    if load == 1.0:
        rows["pollux (published)"] = {k: PUBLISHED_MEAN_JCT_S["pollux"][k - 1] for k in numbers}

    def mean(values: dict[int, float], group: tuple[int, ...] | list[int]) -> str:
        picked = [values[k] for k in group if k in values]
        return f"{statistics.fmean(picked):.0f}" if picked else "-"

    for label, values in rows.items():
        cells = " | ".join(f"{values[k]:.0f}" for k in numbers)
        print(
            f"| {label} | {cells} | {mean(values, TUNING)} | {mean(values, HELD_OUT)} "
            f"| {mean(values, numbers)} |"
        )
    online, tiresias = columns["online"], columns["tiresias"]
    wins = sum(online[k] < tiresias[k] for k in numbers)
    ratio = statistics.fmean(online.values()) / statistics.fmean(tiresias.values())
    print(f"\nonline beats tiresias on {wins}/{len(numbers)} workloads; mean ratio {ratio:.3f}")
    if "oracle" in columns:
        gap = statistics.fmean(online.values()) / statistics.fmean(columns["oracle"].values())
        print(f"online / oracle (the cost of the estimates): {gap:.3f}")
    if load == 1.0:
        pollux = statistics.fmean(rows["pollux (published)"].values())
        print(f"online / pollux (published): {statistics.fmean(online.values()) / pollux:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=DEFAULT_ONLINE, help="the online policy")
    parser.add_argument("--loads", default="1.0", help="comma-separated load factors")
    parser.add_argument("--seeds", default="0", help="comma-separated noise seeds")
    parser.add_argument("--workloads", default="1,2,3,4,5,6,7,8")
    parser.add_argument("--no-oracle", action="store_true", help="skip the oracle column")
    parser.add_argument("--traces", type=Path, default=None)
    args = parser.parse_args()
    try:
        traces = find_traces_dir(args.traces)
    except TraceError as exc:
        sys.exit(f"skipped: {exc}")
    apps = load_apps(traces)
    numbers = [int(k) for k in args.workloads.split(",")]
    workloads = {k: read_workload(traces / "workloads" / f"workload-{k}.csv") for k in numbers}
    seeds = [int(s) for s in args.seeds.split(",")]
    for load in (float(x) for x in args.loads.split(",")):
        start = time.perf_counter()
        columns = run_load(apps, workloads, load, args.policy, not args.no_oracle, seeds)
        print_load(load, columns, numbers)
        print(f"({time.perf_counter() - start:.0f} s wall)")


if __name__ == "__main__":
    main()
