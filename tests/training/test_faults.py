"""Faults: a killed worker, user code that raises; the rest of the cluster is undisturbed."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from tasks.settings import Settings
from tasks.training import launcher
from tasks.training.cluster import pu_workers
from tasks.training.spec import JobSpec
from tasks.training.store import JobStore
from tests.training.conftest import PUS, wait_for

pytestmark = pytest.mark.slow


def _launch(
    client: Any, store: JobStore, settings: Settings, name: str, workers: list[str]
) -> None:
    launcher.launch(
        client,
        store,
        store.get(name),
        workers,
        checkpoint_root=settings.checkpoint_root,
        timeout_s=10,
        sample_every_s=0.3,
    )


class TestWorkerKilled:
    def test_job_requeues_resumes_from_checkpoint_and_completes(
        self, train_settings: Settings, client: Any
    ) -> None:
        store = JobStore(train_settings.job_store_url)
        workers = pu_workers(client)
        store.submit(
            JobSpec(name="victim", epochs=40, batch_size=8, lr=0.01, checkpoint_every_s=0.5)
        )
        store.submit(JobSpec(name="bystander", epochs=6, batch_size=8, lr=0.01))
        _launch(client, store, train_settings, "victim", workers[:2])
        _launch(client, store, train_settings, "bystander", workers[2:])
        victim = store.get("victim")
        deadline = time.monotonic() + 180
        while len(store.checkpoints(victim.id)) < 1:
            assert time.monotonic() < deadline, f"no checkpoint written: {store.get(victim.id)}"
            time.sleep(0.2)

        pid = client.run(os.getpid, workers=[workers[1]])[workers[1]]
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        deadline = t0 + 45
        while store.get("victim").state != "queued":
            launcher.reap_lost(client, store)  # what the next outer iteration does first
            assert time.monotonic() < deadline, f"ranks not released: {store.get('victim')}"
            time.sleep(0.5)
        released_s = time.monotonic() - t0
        lost = store.get("victim")
        assert "lost" in (lost.error or "") and lost.pus == 0
        resume_from = store.checkpoints(lost.id)[-1]["step"]

        client.wait_for_workers(PUS, timeout=60)  # the nanny restarts the killed worker
        fresh = [w for w in pu_workers(client) if w not in workers[2:]][:2]
        _launch(client, store, train_settings, "victim", fresh)
        done = wait_for(store, "victim", ("completed", "failed"), timeout_s=120)
        assert done.state == "completed", done.error
        resumed = [s for s in store.samples(done.id) if s.generation == 2]
        assert resumed[0].step > resume_from
        assert done.metric is not None and done.metric >= 0.9
        assert released_s < 45

        bystander = wait_for(store, "bystander", ("completed", "failed"), timeout_s=120)
        assert bystander.state == "completed" and bystander.generation == 1


class TestJobCodeRaises:
    @pytest.mark.parametrize(
        ("model", "pus", "message"),
        [
            ("tests.training.userjobs:broken_build", 1, "dataset shard missing"),
            ("tests.training.userjobs:exploding_build", 2, "NaN in user forward"),
        ],
    )
    def test_marked_failed_with_its_error_and_pus_freed(
        self, train_settings: Settings, client: Any, model: str, pus: int, message: str
    ) -> None:
        store = JobStore(train_settings.job_store_url)
        store.submit(JobSpec(name="bad", model=model, epochs=2))
        _launch(client, store, train_settings, "bad", pu_workers(client)[:pus])
        job = wait_for(store, "bad", ("failed", "completed", "queued"), timeout_s=60)
        assert job.state == "failed"
        assert message in (job.error or "")
        assert job.pus == 0 and job.workers == ()
