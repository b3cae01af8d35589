"""Shared helper of the training benchmarks: a temporary real PU cluster and job store."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tasks.settings import Settings
from tasks.training import launcher
from tasks.training.cluster import cluster_down, cluster_up, pu_workers
from tasks.training.spec import JobSpec
from tasks.training.store import Job, JobStore


@contextlib.contextmanager
def bench_cluster(pus: int, pin: bool = False) -> Iterator[tuple[Settings, Any, JobStore]]:
    """A ``cluster up`` cluster, a client and a fresh store, all under a temporary folder.

    ``pin``: worker ``i`` pinned to core ``i mod cores`` (``pin_cpu_workers``).
    """
    from distributed import Client

    root = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    settings = Settings(
        data_dir=root / "data",
        job_store_url=f"sqlite:///{root / 'data' / 'state' / 'jobs.db'}",
        checkpoint_root=root / "data" / "checkpoints",
        pin_cpu_workers=pin,
    )
    settings.ensure_dirs()
    info = cluster_up(settings, pus)
    try:
        with Client(info.address) as client:
            yield settings, client, JobStore(settings.job_store_url)
    finally:
        cluster_down(settings)


def wait_state(store: JobStore, name: str, states: tuple[str, ...], timeout_s: float = 300) -> Job:
    deadline = time.monotonic() + timeout_s
    while (job := store.get(name)).state not in states:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} stuck in {job.state}: {job.error}")
        time.sleep(0.05)
    return job


def run_steps(
    settings: Settings, client: Any, store: JobStore, spec: JobSpec, pus: int, steps: int
) -> Job:
    """Run a job for ``steps`` steps on ``pus`` workers (it stops and checkpoints after)."""
    if spec.name not in {j.name for j in store.jobs()}:
        store.submit(spec)
    launcher.launch(
        client,
        store,
        store.get(spec.name),
        pu_workers(client)[:pus],
        checkpoint_root=settings.checkpoint_root,
        timeout_s=60,
        sample_every_s=0.25,
        max_steps=steps,
    )
    return wait_state(store, spec.name, ("queued", "completed", "failed"))
