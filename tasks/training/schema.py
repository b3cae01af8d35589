"""The job store's tables, how a database is opened, kept up to date and retried.

Only :mod:`tasks.training.store` imports this: together they are the one place that knows the
schema. Opening a store runs its Alembic migrations (``migrations/versions``, shipped in the
package) up to head, so a SQLite file or PostgreSQL database made by an older Tessera is
upgraded in place; a schema change is a new revision there, never an edit of these classes
alone (``tests/training/test_store.py`` fails when the two disagree).

Transient faults (SQLite "database is locked", a dropped or refused PostgreSQL connection)
are retried with capped exponential backoff by :func:`call_with_retries`; only when the
retries are spent does :class:`StoreUnavailable` surface, with one line naming the store
(password hidden) and the cause. Pools ping a connection before use (``pool_pre_ping``), so
a connection the server dropped is replaced rather than failing the next statement.

Example:
    >>> engine = open_engine("sqlite://")
    >>> sorted(Base.metadata.tables)
    ['allocations', 'checkpoints', 'jobs', 'samples']
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Float, ForeignKey, Integer, String, Text, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool, StaticPool

__all__ = [
    "AllocationRow",
    "Base",
    "CheckpointRow",
    "JobRow",
    "RetryPolicy",
    "SampleRow",
    "StoreUnavailable",
    "alembic_config",
    "call_with_retries",
    "current_revision",
    "head_revision",
    "is_transient",
    "migrate",
    "open_engine",
    "retried",
    "safe_url",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")

# SQLite reports contention and I/O hiccups as OperationalError, but so are "no such table"
# and "unable to open database file", which no retry fixes: only these are transient there.
_SQLITE_TRANSIENT = ("database is locked", "database is busy", "database table is locked")


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


class StoreUnavailable(RuntimeError):
    """The job store stayed unreachable (locked, refused, dropped) through every retry."""


class RetryPolicy:
    """How often and how long to retry a transient job-store fault.

    Args:
        retries: further attempts after the first (0: fail at once).
        backoff_s: first delay; each retry doubles it, up to ``max_backoff_s``, with jitter
            so ranks that hit the same lock do not retry in lockstep.
        max_backoff_s: the longest single delay.

    Example:
        >>> [round(d, 1) for d in RetryPolicy(4, 0.5, 2.0).delays(jitter=False)]
        [0.5, 1.0, 2.0, 2.0]
    """

    def __init__(self, retries: int = 6, backoff_s: float = 0.5, max_backoff_s: float = 8.0):
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    def delays(self, jitter: bool = True) -> list[float]:
        """The sleep before each retry, in order."""
        out = []
        for i in range(self.retries):
            base = min(self.max_backoff_s, self.backoff_s * 2**i)
            out.append(base * (0.5 + random.random() / 2) if jitter else base)
        return out


def safe_url(url: str) -> str:
    """``url`` with any password masked, for messages and logs.

    Example:
        >>> safe_url("postgresql+psycopg://tessera:s3cret@db/jobs")
        'postgresql+psycopg://tessera:***@db/jobs'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1] if "@" in url else url


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a fault a later attempt may not hit (lock, lost connection).

    Example:
        >>> from sqlite3 import OperationalError as Raw
        >>> is_transient(OperationalError("UPDATE", {}, Raw("database is locked")))
        True
        >>> is_transient(OperationalError("SELECT", {}, Raw("no such table: x")))
        False
    """
    if isinstance(exc, PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    orig = exc.orig
    if type(orig).__module__.startswith("sqlite3"):
        return any(m in str(orig).lower() for m in _SQLITE_TRANSIENT)
    # Server databases raise OperationalError for connection loss, refusal, failover,
    # serialization failures and deadlocks: all worth another attempt.
    return True


def call_with_retries(url: str, what: str, fn: Callable[[], T], policy: RetryPolicy) -> T:
    """``fn()``, retried on transient faults per ``policy``; :class:`StoreUnavailable` at last.

    Every attempt must be a whole transaction (each store method opens its own session),
    so repeating one never half-applies it.

    Example:
        >>> call_with_retries("sqlite://", "ping", lambda: 1, RetryPolicy(0))
        1
    """
    delays = policy.delays()
    started = time.monotonic()
    for attempt in range(len(delays) + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            cause = str(getattr(exc, "orig", None) or exc).splitlines()[0].strip()
            if attempt == len(delays):
                raise StoreUnavailable(
                    f"job store {safe_url(url)}: {what} failed after {attempt + 1} tries "
                    f"over {time.monotonic() - started:.0f} s: {cause}"
                ) from exc
            logger.warning(
                "job store %s: %s: %s (retry %d/%d in %.1f s)",
                safe_url(url),
                what,
                cause,
                attempt + 1,
                len(delays),
                delays[attempt],
            )
            time.sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover


def retried(method: Callable[Concatenate[Any, P], T]) -> Callable[Concatenate[Any, P], T]:
    """Run a store method under its object's ``policy`` against its ``url``.

    Example:
        >>> class Ping:
        ...     url, policy = "sqlite://", RetryPolicy(0)
        ...     @retried
        ...     def ping(self) -> int:
        ...         return 1
        >>> Ping().ping()
        1
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: P.args, **kwargs: P.kwargs) -> T:
        return call_with_retries(
            self.url, method.__name__, lambda: method(self, *args, **kwargs), self.policy
        )

    return wrapper


