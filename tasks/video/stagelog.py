"""The logger a stage function writes to: Prefect's run logger inside a run, else stdlib.

Example:
    >>> stage_logger().info("scenes: 5 found")
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["stage_logger"]


def stage_logger() -> Any:
    """Return ``get_run_logger()`` inside a Prefect flow/task run, else ``tessera.video``.

    Stage functions are plain functions that run both inside Prefect tasks and alone (tests,
    benchmarks); this keeps their log lines in the Prefect UI when there is a run.
    """
    try:
        from prefect import get_run_logger
        from prefect.exceptions import MissingContextError
    except ImportError:  # pragma: no cover - prefect is a hard dependency
        return logging.getLogger("tessera.video")
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("tessera.video")
