"""Demo part: replay Pollux workload 1 under Optimus+Oracle and Tiresias, beside the paper.

Example:
    $ uv run python -m flows.demo
"""

from __future__ import annotations

from rich.table import Table

from flows.demos import console
from tasks.settings import Settings

ORDER = 40


def run(settings: Settings) -> None:
    """Simulate workload 1, print our mean JCT beside the published one, write a plot."""
    from tasks.sched.apps import load_apps
    from tasks.sched.experiments import fidelity_rows, plot_results, run_matrix
    from tasks.sched.traces import TraceError, find_traces_dir

    try:
        traces = find_traces_dir()
    except TraceError as exc:
        console.print(f"[yellow]skipped: {exc}")
        return
    results = run_matrix(
        [traces / "workloads" / "workload-1.csv"], ["optimus", "tiresias"], load_apps(traces)
    )
    table = Table(title="Pollux workload 1: mean JCT (s)")
    for col in ("policy", "ours", "published", "ratio"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for row in fidelity_rows(results):
        ours, published = f"{row['ours_s']:.1f}", f"{row['published_s']:.1f}"
        table.add_row(row["policy"], ours, published, f"{row['ratio']:.3f}")
    console.print(table)
    plot = plot_results(results, settings.data_dir / "reports" / "sim-workload-1.png")
    console.print(f"plot: {plot}")
    if not all(row["within_tolerance"] for row in fidelity_rows(results)):
        raise RuntimeError("simulator no longer reproduces the published mean JCT within 10 %")
