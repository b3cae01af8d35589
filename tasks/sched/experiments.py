"""Run policies over workloads, compare with the published numbers, and plot the results.

Example:
    >>> apps = load_apps(find_traces_dir())  # doctest: +SKIP
    >>> results = run_matrix(workload_files(find_traces_dir() / "workloads"),
    ...                      ["optimus", "tiresias"], apps)  # doctest: +SKIP
    >>> max(abs(r["ratio"] - 1) for r in fidelity_rows(results)) < 0.1  # doctest: +SKIP
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tasks.sched.apps import AppModel
from tasks.sched.registry import get_policy
from tasks.sched.simulator import SimConfig, SimResult, simulate
from tasks.sched.traces import read_workload

# Average JCT (s) of the Pollux paper at 1.0x load (OSDI 2021), per workload 1..8.
PUBLISHED_MEAN_JCT_S: dict[str, tuple[float, ...]] = {
    "optimus": (4087.1, 6913.9, 3944.0, 5967.8, 5656.2, 5301.9, 7290.9, 6293.8),
    "tiresias": (2473.7, 5145.0, 3876.3, 3280.3, 3501.0, 3469.7, 5479.9, 5079.7),
    "pollux": (2088.8, 3322.9, 2188.5, 2721.0, 2673.7, 2446.1, 3616.1, 2951.9),
}
FIDELITY_TOLERANCE = 0.10


def published_mean_jct(policy: str, workload: str) -> float | None:
    """Published mean JCT for ``policy`` on ``workload-<k>``, or ``None`` if unknown.

    Example:
        >>> published_mean_jct("tiresias", "workload-1")
        2473.7
    """
    table = PUBLISHED_MEAN_JCT_S.get(policy)
    prefix = "workload-"
    if table is None or not workload.startswith(prefix) or not workload[len(prefix) :].isdigit():
        return None
    index = int(workload[len(prefix) :]) - 1
    return table[index] if 0 <= index < len(table) else None


def run_matrix(
    workloads: Sequence[Path],
    policies: Sequence[str],
    apps: Mapping[str, AppModel],
    config: SimConfig | None = None,
    on_done: Callable[[SimResult], None] | None = None,
) -> list[SimResult]:
    """Simulate every policy on every workload file (a fresh policy per run).

    Example:
        >>> run_matrix([], ["optimus"], {})
        []
    """
    results = []
    for path in workloads:
        jobs = read_workload(path)
        for name in policies:
            result = simulate(jobs, get_policy(name), apps, config, workload_name=path.stem)
            results.append(result)
            if on_done is not None:
                on_done(result)
    return results


def fidelity_rows(results: Sequence[SimResult]) -> list[dict[str, Any]]:
    """Our mean JCT beside the published one, for the runs that have a published number.

    Example:
        >>> fidelity_rows([])
        []
    """
    rows = []
    for r in results:
        published = published_mean_jct(r.policy, r.workload)
        if published is None:
            continue
        ratio = r.mean_jct_s / published
        rows.append(
            {
                "policy": r.policy,
                "workload": r.workload,
                "ours_s": r.mean_jct_s,
                "published_s": published,
                "ratio": ratio,
                "within_tolerance": abs(ratio - 1) <= FIDELITY_TOLERANCE,
            }
        )
    return rows


def plot_results(results: Sequence[SimResult], path: Path) -> Path:
    """Write a PNG: JCT CDF per policy (all workloads pooled) and GPUs allocated over time.

    Example:
        >>> plot_results(results, Path("data/reports/sim.png"))  # doctest: +SKIP
        PosixPath('data/reports/sim.png')
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (cdf_ax, alloc_ax) = plt.subplots(1, 2, figsize=(13, 4.8))
    policies = list(dict.fromkeys(r.policy for r in results))
    for policy in policies:
        jcts = np.sort(np.concatenate([r.jcts for r in results if r.policy == policy]))
        if len(jcts):
            cdf_ax.plot(jcts, np.arange(1, len(jcts) + 1) / len(jcts), label=policy)
    cdf_ax.set_xscale("log")
    cdf_ax.set_xlabel("job completion time (s)")
    cdf_ax.set_ylabel("fraction of jobs")
    cdf_ax.set_title("JCT CDF")
    cdf_ax.legend()
    first = results[0].workload if results else ""
    for r in results:
        if r.workload == first and r.timeline:
            hours = [t / 3600 for t, _ in r.timeline]
            alloc_ax.step(hours, [sum(a.values()) for _, a in r.timeline], label=r.policy)
    if results:
        alloc_ax.axhline(results[0].capacity, color="grey", linestyle=":", linewidth=1)
    alloc_ax.set_xlabel("time (h)")
    alloc_ax.set_ylabel("GPUs allocated")
    alloc_ax.set_title(f"allocation over time ({first})")
    alloc_ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def mean_of(values: Sequence[float]) -> float:
    """Mean that is NaN for no values."""
    return sum(values) / len(values) if values else math.nan
