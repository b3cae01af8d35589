"""The local Dask cluster of an ingest, started early and warmed while Prefect starts.

A cold ``tessera ingest`` used to start the Prefect server, then (inside the flow) a Dask
cluster of two worker processes, each of which loaded every model on its first file: on
2 cores the server start, the cluster start and two sets of model loads ran one after the
other, and two copies of the models (torch, transformers, whisper) cost ~1.3 GiB each.
:func:`warm_cluster` starts the cluster before the Prefect API is waited on and submits one
warm-up task per worker that loads the models, so both overlap the server start; the flow
then runs on that cluster (:func:`flows.ingest.make_task_runner` picks it up).

``settings.local_workers`` worker processes of ``settings.local_threads`` threads each;
``local_workers = 0`` runs the workers as threads of the ingest process itself (one copy
of the models, no process spawn, no second import of Prefect). A remote cluster
(``settings.dask_address``) is left alone: its workers load models on first use, as before,
and may be shared with training.

Example:
    >>> with warm_cluster(Settings(local_workers=0)) as cluster:  # doctest: +SKIP
    ...     with prefect_api():
    ...         ingest(["clips/"])
    ...     cluster.models_ready_s
    11.2
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tasks.settings import Settings

__all__ = ["WarmCluster", "current_cluster", "load_worker_models", "warm_cluster"]

_current: list[WarmCluster] = []


@dataclass
class WarmCluster:
    """A started local cluster and how far its warm-up has come.

    Attributes:
        address: the scheduler's address (``inproc://`` for thread workers).
        started: ``time.perf_counter()`` when the cluster was asked for.
        models_ready_s: seconds from ``started`` until every worker had its models, or
            ``None`` while loading (or when warm-up is off or failed).
        warmup_error: why a warm-up failed (the stages then load models themselves).
    """

    address: str
    started: float
    models_ready_s: float | None = None
    warmup_error: str = ""
    _pending: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _done(self, future: Any) -> None:
        with self._lock:
            self._pending -= 1
            if future.status == "error":
                self.warmup_error = f"{type(future.exception()).__name__}: {future.exception()}"
            elif self._pending == 0 and not self.warmup_error:
                self.models_ready_s = time.perf_counter() - self.started


def current_cluster() -> WarmCluster | None:
    """The cluster of the innermost :func:`warm_cluster` block, if any.

    Example:
        >>> current_cluster() is None
        True
    """
    return _current[-1] if _current else None


def load_worker_models(settings: Settings) -> float:
    """Load every model an ingest's stages use into this process; return the seconds taken.

    The loaders cache per process, so the stages on this worker find them loaded.

    Example:
        >>> load_worker_models(Settings())  # doctest: +SKIP
        9.8
    """
    from tasks.video.encode import Encoder
    from tasks.video.pipeline import load_models

    t0 = time.perf_counter()
    load_models(settings)
    Encoder.load(settings.embedding_model)
    return time.perf_counter() - t0


def cluster_kwargs(settings: Settings) -> dict[str, Any]:
    """``LocalCluster`` arguments for the local worker layout in ``settings``.

    Example:
        >>> cluster_kwargs(Settings(local_workers=0, local_threads=2))["processes"]
        False
    """
    return {
        "n_workers": max(settings.local_workers, 1),
        "threads_per_worker": settings.local_threads,
        "processes": settings.local_workers > 0,
        "dashboard_address": None,
        "silence_logs": logging.ERROR,
    }


@contextlib.contextmanager
def warm_cluster(settings: Settings) -> Iterator[WarmCluster | None]:
    """Start the local cluster (and its model warm-up) for the ingest runs in this block.

    Yields ``None`` and starts nothing when ``settings.dask_address`` names a cluster or
    ``settings.preload_models`` is off (the flow then starts its own cluster, as before).
    The warm-up runs as ordinary Dask tasks, one pinned to each worker, so it occupies one
    worker thread and never the worker's event loop; a file submitted meanwhile waits on
    the loaders' locks rather than loading a second copy.

    Args:
        settings: ``local_workers``, ``local_threads`` and ``preload_models`` pick the
            layout; the model settings say what to load.
    """
    if settings.dask_address or not settings.preload_models:
        yield None
        return
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    with (
        LocalCluster(**cluster_kwargs(settings)) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        warm = WarmCluster(address=cluster.scheduler_address, started=started)
        workers = list(client.scheduler_info(n_workers=-1)["workers"])
        warm._pending = len(workers)
        for worker in workers:
            future = client.submit(
                load_worker_models,
                settings,
                workers=[worker],
                allow_other_workers=False,
                pure=False,
                key=f"load-models-{worker}",
            )
            future.add_done_callback(warm._done)
        _current.append(warm)
        try:
            yield warm
        finally:
            _current.remove(warm)
