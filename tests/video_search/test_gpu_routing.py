"""GPU stages go to GPU workers: the annotation the ingest flow uses, on a mixed cluster."""

from __future__ import annotations

from collections.abc import Iterator

import dask
import pytest
from distributed import Client, LocalCluster, Worker
from prefect import flow, task

from flows.ingest import _gpu_workers


@task
def worker_name() -> str:
    from distributed import get_worker

    return str(get_worker().name)


@pytest.fixture
def mixed_cluster() -> Iterator[str]:
    """One worker offering ``GPU=1`` (named ``0``) and one CPU-only worker, in process."""
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        resources={"GPU": 1},
        dashboard_address=None,
    ) as cluster:
        cluster.worker_spec["cpu-only"] = {"cls": Worker, "options": {"nthreads": 1}}
        cluster.sync(cluster._correct_state)
        with Client(cluster.scheduler_address) as client:
            client.wait_for_workers(2)
        yield cluster.scheduler_address


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
class TestGpuRouting:
    def test_annotated_tasks_run_only_on_gpu_workers(self, mixed_cluster: str) -> None:
        from prefect_dask import DaskTaskRunner

        @flow(task_runner=DaskTaskRunner(address=mixed_cluster))
        def route() -> tuple[bool, set[str], set[str]]:
            has_gpu = _gpu_workers()  # before any submit, as the ingest flow asks
            with dask.annotate(resources={"GPU": 1}):
                on_gpu = [worker_name.submit() for _ in range(6)]
            anywhere = [worker_name.submit() for _ in range(8)]
            return (
                has_gpu,
                {f.result() for f in on_gpu},
                {f.result() for f in anywhere},
            )

        has_gpu, gpu_names, all_names = route()
        assert has_gpu
        assert gpu_names == {"0"}
        assert "cpu-only" in all_names

    def test_no_client_means_no_gpu(self) -> None:
        assert _gpu_workers() is False
