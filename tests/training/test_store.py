"""The job store: conditional transitions, samples, allocations, migrations.

Every test runs twice, on a SQLite file and on a database of a real PostgreSQL server
(``store_url`` in conftest), since production stores are PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tasks.training.schema import Base, current_revision, head_revision
from tasks.training.spec import JobSpec, SpecError
from tasks.training.store import JobStore, Sample


@pytest.fixture
def store(store_url: str) -> Iterator[JobStore]:
    store = JobStore(store_url)
    yield store
    store.close()


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


def _old_store(url: str) -> None:
    """A store as a Tessera from before migrations left it: tables made by ``create_all``
    with that version's columns (no ``jobs.examples``, no ``samples.share``), one job and one
    sample in them, and no ``alembic_version`` table."""
    old = sa.MetaData()
    jobs = sa.Table(
        "jobs", old,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), unique=True, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), index=True, nullable=False),
        *(sa.Column(c, sa.Integer, nullable=False) for c in ("generation", "pus", "epoch")),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("workers", sa.Text, nullable=False),
        sa.Column("metric", sa.Float),
        sa.Column("attained_pu_s", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("submitted_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )  # fmt: skip
    samples = sa.Table(
        "samples", old,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.ForeignKey("jobs.id"), index=True, nullable=False),
        *(sa.Column(c, sa.Integer, nullable=False) for c in ("generation", "epoch", "step", "pus")),
        sa.Column("at", sa.Float, nullable=False),
        *(sa.Column(c, sa.Float) for c in ("loss", "metric", "samples_per_s", "step_s", "sync_s")),
    )  # fmt: skip
    for name in ("allocations", "checkpoints"):  # unchanged since: today's tables
        Base.metadata.tables[name].to_metadata(old)
    engine = sa.create_engine(url)
    old.create_all(engine)
    spec = JobSpec(name="old", epochs=3).model_dump_json()
    with engine.begin() as conn:
        # No explicit ids: PostgreSQL's sequence must hand them out, as it did for old Tessera.
        job_id = conn.execute(jobs.insert().values(
            name="old", spec=spec, state="queued", generation=0, pus=0, epoch=1,
            position=7, workers="[]", attained_pu_s=12.5, submitted_at=1.0, updated_at=1.0,
        )).inserted_primary_key[0]  # fmt: skip
        conn.execute(samples.insert().values(
            job_id=job_id, generation=1, epoch=0, step=5, pus=2, at=2.0, loss=0.5, step_s=0.02
        ))  # fmt: skip
    engine.dispose()


class TestMigrations:
    def test_older_store_upgrades_in_place(self, store_url: str) -> None:
        _old_store(store_url)
        store = JobStore(store_url)
        try:
            assert current_revision(store.engine) == head_revision()
            old = store.get("old")
            assert (old.spec.epochs, old.position, old.examples) == (3, 7, 0)
            assert store.samples(old.id)[0].share == 1.0  # old rows get the default
            store.add_samples([Sample(old.id, 2, 3.0, 0, 6, 4, step_s=0.02, share=2.0)])
            assert [s.share for s in store.samples(old.id)] == [1.0, 2.0]
            assert store.submit(JobSpec(name="new")).examples == 0
        finally:
            store.close()

    def test_migrated_schema_is_the_models(self, store: JobStore) -> None:
        # A column added to the classes without a migration shows up here.
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []

    def test_concurrent_openers_migrate_once(self, store_url: str) -> None:
        # Every rank opens the store: on a new store they race to create it.
        start, errors, stores = threading.Barrier(4), [], []

        def open_store() -> None:
            start.wait()
            try:
                stores.append(JobStore(store_url))
            except Exception as exc:  # the test reports it below
                errors.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == [] and len(stores) == 4
        stores[0].submit(JobSpec(name="a"))
        assert [j.name for j in stores[3].jobs()] == ["a"]
        for s in stores:
            s.close()


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
