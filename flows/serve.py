"""Tessera's Prefect deployments, served by ``tessera serve`` so the UI can start runs.

Each deployment is built by one factory function in :data:`DEPLOYMENTS`; adding a flow to
the served set is one line there (the reschedule deployment: an interval schedule and a
concurrency limit of 1).

Example:
    >>> [d.name for d in build_deployments()]  # doctest: +SKIP
    ['ingest', 'backfill', 'reschedule']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flows.ingest import backfill_flow, ingest_flow
from flows.reschedule import reschedule_deployment
from tasks.settings import Settings, get_settings

DeploymentFactory = Callable[[Settings], Any]
"""A function of the settings returning one ``RunnerDeployment`` (``flow.to_deployment``)."""


# One writer per scene store: runs of a deployment queue behind each other. On a local
# folder the store's file lock also serialises ingest against backfill; on object storage
# this limit is what keeps index writes exactly-once.
STORE_WRITERS = 1


def ingest_deployment(settings: Settings) -> Any:
    """Ingest files and folders given in the UI's run form."""
    return ingest_flow.to_deployment(
        name="ingest",
        description="Ingest video files and folders (recursive) into the scene store.",
        parameters={"paths": [str(settings.data_dir / "samples")]},
        tags=["video"],
        concurrency_limit=STORE_WRITERS,
    )


def backfill_deployment(settings: Settings) -> Any:
    """Backfill a folder or glob, optionally only files modified since a time."""
    return backfill_flow.to_deployment(
        name="backfill",
        description="Ingest every video under a folder or glob that is not stored yet.",
        parameters={"source": str(settings.data_dir / "samples")},
        tags=["video"],
        concurrency_limit=STORE_WRITERS,
    )


DEPLOYMENTS: list[DeploymentFactory] = [
    ingest_deployment,
    backfill_deployment,
    reschedule_deployment,
]
"""Every served deployment; append a factory to serve another flow."""


def build_deployments(
    factories: list[DeploymentFactory] | None = None, settings: Settings | None = None
) -> list[Any]:
    """Call every factory (default :data:`DEPLOYMENTS`) and return the deployments.

    Example:
        >>> sorted(d.name for d in build_deployments())
        ['backfill', 'ingest', 'reschedule']
    """
    settings = settings or get_settings()
    return [f(settings) for f in (DEPLOYMENTS if factories is None else factories)]


def serve_all(limit: int | None = None) -> None:
    """Serve every deployment until interrupted (``prefect.serve``).

    Args:
        limit: most flow runs at once across the deployments (none: no limit).
    """
    from prefect import serve

    serve(*build_deployments(), limit=limit)
