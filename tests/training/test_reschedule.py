"""The outer loop: three jobs submitted over time, allocated by the doubling heuristic."""

from __future__ import annotations

import time

import pytest

from flows.reschedule import reschedule, reschedule_deployment
from tasks.settings import Settings
from tasks.training.spec import JobSpec
from tasks.training.store import JobStore
from tests.training.conftest import PUS

pytestmark = pytest.mark.slow


class TestOuterLoop:
    def test_three_jobs_over_time_share_the_pus_and_complete(
        self, prefect_harness: None, train_settings: Settings
    ) -> None:
        store = JobStore(train_settings.job_store_url)
        specs = [
            JobSpec(name="mlp-a", model="mlp", epochs=40, batch_size=8, lr=0.01, max_pus=4),
            JobSpec(name="cnn-b", model="cnn", epochs=3, batch_size=16, lr=0.02, max_pus=4),
            JobSpec(name="mlp-c", model="mlp", epochs=4, batch_size=16, lr=0.02, max_pus=2),
        ]
        results = []
        submitted = 0
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if submitted < len(specs):
                store.submit(specs[submitted])
                submitted += 1
            result = reschedule(train_settings, stop_timeout_s=60, rank_timeout_s=30)
            results.append(result)
            assert sum(result["allocation"].values()) <= PUS
            placed = [w for ws in result["placement"].values() for w in ws]
            assert len(placed) == len(set(placed)), "a worker was given to two jobs"
            if submitted == len(specs) and all(
                j.state in ("completed", "failed") for j in store.jobs()
            ):
                break
            time.sleep(1.5)
        jobs = {j.name: j for j in store.jobs()}
        assert {j.state for j in jobs.values()} == {"completed"}, [
            (j.name, j.state, j.error) for j in jobs.values()
        ]
        # With more than one job waiting, the heuristic ran them side by side.
        assert any(sum(1 for c in r["allocation"].values() if c) >= 2 for r in results)
        assert all(c <= 2 for r in results for n, c in r["allocation"].items() if n == "mlp-c")
        history = store.allocations()
        assert {a.job for a in history} == {s.name for s in specs}
        by_iteration: dict[int, int] = {}
        for a in history:
            by_iteration[a.iteration] = by_iteration.get(a.iteration, 0) + a.pus
        assert max(by_iteration.values()) <= PUS
        assert jobs["mlp-a"].metric is not None and jobs["mlp-a"].metric >= 0.9
        self._check_artifacts()

    @staticmethod
    def _check_artifacts() -> None:
        """Each run published the allocation chart (inline SVG) and per-job progress."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

        with get_client(sync_client=True) as client:
            summary = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["training-summary"]))
            )
            progress = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["job-mlp-a"]))
            )
        assert any("data:image/svg+xml;base64," in str(a.data) for a in summary)
        assert progress and all(a.type == "progress" for a in progress)


class TestDeployment:
    def test_deployment_runs_on_the_configured_interval_one_at_a_time(self) -> None:
        deployment = reschedule_deployment(Settings(reschedule_interval_s=42))
        assert deployment.concurrency_limit == 1
        schedule = deployment.schedules[0].schedule
        assert schedule.interval.total_seconds() == 42
