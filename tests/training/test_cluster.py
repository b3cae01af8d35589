"""`cluster up` workers: the cores their host shares, and round-robin pinning when asked."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tasks.settings import Settings
from tasks.training.cluster import (
    ClusterInfo,
    cluster_down,
    cluster_up,
    cores_per_node,
    pu_workers,
)

pytestmark = pytest.mark.slow


def _affinity() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def _malloc_trim() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


class TestWorkers:
    def test_cores_per_node_is_the_hosts(self, client: object) -> None:
        assert cores_per_node(client) == len(_affinity())

    def test_workers_keep_glibc_adaptive_mmap(self, client: object) -> None:
        # Dask's default trim threshold would map every all-reduce buffer afresh.
        got = client.run(_malloc_trim, workers=pu_workers(client))  # type: ignore[attr-defined]
        assert set(got.values()) == {None}


def _listening(pids: tuple[int, ...]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening in these processes and their children."""
    import psutil

    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(pid)
            procs += [parent, *parent.children(recursive=True)]
    found = set()
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add((conn.laddr.ip, conn.laddr.port))
    return found


class TestListening:
    def test_every_socket_binds_to_loopback(self, pu_cluster: ClusterInfo) -> None:
        sockets = _listening(pu_cluster.pids)
        # scheduler + dashboard, and per PU worker: worker, nanny, dashboard
        assert len(sockets) >= 2 + 3 * pu_cluster.pus
        assert {ip for ip, _ in sockets} == {"127.0.0.1"}

    def test_dashboard_answers_where_the_scheduler_listens(self, pu_cluster: ClusterInfo) -> None:
        import httpx

        assert pu_cluster.dashboard.startswith("http://127.0.0.1:")
        page = httpx.get(pu_cluster.dashboard, timeout=30, follow_redirects=True)
        assert page.status_code == 200
        assert "bokeh" in page.text.lower()

    def test_no_store_port_outlives_a_job(
        self, pu_cluster: ClusterInfo, train_settings: Settings, client: Any
    ) -> None:
        from distributed import Variable

        from tasks.training import launcher
        from tasks.training.group import rendezvous_name, store_namespace
        from tasks.training.spec import JobSpec
        from tasks.training.store import JobStore
        from tests.training.conftest import wait_for

        store = JobStore(train_settings.job_store_url)
        store.submit(JobSpec(name="short", epochs=2, batch_size=32, lr=0.05))
        launcher.launch(
            client,
            store,
            store.get("short"),
            pu_workers(client)[:2],
            checkpoint_root=train_settings.checkpoint_root,
            timeout_s=30,
        )
        job = wait_for(store, "short", ("completed",), timeout_s=240)
        name = rendezvous_name(store_namespace(train_settings.job_store_url), job.id, 1)
        host, port = str(Variable(name, client=client).get(timeout=10)).rsplit(":", 1)
        assert host == "127.0.0.1"
        deadline = time.monotonic() + 30
        while (host, int(port)) in _listening(pu_cluster.pids) and time.monotonic() < deadline:
            time.sleep(0.5)
        sockets = _listening(pu_cluster.pids)
        assert (host, int(port)) not in sockets, "rank 0's store still listens"
        assert {ip for ip, _ in sockets} == {"127.0.0.1"}


class TestPinning:
    def test_each_worker_is_pinned_round_robin(self, tmp_path: Path) -> None:
        from distributed import Client

        settings = Settings(data_dir=tmp_path / "data", pin_cpu_workers=True)
        cores, pus = _affinity(), 3
        info = cluster_up(settings, pus)
        try:
            with Client(info.address, timeout=30) as client:
                workers = pu_workers(client)
                got = client.run(_affinity, workers=workers)
                assert [got[w] for w in workers] == [[cores[i % len(cores)]] for i in range(pus)]
                # Pinned workers still report the host's cores, not their own one.
                assert cores_per_node(client) == len(cores)
        finally:
            cluster_down(settings)
