"""Demo part: elastic training of three jobs on a 4-PU local cluster, outer loop on a timer.

Starts ``tessera cluster up --pus 4`` (unless a cluster is configured or already up),
submits three jobs at different times, runs the reschedule flow every few seconds until all
of them finish, prints each iteration's allocation and the final accuracies, and draws the
PU allocation over time into ``data/reports/training-allocation.png``.

Example:
    $ uv run python -m flows.demo
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table

from flows.demos import console
from tasks.settings import Settings
from tasks.training.spec import JobSpec
from tasks.training.store import AllocationEntry, JobStore

ORDER = 20
INTERVAL_S = 3.0
TIMEOUT_S = 420.0


def _jobs(stamp: str) -> list[tuple[float, JobSpec]]:
    """(seconds after start, spec): three jobs arriving over time."""
    return [
        (0.0, JobSpec(name=f"demo-mlp-{stamp}", model="mlp", epochs=30, batch_size=8, lr=0.01)),
        (
            8.0,
            JobSpec(
                name=f"demo-cnn-{stamp}", model="cnn", epochs=6, batch_size=8, lr=0.01, max_pus=4
            ),
        ),
        (
            16.0,
            JobSpec(
                name=f"demo-transformer-{stamp}",
                model="transformer",
                epochs=4,
                batch_size=32,
                lr=0.002,
                optimizer="adam",
                max_pus=2,
            ),
        ),
    ]


def plot_allocation(history: list[AllocationEntry], names: list[str], path: Path) -> None:
    """Stacked step plot of PUs per job over time (one step per outer iteration)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = min(a.at for a in history)
    times = sorted({a.at for a in history})
    series = {n: [0] * len(times) for n in names}
    index = {t: i for i, t in enumerate(times)}
    for a in history:
        if a.job in series:
            series[a.job][index[a.at]] = a.pus
    xs = [t - t0 for t in times]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.stackplot(xs, *series.values(), labels=list(series), step="post", alpha=0.85)
    ax.set_xlabel("seconds since the first outer iteration")
    ax.set_ylabel("PUs")
    ax.set_title("PU allocation per outer iteration (doubling heuristic)")
    ax.set_ylim(0, max(a.capacity for a in history) + 0.5)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(settings: Settings) -> None:
    """Run the demo part (see the module docstring)."""
    from flows.reschedule import reschedule
    from tasks.training.cluster import cluster_address, cluster_down, cluster_up, is_reachable
    from tasks.training.security import dask_security

    settings.ensure_dirs()
    started_here = False
    address = cluster_address(settings)
    if address is None or not is_reachable(address, dask_security(settings)):
        with console.status("starting a 4-PU local Dask cluster"):
            info = cluster_up(settings, 4)
        started_here = True
        console.print(f"cluster up at {info.address} ({info.pus} PU workers)")
    store = JobStore(settings.job_store_url)
    stamp = time.strftime("%H%M%S")
    plan = _jobs(stamp)
    names = [spec.name for _, spec in plan]
    t0 = time.monotonic()
    try:
        pending = list(plan)
        while time.monotonic() - t0 < TIMEOUT_S:
            elapsed = time.monotonic() - t0
            while pending and pending[0][0] <= elapsed:
                spec = pending.pop(0)[1]
                store.submit(spec)
                console.print(f"[{elapsed:5.1f} s] submitted [bold]{spec.name}[/bold]")
            result = reschedule(settings, stop_timeout_s=60, rank_timeout_s=30)
            mine = {n: c for n, c in result["allocation"].items() if n in names}
            console.print(
                f"[{time.monotonic() - t0:5.1f} s] iteration {result['iteration']}: "
                + (", ".join(f"{n.rsplit('-', 1)[0]}={c}" for n, c in mine.items()) or "-")
            )
            states = {j.name: j.state for j in store.jobs() if j.name in names}
            if not pending and all(
                s in ("completed", "failed", "cancelled") for s in states.values()
            ):
                break
            time.sleep(INTERVAL_S)
        table = Table(title="final state")
        for col in ("job", "state", "test accuracy", "launches", "PU-seconds", "error"):
            table.add_column(col)
        for name in names:
            job = store.get(name)
            table.add_row(
                name,
                job.state,
                "" if job.metric is None else f"{job.metric:.3f}",
                str(job.generation),
                f"{job.attained_pu_s:.1f}",
                job.error or "",
            )
        console.print(table)
        history = [a for a in store.allocations() if a.job in names]
        if history:
            png = settings.data_dir / "reports" / "training-allocation.png"
            plot_allocation(history, names, png)
            console.print(f"PU allocation over time: {png}")
        unfinished = [n for n in names if store.get(n).state != "completed"]
        if unfinished:
            raise RuntimeError(f"jobs not completed: {', '.join(unfinished)}")
    finally:
        store.close()
        if started_here:
            cluster_down(settings)
