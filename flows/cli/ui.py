"""``tessera ui``: the web UI (scene search, library, jobs) on http://127.0.0.1:8800.

Example:
    $ tessera ui
    $ tessera ui --port 9000 --db s3://bucket/scenes --prefect-url http://10.0.0.5:4200
"""

from __future__ import annotations

import typer

from flows.cli import app, err_console
from tasks.settings import get_settings


@app.command("ui")
def ui_command(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to bind; off loopback only with TESSERA_TRUSTED_NETWORK=true.",
    ),
    port: int = typer.Option(8800, "--port", min=1, max=65535, help="Port to listen on."),
    db: str | None = typer.Option(None, "--db", help="LanceDB URI (default: the setting)."),
    prefect_url: str = typer.Option(
        "http://127.0.0.1:4200", "--prefect-url", help="Prefect UI the jobs page links to."
    ),
) -> None:
    """Serve the web UI: search scenes and play them, browse videos, watch training jobs.

    The encoder is loaded once, in the background from the start; every search shares it.
    Videos and thumbnails are served by store key only, never by a path from the request.

    Example: tessera ui --port 8800
    """
    import uvicorn

    from flows.web.app import create_app
    from tasks.training.security import InsecureNetworkError, require_private
    from tasks.video.store import SceneStore, StoreError

    settings = get_settings().with_overrides(db)
    try:
        # Plain HTTP and no login: off loopback only where the cluster's network is trusted.
        require_private(host, "tessera ui (plain HTTP, no login)", settings.trusted_network)
    except InsecureNetworkError as exc:
        err_console.print(f"ui: {exc}", markup=False)
        raise typer.Exit(2) from exc
    try:
        # A store of another schema version is refused now, not on the first page view.
        SceneStore.open(
            settings.lancedb_uri, storage_options=settings.lancedb_storage_options
        ).count()
    except StoreError as exc:
        err_console.print(f"ui: {exc}", markup=False)
        raise typer.Exit(1) from exc
    web = create_app(settings, prefect_url=prefect_url, preload=True)
    err_console.print(f"Tessera UI: http://{host}:{port}", markup=False, highlight=False)
    uvicorn.run(web, host=host, port=port, log_level="warning")
