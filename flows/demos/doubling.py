"""Demo part: the doubling heuristic step by step, then the doubling family on workload 1.

Example:
    $ uv run python -m flows.demo
"""

from __future__ import annotations

import math

from rich.table import Table

from flows.demos import console
from tasks.settings import Settings

ORDER = 41

# The worked example of docs/sched-core.md: remaining seconds by PU count.
EXAMPLE: dict[str, dict[int, float]] = {
    "A": {1: 100, 2: 60, 4: 40, 8: 35},
    "B": {1: 80, 2: 50, 4: 30, 8: 25},
    "C": {1: 30, 2: 20, 4: 18},
}


def run(settings: Settings) -> None:
    """Print the worked example's steps, then simulate workload 1 beside the paper."""
    from tasks.sched.doubling import DoublingPolicy
    from tasks.sched.policy import SchedJob

    jobs = [
        SchedJob(name, 0.0, lambda n, t=times: t.get(n, math.inf))  # type: ignore[misc]
        for name, times in EXAMPLE.items()
    ]
    plan = DoublingPolicy().plan(jobs, 8)
    console.print("doubling on 8 PUs: " + "; ".join(str(s) for s in plan.steps))
    console.print(f"allocation: {plan.pus}")

    from tasks.sched.apps import load_apps
    from tasks.sched.experiments import published_mean_jct
    from tasks.sched.registry import get_policy
    from tasks.sched.simulator import simulate
    from tasks.sched.traces import TraceError, find_traces_dir, read_workload

    try:
        traces = find_traces_dir()
    except TraceError as exc:
        console.print(f"[yellow]skipped the simulation: {exc}")
        return
    apps = load_apps(traces)
    workload = read_workload(traces / "workloads" / "workload-1.csv")
    table = Table(title="Pollux workload 1: mean JCT (s)")
    for col in ("policy", "mean JCT", "restarts"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for name in ("doubling", "doubling-srtf", "doubling-plus"):
        result = simulate(workload, get_policy(name), apps, workload_name="workload-1")
        table.add_row(name, f"{result.mean_jct_s:.0f}", str(result.restarts))
    for name in ("tiresias", "pollux"):
        table.add_row(f"{name} (published)", f"{published_mean_jct(name, 'workload-1'):.0f}", "")
    console.print(table)
