"""The job store: conditional transitions, samples, allocations."""

from __future__ import annotations

import pytest

from tasks.training.spec import JobSpec, SpecError
from tasks.training.store import JobStore, Sample


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    return JobStore(f"sqlite:///{tmp_path / 'state' / 'jobs.db'}")


class TestJobs:
    def test_submit_and_duplicate_name(self, store: JobStore) -> None:
        job = store.submit(JobSpec(name="a", epochs=2))
        assert (job.state, job.generation, job.spec.epochs) == ("queued", 0, 2)
        with pytest.raises(SpecError, match="already exists"):
            store.submit(JobSpec(name="a"))

    def test_start_bumps_generation_only_once(self, store: JobStore) -> None:
        job = store.submit(JobSpec(name="a"))
        assert store.start(job.id, 0, 2, ["w1", "w2"]) == 1
        assert store.start(job.id, 0, 2, ["w1", "w2"]) is None
        got = store.get("a")
        assert (got.state, got.generation, got.pus, got.workers) == ("running", 1, 2, ("w1", "w2"))

    def test_stale_generation_cannot_change_state(self, store: JobStore) -> None:
        job = store.submit(JobSpec(name="a"))
        store.start(job.id, 0, 1, ["w"])
        assert not store.transition(job.id, "completed", expect=("running",), generation=0)
        assert store.transition(job.id, "completed", expect=("running",), generation=1)
        assert store.get(job.id).finished_at is not None

    def test_unknown_job(self, store: JobStore) -> None:
        with pytest.raises(KeyError, match="no job 'zzz'"):
            store.get("zzz")


class TestOlderStores:
    def test_missing_column_is_added_and_old_rows_keep_working(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        import sqlite3

        path = tmp_path / "old.db"
        JobStore(f"sqlite:///{path}").close()
        with sqlite3.connect(path) as db:  # a store from before samples had a share
            db.execute("ALTER TABLE samples DROP COLUMN share")
        store = JobStore(f"sqlite:///{path}")
        job = store.submit(JobSpec(name="a"))
        store.add_samples([Sample(job.id, 1, 1.0, 0, 5, 4, step_s=0.02, share=2.0)])
        assert store.samples(job.id)[0].share == 2.0


class TestRecords:
    def test_samples_and_allocations(self, store: JobStore) -> None:
        a = store.submit(JobSpec(name="a"))
        b = store.submit(JobSpec(name="b"))
        store.add_samples([Sample(a.id, 1, 1.0, 0, 5, 2, loss=0.5, step_s=0.01, sync_s=0.002)])
        assert store.samples(a.id)[0].sync_s == pytest.approx(0.002)
        it = store.next_iteration()
        store.record_allocation(it, [(a.id, 3, ["w1"]), (b.id, 1, ["w2"])], policy="p", capacity=4)
        assert store.next_iteration() == it + 1
        assert [(x.job, x.pus) for x in store.allocations()] == [("a", 3), ("b", 1)]
