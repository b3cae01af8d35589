"""Build the FastAPI app of ``tessera ui``: pages, ``/api``, ``/media``, ``/static``.

Example:
    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> client = TestClient(create_app(Settings()))  # doctest: +SKIP
    >>> client.get("/api/videos").status_code  # doctest: +SKIP
    200
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from flows.web.api import api, media
from flows.web.context import WebContext
from flows.web.pages import pages
from tasks import __version__
from tasks.settings import Settings
from tasks.video.search import SceneSearcher
from tasks.video.store import StoreError

STATIC = Path(__file__).parent / "static"
PREFECT_URL = "http://127.0.0.1:4200"
"""Where ``make serve`` runs the Prefect UI (its API is under ``/api``)."""


def deployment_link(prefect_url: str, ttl_s: float = 30.0) -> Callable[[], str]:
    """A function giving the Prefect UI page of the reschedule deployment.

    It asks the Prefect API for the deployment's id (half a second at most, remembered for
    ``ttl_s``) and falls back to the deployments list when the server is not up.

    Example:
        >>> deployment_link("http://127.0.0.1:9")()
        'http://127.0.0.1:9/deployments'
    """
    base = prefect_url.rstrip("/")
    cache: dict[str, tuple[float, str]] = {}

    def link() -> str:
        hit = cache.get("url")
        if hit and time.monotonic() - hit[0] < ttl_s:
            return hit[1]
        import httpx

        url = f"{base}/deployments"
        try:
            r = httpx.get(f"{base}/api/deployments/name/reschedule/reschedule", timeout=0.5)
            if r.status_code == 200:
                url = f"{base}/deployments/deployment/{r.json()['id']}"
        except (httpx.HTTPError, KeyError, ValueError):
            pass  # no Prefect server: the list page is the best link there is
        cache["url"] = (time.monotonic(), url)
        return url

    return link


def create_app(
    settings: Settings,
    *,
    searcher: SceneSearcher | None = None,
    prefect_url: str = PREFECT_URL,
    preload: bool = False,
) -> FastAPI:
    """The web app over ``settings``' scene store and job store.

    Args:
        settings: the settings in force (stores, models).
        searcher: a loaded searcher to share (tests); by default one is loaded on the first
            search, or at once with ``preload``.
        prefect_url: the Prefect UI the jobs page links to.
        preload: start loading the encoder now (in the background), so the first search
            is as fast as the rest.
    """
    # No /docs or /redoc: FastAPI's pages load Swagger UI from a CDN; /openapi.json stays.
    app = FastAPI(
        title="Tessera",
        version=__version__,
        description="Scene search over ingested videos, and the elastic training jobs.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = WebContext(settings, searcher)
    app.state.prefect_url = prefect_url.rstrip("/")
    app.state.deployment_url = deployment_link(prefect_url)
    if preload:
        # Load the encoder beside serving: the library and jobs pages answer at once, and
        # the first search waits (on the context's lock) only for what is left of the load.
        threading.Thread(
            target=lambda: app.state.ctx.searcher, name="load-encoder", daemon=True
        ).start()

    @app.exception_handler(StoreError)
    def store_unusable(request: Request, exc: StoreError) -> JSONResponse:
        # A store of another schema version (or gone): one line, not a traceback page.
        return JSONResponse({"detail": str(exc)}, status_code=503)

    app.include_router(api)
    app.include_router(media)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
