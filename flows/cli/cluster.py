"""``tessera cluster``: start or stop the local Dask cluster the training jobs run on.

Example:
    $ tessera cluster up --pus 4
    $ tessera cluster status
    $ tessera cluster down
"""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli import app, console, err_console
from tasks.settings import get_settings

cluster_app = typer.Typer(help="Local Dask cluster with one PU per worker.", no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("up")
def up(
    pus: int = typer.Option(4, "--pus", min=1, help="PU workers (one per GPU on a GPU host)."),
    host: str = typer.Option(
        "127.0.0.1",
        help="Interface every socket listens on (scheduler, workers, dashboards); "
        "anything but loopback exposes the cluster to that network.",
    ),
) -> None:
    """Start a Dask scheduler and single-threaded PU workers; they outlive this command."""
    from tasks.training.cluster import ClusterError, cluster_up

    settings = get_settings()
    try:
        with console.status(f"starting scheduler and {pus} PU workers"):
            info = cluster_up(settings, pus, host=host)
    except ClusterError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    kind = f"{info.gpus} GPU workers (GPU=1,PU=1)" if info.gpus else f"{info.pus} PU workers"
    console.print(f"cluster up at [bold]{info.address}[/bold] with {kind}")
    if info.dashboard:
        console.print(f"Dask dashboard: {info.dashboard}")


@cluster_app.command("certs")
def certs(
    hosts: list[str] = typer.Argument(
        None, help="Host names or addresses the cluster's nodes use (localhost is always in)."
    ),
    folder: Path | None = typer.Option(
        None, "--dir", help="Where to write ca.pem, node.pem, node-key.pem (default: tls_dir)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace certificates that exist."),
) -> None:
    """Make a CA and a node certificate so the Dask cluster talks TLS only.

    With the files in tls_dir (default data/tls), `tessera cluster up` starts the scheduler
    and workers with TLS and every client connects with it. Copy the folder to each host.

    Example: tessera cluster certs 10.0.0.5 gpu-node-1
    """
    from tasks.training.security import Certificates, make_certificates

    settings = get_settings()
    target = folder if folder is not None else settings.tls_dir or settings.data_dir / "tls"
    if Certificates.in_folder(target).exist() and not force:
        err_console.print(f"error: certificates exist in {target} (--force replaces them)")
        raise typer.Exit(1)
    files = make_certificates(target, list(hosts or []))
    console.print(f"CA {files.ca}, node certificate {files.cert}, key {files.key}", markup=False)


@cluster_app.command("down")
def down() -> None:
    """Shut down the cluster started by `tessera cluster up`."""
    from tasks.training.cluster import cluster_down

    info = cluster_down(get_settings())
    if info is None:
        err_console.print("no cluster recorded (nothing to stop)")
        raise typer.Exit(1)
    console.print(f"cluster at {info.address} stopped")


@cluster_app.command("status")
def status() -> None:
    """Print the cluster address and its PU workers."""
    from tasks.training.cluster import ClusterError, connect, dashboard_link, pu_workers

    settings = get_settings()
    try:
        client = connect(settings, timeout_s=10)
    except ClusterError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    with client:
        workers = pu_workers(client)
        console.print(f"scheduler {client.scheduler.address}: {len(workers)} PU workers")
        link = dashboard_link(client)
        console.print(f"Dask dashboard: {link or 'none (the scheduler runs without one)'}")
        for w in workers:
            console.print(f"  {w}")
