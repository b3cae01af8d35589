"""Transient job-store faults are retried, and the jobs CLI prints stored text as text.

Each test uses a real SQLite lock held by another process (or a real refused connection),
not a mock, so it fails if the retry, the one-line error or the plain-text printing goes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import flows.cli.jobs as jobs_cli
from flows.cli import app
from tasks.settings import get_settings
from tasks.training.spec import JobSpec
from tasks.training.store import JobStore, StoreUnavailable

runner = CliRunner()

_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


@contextmanager
def locked(db: Path, hold_s: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holds SQLite's write lock on ``db`` for ``hold_s`` seconds."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db), str(hold_s)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.db"
    JobStore(f"sqlite:///{path}").submit(JobSpec(name="held"))
    return path


class TestLockedStore:
    def test_write_waits_out_another_process_lock(self, db: Path) -> None:
        store = JobStore(f"sqlite:///{db}", retries=10, backoff_s=0.2, lock_timeout_s=0.2)
        with locked(db, hold_s=1.5):
            t0 = time.monotonic()
            assert store.transition(1, "running", expect=("queued",), pus=1)
            waited = time.monotonic() - t0
        assert waited > 1.0  # it really was blocked, then retried past the lock
        assert store.get("held").state == "running"

    def test_retries_spent_is_one_clear_error(self, db: Path) -> None:
        store = JobStore(f"sqlite:///{db}", retries=1, backoff_s=0.1, lock_timeout_s=0.1)
        with locked(db, hold_s=30), pytest.raises(StoreUnavailable) as info:
            store.transition(1, "running", expect=("queued",), pus=1)
        message = str(info.value)
        assert "\n" not in message
        assert str(db) in message and "database is locked" in message and "2 tries" in message

    def test_non_transient_errors_are_not_retried(self, store_url: str) -> None:
        store = JobStore(store_url, retries=5, backoff_s=5.0)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE samples")
        t0 = time.monotonic()
        # SQLite: "no such table"; PostgreSQL: relation "samples" does not exist.
        with pytest.raises(Exception, match=r'no such table|"samples" does not exist'):
            store.samples(1)
        assert time.monotonic() - t0 < 2.0
        store.close()


class TestDroppedConnections:
    # A server-side connection drop exists only on a database server.
    @pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
    def test_server_killing_every_connection_is_survived(self, store_url: str) -> None:
        store = JobStore(store_url, retries=3, backoff_s=0.1)
        store.submit(JobSpec(name="kept"))
        # The pool now holds an open connection; a failover or restart kills it server-side.
        admin = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        admin.dispose()
        assert killed and killed >= 1
        assert store.transition(1, "running", expect=("queued",), pus=1)
        assert store.get("kept").state == "running"
        store.close()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    get_settings.cache_clear()
    monkeypatch.setenv("TESSERA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TESSERA_JOB_STORE_URL", f"sqlite:///{tmp_path / 'data/state/jobs.db'}")
    monkeypatch.delenv("TESSERA_DASK_ADDRESS", raising=False)
    yield tmp_path
    get_settings.cache_clear()


class TestCliFaults:
    def test_submit_on_a_locked_store_is_one_line(
        self, cli_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(jobs_cli, "CLI_LOCK_TIMEOUT_S", 0.1)
        monkeypatch.setattr(jobs_cli, "CLI_BACKOFF_S", 0.05)
        db = cli_env / "data/state/jobs.db"
        JobStore(f"sqlite:///{db}").close()
        spec = cli_env / "job.yaml"
        spec.write_text("name: blocked\n")
        with locked(db, hold_s=30):
            result = runner.invoke(app, ["jobs", "submit", str(spec)])
        assert result.exit_code == 1, result.output
        assert ("Traceback" not in result.output and result.exception is None) or isinstance(
            result.exception, SystemExit
        )
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "database is locked" in lines[0], result.output

    def test_unreachable_server_is_one_line_without_password(
        self, cli_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(jobs_cli, "CLI_BACKOFF_S", 0.05)
        monkeypatch.setenv(
            "TESSERA_JOB_STORE_URL", "postgresql+psycopg://tessera:s3cret@127.0.0.1:9/jobs"
        )
        get_settings.cache_clear()
        result = runner.invoke(app, ["jobs", "list"])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit)
        assert "s3cret" not in result.output and "127.0.0.1:9" in result.output
        assert len([line for line in result.output.splitlines() if line.strip()]) == 1


class TestStoredTextIsPlain:
    def test_show_prints_a_gloo_error_verbatim(self, cli_env: Path) -> None:
        error = (
            "RuntimeError: [/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:534] "
            "Connection closed by peer [127.0.0.1]:41234 [bold]"
        )
        store = JobStore(get_settings().job_store_url)
        job = store.submit(JobSpec(name="lost"))
        store.transition(job.id, "failed", expect=("queued",), error=error)
        result = runner.invoke(app, ["jobs", "show", "lost"], terminal_width=400)
        assert result.exit_code == 0, result.output
        assert error in result.output