def _engine(url: str, lock_timeout_s: float = 60.0) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if not path or path == ":memory:":
            return create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"timeout": lock_timeout_s, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the ranks on several workers write samples while the flow reads.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(lock_timeout_s * 1000)}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed 64-bit number: the PostgreSQL advisory lock every opener takes to migrate.
_PG_MIGRATION_LOCK = 0x7E55E7A_10B5


def alembic_config() -> Config:
    """Alembic's configuration for the job store (no ini file: the scripts ship in the package).

    Example:
        >>> alembic_config().get_main_option("script_location").endswith("migrations")
        True
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration in this Tessera (what every opened store is brought to).

    Example:
        >>> head_revision()
        '0001'
    """
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations under {MIGRATIONS}"
    return head


def current_revision(engine: Engine) -> str | None:
    """The store's migration revision, or None for an empty or pre-migration store.

    Example:
        >>> current_revision(open_engine("sqlite://")) == head_revision()
        True
    """
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _migration_engine(engine: Engine, lock_timeout_s: float) -> Engine:
    """An engine whose transactions hold the database's write lock from their first statement.

    pysqlite runs DDL outside any transaction, so two processes opening a new SQLite store at
    once would both try to create its tables. Opening the migration with ``BEGIN IMMEDIATE``
    takes SQLite's write lock first: the second opener waits, then finds the store at head.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return engine  # in-memory SQLite is private to its one connection; servers lock below
    migrating = create_engine(
        url,
        poolclass=NullPool,
        connect_args={"timeout": lock_timeout_s, "check_same_thread": False},
    )

    @event.listens_for(migrating, "connect")
    def _manual(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy, not pysqlite, says when to BEGIN

    @event.listens_for(migrating, "begin")
    def _immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return migrating


def migrate(engine: Engine, lock_timeout_s: float = 60.0) -> None:
    """Upgrade the store behind ``engine`` to :func:`head_revision` with Alembic, in place.

    One transaction holds the migration lock (SQLite's write lock, a PostgreSQL advisory
    lock) around the whole upgrade, so concurrent openers (every rank opens the store) wait
    and then find nothing to do, and a failed upgrade leaves the store as it was (both
    databases roll back DDL). A store already at head costs one query.

    Example:
        >>> engine = _engine("sqlite://")
        >>> migrate(engine)
        >>> current_revision(engine)
        '0001'
    """
    if current_revision(engine) == head_revision():
        return
    migrating = _migration_engine(engine, lock_timeout_s)
    try:
        with migrating.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    finally:
        if migrating is not engine:
            migrating.dispose()


def open_engine(
    url: str, lock_timeout_s: float = 60.0, policy: RetryPolicy | None = None
) -> Engine:
    """An engine on ``url`` with every table present and up to date (:func:`migrate`).

    Args:
        url: any SQLAlchemy URL.
        lock_timeout_s: how long one SQLite statement waits on another writer's lock.
        policy: retries of the table check when the store is locked or unreachable.
    """
    engine = _engine(url, lock_timeout_s)

    call_with_retries(
        url, "opening", lambda: migrate(engine, lock_timeout_s), policy or RetryPolicy()
    )
    return engine
