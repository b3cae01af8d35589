"""``tessera sim``: replay Pollux workloads under scheduling policies.

Example:
    $ tessera sim --policy all --workload ../shared/traces/pollux/workloads --plot sim.png
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from flows.cli import app, console, err_console
from tasks.settings import get_settings


@app.command("sim")
def sim_command(
    policy: list[str] = typer.Option(
        ..., "--policy", "-p", help="Policy name; repeat it, or 'all' for every registered one."
    ),
    workload: Path = typer.Option(..., "--workload", "-w", help="Workload CSV or folder of them."),
    traces: Path | None = typer.Option(
        None, "--traces", help="Pollux traces folder (default ../shared/traces/pollux)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summaries as JSON."),
    plot: Path | None = typer.Option(None, "--plot", help="Write JCT CDF + allocation PNG here."),
    placement: str | None = typer.Option(
        None, "--placement", help="Override the policies' placement rule: spread or pack."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the full JSON report (default <data_dir>/reports)."
    ),
    load: float = typer.Option(
        1.0, "--load", help="Load factor: arrival times are divided by it (2.0: twice the load)."
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Resample each workload's jobs with this seed (and seed the noise)."
    ),
    information: str | None = typer.Option(
        None,
        "--information",
        help="Override what the policies see: oracle or online (default: each policy's own).",
    ),
) -> None:
    """Simulate policies on Pollux workloads and report JCT, makespan, utilisation, restarts.

    Each policy is labelled oracle (plans with the trace's true remaining work and step
    times: an upper bound) or online (plans from its jobs' own observations). A run that
    leaves jobs unfinished is reported and fails the command (exit code 1).

    Example: tessera sim --policy optimus --policy doubling-online --workload w.csv --load 1.5
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from tasks.sched.apps import load_apps
    from tasks.sched.experiments import fidelity_rows, plot_results, published_mean_jct
    from tasks.sched.registry import POLICIES
    from tasks.sched.simulator import SimConfig, SimResult, simulate
    from tasks.sched.traces import (
        TraceError,
        find_traces_dir,
        read_workload,
        variant_name,
        workload_files,
        workload_variant,
    )

    if placement not in (None, "spread", "pack"):
        err_console.print(f"[red]--placement must be spread or pack, not {placement!r}")
        raise typer.Exit(2)
    if information not in (None, "oracle", "online"):
        err_console.print(f"[red]--information must be oracle or online, not {information!r}")
        raise typer.Exit(2)
    if not load > 0:
        err_console.print(f"[red]--load must be positive, not {load}")
        raise typer.Exit(2)
    config = SimConfig(
        placement=placement,  # type: ignore[arg-type]
        information=information,  # type: ignore[arg-type]
        seed=seed or 0,
    )
    names = sorted(POLICIES) if "all" in policy else list(dict.fromkeys(policy))
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        err_console.print(
            f"[red]unknown policy {unknown[0]!r}; known: {', '.join(sorted(POLICIES))}, all"
        )
        raise typer.Exit(2)
    try:
        traces_dir = find_traces_dir(traces)
        files = workload_files(workload)
        apps = load_apps(traces_dir)
    except TraceError as exc:
        err_console.print(f"[red]{exc}")
        raise typer.Exit(2) from None

    from tasks.sched.registry import get_policy

    results: list[SimResult] = []
    failed: list[str] = []
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=as_json,
    ) as progress:
        task = progress.add_task("simulating", total=len(files) * len(names))
        for path in files:
            try:
                jobs = workload_variant(read_workload(path), load, seed)
            except TraceError as exc:
                # One bad workload file must not stop the others.
                err_console.print(f"[red]{exc}")
                failed.append(str(path))
                progress.advance(task, len(names))
                continue
            label = variant_name(path.stem, load, seed)
            for name in names:
                progress.update(task, description=f"{label} {name}")
                try:
                    result = simulate(jobs, get_policy(name), apps, config, workload_name=label)
                    results.append(result)
                    if result.unfinished:
                        err_console.print(
                            f"[red]{label} {name}: {result.unfinished} job(s) unfinished at "
                            f"{config.max_time_s:.0f} s: {', '.join(result.unfinished_names[:5])}"
                        )
                        failed.append(f"{label}:{name}:unfinished")
                except (ValueError, TraceError) as exc:
                    err_console.print(f"[red]{label} {name}: {exc}")
                    failed.append(f"{label}:{name}")
                progress.advance(task)
    elapsed = time.perf_counter() - started

    out_dir = out if out is not None else get_settings().data_dir / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report_path = out_dir / f"sim-{stamp}.json"
    report = {
        "traces": str(traces_dir),
        "load": load,
        "seed": seed,
        "elapsed_s": elapsed,
        "runs": [r.to_dict() for r in results],
        "fidelity": fidelity_rows(results),
        "failed": failed,
    }
    tmp = report_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report))
    tmp.replace(report_path)  # no half-written report is left behind
    if plot is not None and results:
        plot_results(results, plot)

    if as_json:
        typer.echo(
            json.dumps(
                {
                    "runs": [r.summary() for r in results],
                    "fidelity": report["fidelity"],
                    "report": str(report_path),
                    "plot": str(plot) if plot else None,
                    "failed": failed,
                },
                indent=2,
            )
        )
    else:
        table = Table(title=f"Simulation ({elapsed:.1f} s)")
        cols = ("workload", "policy", "info", "mean JCT", "p50", "p99", "makespan", "util",
                "restarts", "unfinished")  # fmt: skip
        for col in cols:
            left = col in ("workload", "policy", "info")
            table.add_column(col, justify="left" if left else "right")
        table.add_column("published", justify="right")
        table.add_column("ratio", justify="right")
        for r in results:
            pub = published_mean_jct(r.policy, r.workload)
            table.add_row(
                r.workload,
                r.policy,
                r.information,
                f"{r.mean_jct_s:.1f}",
                f"{r.p50_jct_s:.0f}",
                f"{r.p99_jct_s:.0f}",
                f"{r.makespan_s:.0f}",
                f"{r.gpu_utilisation:.1%}",
                str(r.restarts),
                f"[red]{r.unfinished}" if r.unfinished else "0",
                "" if pub is None else f"{pub:.1f}",
                "" if pub is None else f"{r.mean_jct_s / pub:.3f}",
            )
        console.print(table)
        console.print(f"report: {report_path}" + (f"  plot: {plot}" if plot else ""))
    if failed:
        raise typer.Exit(1)
