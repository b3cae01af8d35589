"""The Prefect server on PostgreSQL, as production runs it (``infra/prefect-server.sh``).

A real ``prefect server start`` process keeps its database in a real PostgreSQL server
(``PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://...``); the reschedule flow runs
against it from another process (``PREFECT_API_URL``), and the run must be recorded both in
the server's API and in PostgreSQL's own tables, so a server silently falling back to SQLite
fails the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pg import PostgresServer, PostgresUnavailable, free_port, start_postgres

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

_RESCHEDULE = """
import json, sys
from pathlib import Path
from flows.reschedule import reschedule
from tasks.settings import Settings

data = Path(sys.argv[1])
settings = Settings(data_dir=data, job_store_url=f"sqlite:///{data / 'state' / 'jobs.db'}")
print(json.dumps(reschedule(settings, policy="doubling")))
"""


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """This module's own PostgreSQL server (skips, saying why, where it is not installed)."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


def _prefect_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")}
    env.update(PREFECT_HOME=str(tmp / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


@pytest.fixture(scope="module")
def prefect_on_postgres(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """``infra/prefect-server.sh`` on PostgreSQL: (its API URL, its database's psycopg URL).

    The script is given a plain ``postgresql://`` URL, as an operator would write it: it must
    add the asyncpg driver itself.
    """
    tmp = tmp_path_factory.mktemp("prefect-pg")
    database = postgres.new_database("prefect", driver="asyncpg")
    port = free_port()
    env = _prefect_env(tmp)
    env["PREFECT_API_DATABASE_CONNECTION_URL"] = database.replace("+asyncpg", "")
    env.update(PREFECT_PORT=str(port), PREFECT_HOST="127.0.0.1")
    env["PREFECT_UI_ENABLED"] = "false"  # the UI's static build is not what is under test
    log = (tmp / "server.log").open("w")
    # Its own process group: the script execs uv, which runs the server as its child.
    proc = subprocess.Popen(
        ["bash", str(ROOT / "infra" / "prefect-server.sh")],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        # First start migrates an empty database: slow on a shared 2-core machine.
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited {proc.returncode}:\n{_tail(tmp)}")
            try:
                if httpx.get(f"{api}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server did not answer in 240 s:\n{_tail(tmp)}")
            time.sleep(1)
        yield api, database.replace("+asyncpg", "+psycopg")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _tail(tmp: Path) -> str:
    return (tmp / "server.log").read_text(errors="replace")[-4000:]


def test_reschedule_flow_runs_through_a_prefect_server_on_postgres(
    prefect_on_postgres: tuple[str, str], tmp_path: Path
) -> None:
    api, database = prefect_on_postgres
    env = _prefect_env(tmp_path)
    env["PREFECT_API_URL"] = api
    env.pop("TESSERA_DASK_ADDRESS", None)  # no cluster: the run completes, nothing scheduled
    done = subprocess.run(
        [sys.executable, "-c", _RESCHEDULE, str(tmp_path / "data")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert '"capacity": 0' in done.stdout.splitlines()[-1]

    runs = httpx.post(
        f"{api}/flow_runs/filter", json={"flows": {"name": {"any_": ["reschedule"]}}}, timeout=30
    ).json()
    assert [r["state_type"] for r in runs] == ["COMPLETED"], runs
    artifacts = httpx.post(
        f"{api}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [runs[0]["id"]]}}},
        timeout=30,
    ).json()
    assert any("nothing to schedule" in (a.get("data") or "") for a in artifacts), artifacts

    # The server kept it in PostgreSQL, not in a SQLite file of its own.
    import sqlalchemy as sa

    engine = sa.create_engine(database, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT state_type FROM flow_run WHERE id = CAST(:id AS uuid)"),
            {"id": runs[0]["id"]},
        ).scalar()
    engine.dispose()
    assert stored == "COMPLETED"
    # And the flow's process used that server, not a temporary one with a SQLite file.
    assert not list((tmp_path / "prefect").glob("*.db"))


def test_served_reschedule_deployment_runs_through_the_postgres_server(
    prefect_on_postgres: tuple[str, str], tmp_path: Path
) -> None:
    """`tessera serve` registers the deployments there; a run created from the reschedule
    deployment (as the UI's "Run" button does) is picked up and completes."""
    import signal
    import time

    api, _ = prefect_on_postgres
    env = _prefect_env(tmp_path)
    env.update(
        PREFECT_API_URL=api,
        TESSERA_DATA_DIR=str(tmp_path / "data"),
        TESSERA_JOB_STORE_URL=f"sqlite:///{tmp_path / 'jobs.db'}",
    )
    env.pop("TESSERA_DASK_ADDRESS", None)
    with (tmp_path / "serve.log").open("wb") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        found: list[dict[str, object]] = []
        while not found:
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the reschedule deployment was never registered"
            found = httpx.post(
                f"{api}/deployments/filter",
                json={"deployments": {"name": {"any_": ["reschedule"]}}},
                timeout=30,
            ).json()
            time.sleep(1)
        run = httpx.post(
            f"{api}/deployments/{found[0]['id']}/create_flow_run", json={}, timeout=30
        ).json()
        state = ""
        while state != "COMPLETED":
            assert time.monotonic() < deadline + 120, f"run stuck in {state}"
            current = httpx.get(f"{api}/flow_runs/{run['id']}", timeout=30).json()
            assert current["state_type"] not in ("FAILED", "CRASHED"), current
            state = current["state_type"]
            time.sleep(1)
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
