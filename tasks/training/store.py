"""The job store: the one place that reads and writes jobs (SQLAlchemy; tables in ``schema``).

SQLite under ``data/state/`` by default, any SQLAlchemy URL (PostgreSQL) by setting. Every
process that touches jobs (CLI, the reschedule flow, each training rank on a Dask worker)
opens its own :class:`JobStore` on the same URL; state moves between processes only through
it, so an outer iteration can run in a fresh process and find everything.

Transient faults (a lock held by another process, a dropped connection) are retried with
backoff inside every method; :class:`StoreUnavailable` means the retries were spent.

Job states: ``queued -> running -> (stopping -> queued) | completed | failed``, and
``cancelled`` from any state but the final ones. Transitions are conditional updates
(``UPDATE ... WHERE state IN (...) AND generation = g``) so two processes never both win.

Example:
    >>> from tasks.training.spec import JobSpec
    >>> store = JobStore("sqlite://")
    >>> job = store.submit(JobSpec(name="a"))
    >>> store.transition(job.id, "running", expect=("queued",), pus=2)
    True
    >>> store.get("a").state, store.get("a").pus
    ('running', 2)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tasks.training.schema import (
    AllocationRow,
    CheckpointRow,
    JobRow,
    RetryPolicy,
    SampleRow,
    StoreUnavailable,
    open_engine,
    retried,
)
from tasks.training.spec import JobSpec, SpecError

__all__ = [
    "ACTIVE",
    "FINAL",
    "STATES",
    "Job",
    "JobStore",
    "RetryPolicy",
    "Sample",
    "StoreUnavailable",
]

STATES = ("queued", "running", "stopping", "completed", "failed", "cancelled")
ACTIVE = ("queued", "running", "stopping")
FINAL = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class Job:
    """A job as read from the store (a detached snapshot)."""

    id: int
    name: str
    spec: JobSpec
    state: str
    generation: int
    pus: int
    workers: tuple[str, ...]
    epoch: int
    position: int
    metric: float | None
    examples: int
    attained_pu_s: float
    error: str | None
    submitted_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class Sample:
    """One progress sample a rank reported (rank 0 reports for the whole job)."""

    job_id: int
    generation: int
    at: float
    epoch: int
    step: int
    pus: int
    loss: float | None = None
    metric: float | None = None
    samples_per_s: float | None = None
    step_s: float | None = None
    sync_s: float | None = None
    share: float = 1.0


@dataclass(frozen=True)
class AllocationEntry:
    """PUs one job held from one outer iteration on."""

    iteration: int
    at: float
    job: str
    pus: int
    workers: tuple[str, ...]
    policy: str
    capacity: int


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        name=row.name,
        spec=JobSpec.model_validate_json(row.spec),
        state=row.state,
        generation=row.generation,
        pus=row.pus,
        workers=tuple(json.loads(row.workers)),
        epoch=row.epoch,
        position=row.position,
        metric=row.metric,
        examples=row.examples or 0,
        attained_pu_s=row.attained_pu_s,
        error=row.error,
        submitted_at=row.submitted_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class JobStore:
    """Jobs, progress samples, allocations and checkpoints in one SQL database.

    Args:
        url: any SQLAlchemy URL; the tables are created if missing.
        retries / backoff_s: transient faults are retried this often, the delay doubling
            from ``backoff_s`` (capped at 8 s); then :class:`StoreUnavailable`.
        lock_timeout_s: how long one SQLite statement waits for another writer's lock.
    """

    def __init__(
        self, url: str, *, retries: int = 6, backoff_s: float = 0.5, lock_timeout_s: float = 60.0
    ) -> None:
        self.url = url
        self.policy = RetryPolicy(retries, backoff_s)
        self.engine = open_engine(url, lock_timeout_s, self.policy)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    # jobs ---------------------------------------------------------------------------
    @retried
    def submit(self, spec: JobSpec) -> Job:
        """Queue a new job; a name already in the store is rejected with :class:`SpecError`."""
        now = time.time()
        row = JobRow(
            name=spec.name,
            spec=spec.model_dump_json(),
            state="queued",
            submitted_at=now,
            updated_at=now,
            workers="[]",
        )
        with Session(self.engine) as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                raise SpecError(f"name: a job named {spec.name!r} already exists") from None
            return _job(row)

    @retried
    def get(self, key: int | str) -> Job:
        """A job by id or name; ``KeyError`` naming the key if there is none."""
        with Session(self.engine) as s:
            stmt = select(JobRow).where(
                JobRow.id == key if isinstance(key, int) else JobRow.name == key
            )
            row = s.scalars(stmt).first()
            if row is None and isinstance(key, str) and key.isdigit():
                row = s.get(JobRow, int(key))
            if row is None:
                raise KeyError(f"no job {key!r}")
            return _job(row)

    @retried
    def jobs(self, states: Iterable[str] | None = None) -> list[Job]:
        """Jobs in submission order, optionally only those in ``states``."""
        with Session(self.engine) as s:
            stmt = select(JobRow).order_by(JobRow.id)
            if states is not None:
                stmt = stmt.where(JobRow.state.in_(tuple(states)))
            return [_job(r) for r in s.scalars(stmt)]

    @retried
    def transition(
        self,
        job_id: int,
        to: str,
        *,
        expect: Sequence[str],
        generation: int | None = None,
        **fields: Any,
    ) -> bool:
        """Move a job to state ``to`` if it is in one of ``expect`` (and at ``generation``).

        Returns whether this call made the change; extra ``fields`` are written with it
        (``workers`` may be a sequence of addresses).
        """
        if to not in STATES:
            raise ValueError(f"unknown job state {to!r}")
        values = dict(fields, state=to, updated_at=time.time())
        if "workers" in values and not isinstance(values["workers"], str):
            values["workers"] = json.dumps(list(values["workers"]))
        if to in FINAL:
            values.setdefault("finished_at", time.time())
        stmt = update(JobRow).where(JobRow.id == job_id, JobRow.state.in_(tuple(expect)))
        if generation is not None:
            stmt = stmt.where(JobRow.generation == generation)
        with Session(self.engine) as s:
            result = s.execute(stmt.values(**values))
            s.commit()
            return bool(getattr(result, "rowcount", 0))

    @retried
    def start(self, job_id: int, generation: int, pus: int, workers: Sequence[str]) -> int | None:
        """Move a queued job at ``generation`` to running as launch ``generation + 1``.

        Returns the new generation, or ``None`` if the job was not queued at ``generation``.
        """
        now = time.time()
        stmt = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.state == "queued", JobRow.generation == generation)
            .values(
                state="running",
                generation=generation + 1,
                pus=pus,
                workers=json.dumps(list(workers)),
                updated_at=now,
                started_at=func.coalesce(JobRow.started_at, now),
            )
        )
        with Session(self.engine) as s:
            result = s.execute(stmt)
            s.commit()
            return generation + 1 if getattr(result, "rowcount", 0) else None

    @retried
    def update_progress(
        self, job_id: int, generation: int, *, epoch: int, position: int, **fields: Any
    ) -> None:
        """Record where a running generation is (only that generation may write)."""
        stmt = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.generation == generation)
            .values(epoch=epoch, position=position, updated_at=time.time(), **fields)
        )
        with Session(self.engine) as s:
            s.execute(stmt)
            s.commit()

    @retried
    def add_attained(self, job_id: int, pu_s: float) -> None:
        """Add PU-seconds of service to a job."""
        stmt = (
            update(JobRow)
            .where(JobRow.id == job_id)
            .values(attained_pu_s=JobRow.attained_pu_s + pu_s)
        )
        with Session(self.engine) as s:
            s.execute(stmt)
            s.commit()

    # samples ------------------------------------------------------------------------
    @retried
    def add_samples(self, samples: Sequence[Sample]) -> None:
        """Append progress samples."""
        if not samples:
            return
        with Session(self.engine) as s:
            s.add_all(SampleRow(**vars(x)) for x in samples)
            s.commit()

    @retried
    def samples(self, job_id: int) -> list[Sample]:
        """A job's samples in time order."""
        with Session(self.engine) as s:
            stmt = select(SampleRow).where(SampleRow.job_id == job_id).order_by(SampleRow.id)
            return [
                Sample(**{f.name: getattr(r, f.name) for f in fields(Sample)})
                for r in s.scalars(stmt)
            ]

    # allocations --------------------------------------------------------------------
    @retried
    def next_iteration(self) -> int:
        """Number of the next outer iteration (1-based)."""
        with Session(self.engine) as s:
            last = s.scalar(select(func.max(AllocationRow.iteration)))
            return int(last or 0) + 1

    @retried
    def record_allocation(
        self,
        iteration: int,
        rows: Sequence[tuple[int, int, Sequence[str]]],
        *,
        policy: str,
        capacity: int,
    ) -> None:
        """Record ``(job_id, pus, workers)`` for every job an outer iteration decided on."""
        now = time.time()
        with Session(self.engine) as s:
            s.add_all(
                AllocationRow(
                    iteration=iteration,
                    at=now,
                    job_id=job_id,
                    pus=pus,
                    workers=json.dumps(list(workers)),
                    policy=policy,
                    capacity=capacity,
                )
                for job_id, pus, workers in rows
            )
            s.commit()

    @retried
    def allocations(self) -> list[AllocationEntry]:
        """Every recorded allocation, oldest first."""
        with Session(self.engine) as s:
            stmt = (
                select(AllocationRow, JobRow.name)
                .join(JobRow, JobRow.id == AllocationRow.job_id)
                .order_by(AllocationRow.iteration, AllocationRow.id)
            )
            return [
                AllocationEntry(
                    iteration=a.iteration,
                    at=a.at,
                    job=name,
                    pus=a.pus,
                    workers=tuple(json.loads(a.workers)),
                    policy=a.policy,
                    capacity=a.capacity,
                )
                for a, name in s.execute(stmt)
            ]

    # checkpoints --------------------------------------------------------------------
    @retried
    def add_checkpoint(
        self,
        job_id: int,
        path: str,
        *,
        step: int,
        epoch: int,
        position: int,
        world_size: int,
        checksum: str,
    ) -> None:
        """Record a checkpoint rank 0 wrote."""
        with Session(self.engine) as s:
            s.add(
                CheckpointRow(
                    job_id=job_id,
                    path=path,
                    step=step,
                    epoch=epoch,
                    position=position,
                    world_size=world_size,
                    checksum=checksum,
                    at=time.time(),
                )
            )
            s.commit()

    @retried
    def checkpoints(self, job_id: int) -> list[dict[str, Any]]:
        """A job's recorded checkpoints, oldest first, as plain dicts."""
        with Session(self.engine) as s:
            stmt = select(CheckpointRow).where(CheckpointRow.job_id == job_id)
            return [
                {
                    "path": r.path,
                    "step": r.step,
                    "epoch": r.epoch,
                    "position": r.position,
                    "world_size": r.world_size,
                    "checksum": r.checksum,
                    "at": r.at,
                }
                for r in s.scalars(stmt.order_by(CheckpointRow.id))
            ]
