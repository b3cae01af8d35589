"""Process-level setup shared by the entry points that run flows.

Without ``PREFECT_API_URL`` Prefect starts a temporary API server in every process that
runs a flow or task, and each Dask worker process that runs a Prefect task would start its
own (seconds each, on every worker). Entry points therefore start one temporary server up
front and export its address, which the Dask workers they spawn inherit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def prefect_api() -> Iterator[str | None]:
    """Share one Prefect API across this process and the workers it starts.

    Uses the configured server when ``PREFECT_API_URL`` is set (``make serve``, a deployed
    server); otherwise starts one temporary server for the duration of the block.

    Example:
        >>> with prefect_api() as url:  # doctest: +SKIP
        ...     ingest(["video.mp4"])
    """
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    if configured:
        yield configured
        return
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import temporary_settings

    server = SubprocessASGIServer()
    server.start()
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()
