"""Tessera's Prefect deployments, served by ``tessera serve`` so the UI can start runs.

Each deployment is built by one factory function in :data:`DEPLOYMENTS`; adding a flow to
the served set is one line there (the reschedule deployment: an interval schedule and a
concurrency limit of 1).

Example:
    >>> [d.name for d in build_deployments()]  # doctest: +SKIP
    ['ingest', 'backfill']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flows.ingest import backfill, ingest

DeploymentFactory = Callable[[], Any]
"""A function returning one ``RunnerDeployment`` (``flow.to_deployment(...)``)."""


def ingest_deployment() -> Any:
    """Ingest files and folders given in the UI's run form."""
    return ingest.to_deployment(
        name="ingest",
        description="Ingest video files and folders (recursive) into the scene store.",
        parameters={"paths": ["data/samples"]},
        tags=["video"],
    )


def backfill_deployment() -> Any:
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
]
"""Every served deployment; append a factory to serve another flow."""


def build_deployments(factories: list[DeploymentFactory] | None = None) -> list[Any]:
    """Call every factory (default :data:`DEPLOYMENTS`) and return the deployments.

    Example:
        >>> sorted(d.name for d in build_deployments())
        ['backfill', 'ingest']
    """
    return [factory() for factory in (DEPLOYMENTS if factories is None else factories)]


def serve_all(limit: int | None = None) -> None:
    """Serve every deployment until interrupted (``prefect.serve``).

    Args:
        limit: most flow runs at once across the deployments (none: no limit).
    """
    from prefect import serve

    serve(*build_deployments(), limit=limit)
