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

from flows.ingest import backfill, ingest
from flows.reschedule import reschedule_deployment
from tasks.settings import Settings, get_settings

DeploymentFactory = Callable[[Settings], Any]
"""A function of the settings returning one ``RunnerDeployment`` (``flow.to_deployment``)."""


def ingest_deployment(settings: Settings) -> Any:
    """Ingest files and folders given in the UI's run form."""
    return ingest.to_deployment(
        name="ingest",
        description="Ingest video files and folders (recursive) into the scene store.",
        parameters={"paths": ["data/samples"]},
        tags=["video"],
    )


def backfill_deployment(settings: Settings) -> Any:
    """Backfill a folder or glob, optionally only files modified since a time."""
    return backfill.to_deployment(
        name="backfill",
        description="Ingest every video under a folder or glob that is not stored yet.",
        parameters={"source": "data/samples"},
        tags=["video"],
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
