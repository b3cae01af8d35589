"""The job store's tables and how a database is opened and brought up to date.

Only :mod:`tasks.training.store` imports this: together they are the one place that knows the
schema. Tables are created when missing; columns that a newer Tessera added are added to an
existing store's tables (``create_all`` never alters a table), so an older SQLite file or
PostgreSQL database keeps working after an upgrade.

Example:
    >>> engine = open_engine("sqlite://")
    >>> sorted(Base.metadata.tables)
    ['allocations', 'checkpoints', 'jobs', 'samples']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool

__all__ = ["AllocationRow", "Base", "CheckpointRow", "JobRow", "SampleRow", "open_engine"]


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    spec: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    pus: Mapped[int] = mapped_column(Integer, default=0)
    workers: Mapped[str] = mapped_column(Text, default="[]")
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    metric: Mapped[float | None] = mapped_column(Float, nullable=True)
    examples: Mapped[int] = mapped_column(Integer, default=0)
    attained_pu_s: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)


class SampleRow(Base):
    __tablename__ = "samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    at: Mapped[float] = mapped_column(Float)
    epoch: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    metric: Mapped[float | None] = mapped_column(Float, nullable=True)
    samples_per_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    pus: Mapped[int] = mapped_column(Integer)
    step_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    sync_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    share: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")


class AllocationRow(Base):
    __tablename__ = "allocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iteration: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[float] = mapped_column(Float)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    pus: Mapped[int] = mapped_column(Integer)
    workers: Mapped[str] = mapped_column(Text, default="[]")
    policy: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int] = mapped_column(Integer)


class CheckpointRow(Base):
    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    step: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    world_size: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if not path or path == ":memory:":
            return create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the ranks on several workers write samples while the flow reads.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _add_missing_columns(engine: Engine) -> None:
    """Add columns newer than a store's tables (``create_all`` never alters a table).

    Only nullable or defaulted columns are ever added, so this is all the migration an
    existing SQLite or PostgreSQL store needs between Tessera versions.
    """
    existing = inspect(engine)
    for table in Base.metadata.sorted_tables:
        have = {c["name"] for c in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            kind = column.type.compile(engine.dialect)
            default = getattr(column.server_default, "arg", None)
            clause = f" DEFAULT {default}" if default is not None else ""
            ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}{clause}"
            with engine.begin() as conn:
                conn.execute(text(ddl))


def open_engine(url: str) -> Engine:
    """An engine on ``url`` with every table present and up to date."""
    engine = _engine(url)
    Base.metadata.create_all(engine)
    _add_missing_columns(engine)
    return engine
