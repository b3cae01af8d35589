"""Shared fixtures for the training tests: one real 4-PU Dask cluster per session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.settings import Settings
from tasks.training.cluster import ClusterInfo, cluster_down, cluster_up
from tasks.training.store import Job, JobStore

PUS = 4


@pytest.fixture(scope="session")
def pu_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterInfo]:
    """A real scheduler and 4 single-threaded PU worker processes (``tessera cluster up``)."""
    root = tmp_path_factory.mktemp("cluster")
    owner = Settings(data_dir=root / "data")
    info = cluster_up(owner, PUS)
    try:
        yield info
    finally:
        cluster_down(owner)


@pytest.fixture
def train_settings(settings: Settings, pu_cluster: ClusterInfo) -> Settings:
    """Test settings (state under tmp_path) pointed at the session's cluster."""
    settings.ensure_dirs()
    return settings.model_copy(update={"dask_address": pu_cluster.address})


@pytest.fixture
def client(train_settings: Settings) -> Iterator[object]:
    from distributed import Client

    with Client(train_settings.dask_address, timeout=30) as c:
        c.wait_for_workers(PUS, timeout=60)
        yield c


def wait_for(store: JobStore, name: str, states: tuple[str, ...], timeout_s: float) -> Job:
    """Poll the store until job ``name`` is in one of ``states``."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = store.get(name)
        if job.state in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {name} stuck in {job.state} ({job.error})")
        time.sleep(0.2)


def wait_for_progress(store: JobStore, name: str, min_step_samples: int, timeout_s: float) -> None:
    """Poll until job ``name`` reported at least ``min_step_samples`` samples."""
    deadline = time.monotonic() + timeout_s
    job = store.get(name)
    while len(store.samples(job.id)) < min_step_samples:
        if time.monotonic() > deadline:
            raise AssertionError(f"job {name} made no progress ({store.get(name).state})")
        time.sleep(0.2)


def checkpoint_root(settings: Settings) -> Path:
    return Path(settings.checkpoint_root)
