"""``tessera reschedule``: run one outer iteration of the elastic scheduler now.

Example:
    $ tessera reschedule --policy doubling
"""

from __future__ import annotations

import typer

from flows.cli import app, console, err_console
from tasks.settings import get_settings

# The registry's names, spelled out so that --help needs no scheduler import (a test keeps
# the two equal).
POLICY_NAMES: tuple[str, ...] = (
    "doubling",
    "doubling-goodput",
    "doubling-online",
    "doubling-online-claims",
    "doubling-plus",
    "doubling-restart-aware",
    "doubling-srtf",
    "doubling-srtf-goodput",
    "fifo",
    "optimus",
    "tiresias",
)


@app.command("reschedule")
def reschedule(
    policy: str | None = typer.Option(
        None,
        help="Scheduling policy: one of " + ", ".join(POLICY_NAMES) + ". Default: the "
        "reschedule flow's (the best policy that plans from online estimates).",
    ),
) -> None:
    """Run one outer iteration now: refit each job's estimates, run the policy, stop the
    jobs whose PUs changed, launch new ones, record the allocation."""
    from rich.table import Table

    from flows.reschedule import reschedule as run_iteration
    from tasks.sched.registry import POLICIES
    from tasks.training.cluster import ClusterError, cluster_address, is_reachable
    from tasks.training.security import dask_security

    if policy is not None and policy not in POLICIES:
        err_console.print(
            f"[red]error:[/red] --policy: unknown policy {policy!r} ({', '.join(sorted(POLICIES))})"
        )
        raise typer.Exit(2)
    settings = get_settings()
    address = cluster_address(settings)
    if address is None:  # fail before a Prefect server or run is even started
        err_console.print(
            "[red]error:[/red] no Dask cluster: run `tessera cluster up --pus N` "
            "or set TESSERA_DASK_ADDRESS"
        )
        raise typer.Exit(1)
    if not is_reachable(address, dask_security(settings)):
        err_console.print(
            f"[red]error:[/red] the Dask cluster at {address} does not answer "
            "(`tessera cluster up --pus N` starts one)"
        )
        raise typer.Exit(1)
    from flows.runtime import prefect_api

    try:
        with (
            err_console.status("outer iteration: refit, decide, stop, launch"),
            prefect_api(settings),
        ):
            chosen = {} if policy is None else {"policy": policy}
            result = run_iteration(settings, **chosen)
    except ClusterError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    table = Table(title=f"outer iteration {result['iteration']} ({result['capacity']} PUs)")
    for col in ("job", "pus", "workers"):
        table.add_column(col)
    for name, pus in result["allocation"].items():
        table.add_row(name, str(pus), ", ".join(result["placement"].get(name, [])))
    console.print(table)
    for key in ("stopped", "launched", "lost"):
        if result[key]:
            console.print(f"{key}: {', '.join(result[key])}")
