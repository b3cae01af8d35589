"""``tessera serve``: serve Tessera's deployments to a Prefect server.

Example:
    $ PREFECT_API_URL=http://127.0.0.1:4200/api tessera serve
"""

from __future__ import annotations

import typer

from flows.cli import app, console


@app.command("serve")
def serve_command(
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Most flow runs at once across the deployments."
    ),
    list_only: bool = typer.Option(
        False, "--list", help="Print the deployments that would be served, then exit."
    ),
) -> None:
    """Serve the ingest, backfill and reschedule deployments (start runs from the Prefect UI).

    Example: tessera serve (make serve starts a Prefect server first)
    """
    from flows.serve import build_deployments, serve_all

    if list_only:
        for d in build_deployments():
            console.print(f"{d.flow_name}/{d.name}: {d.description}", markup=False)
        return
    serve_all(limit=limit)
