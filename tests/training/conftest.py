"""Shared fixtures for the training tests: one real 4-PU Dask cluster per session, and one
real PostgreSQL server per session for the job-store tests (``store_url``)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.settings import Settings
from tasks.training.cluster import ClusterInfo, cluster_down, cluster_up
from tasks.training.store import Job, JobStore
from tests.pg import PostgresServer, PostgresUnavailable, start_postgres

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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (Debian's binaries) on a free loopback port, for the session.

    Skips, saying why, where PostgreSQL is not installed (``make setup`` installs it).
    """
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


_databases = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty job store's URL: a SQLite file, then a fresh database on the session's server.

    Example:
        >>> def test_x(store_url: str) -> None:  # runs once per database  # doctest: +SKIP
        ...     JobStore(store_url).submit(JobSpec(name="a"))
    """
    if request.param == "sqlite":
        (tmp_path / "state").mkdir(exist_ok=True)  # for tests that open it without JobStore
        return f"sqlite:///{tmp_path / 'state' / 'jobs.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database(f"jobs_{next(_databases)}")


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


def wait_for_trained(
    store: JobStore, name: str, generation: int, fraction: float, timeout_s: float, last: int = 3
) -> None:
    """Poll until the ``last`` samples of ``generation`` all report a loss under ``fraction``
    of the job's first (untrained) loss.

    Stopping a job only after its loss has clearly fallen makes a resume that restarted from
    scratch visible, whatever the host's load did to the pace of training. Returns early when
    the launch ended by itself (its ``max_steps`` backstop).
    """
    deadline = time.monotonic() + timeout_s
    job = store.get(name)
    tail: list[float | None] = []
    while True:
        samples = [s for s in store.samples(job.id) if s.loss is not None]
        if samples:
            below = fraction * (samples[0].loss or 0.0)
            tail = [s.loss for s in samples if s.generation == generation][-last:]
            if len(tail) == last and all(loss is not None and loss < below for loss in tail):
                return
        if store.get(name).state not in ("running", "stopping"):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"job {name} generation {generation} losses stayed at {tail}")
        time.sleep(0.2)


def checkpoint_root(settings: Settings) -> Path:
    return Path(settings.checkpoint_root)
