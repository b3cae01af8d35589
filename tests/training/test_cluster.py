"""`cluster up` workers: the cores their host shares, and round-robin pinning when asked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.settings import Settings
from tasks.training.cluster import cluster_down, cluster_up, cores_per_node, pu_workers

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
