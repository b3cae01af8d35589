"""What a new user meets first: the Prefect API, where output goes, fast failures.

Entry points run as real processes here (``tessera`` in a subprocess) where what is tested
is process-level: file descriptors, environment, a server's life.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import psutil
import pytest

from flows.runtime import PrefectUnavailableError, prefect_api
from tasks.settings import Settings, project_dir

PYTHON = sys.executable


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A process environment whose state (Prefect home, job store, data) is under tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TESSERA_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        TESSERA_DATA_DIR=str(tmp_path / "data"),
        TESSERA_JOB_STORE_URL=f"sqlite:///{tmp_path / 'jobs.db'}",
        TESSERA_LANCEDB_URI=str(tmp_path / "lancedb"),
        **extra,
    )
    return env


def _tessera(args: list[str], env: dict[str, str], **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "flows.cli", *args],
        env=env,
        cwd=kw.pop("cwd", project_dir()),
        capture_output=True,
        text=True,
        timeout=120,
        **kw,  # type: ignore[arg-type]
    )


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    """A real HTTP server on loopback that answers Prefect's health check."""
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_api_url() -> Iterator[None]:
    """No PREFECT_API_URL in force, even inside the session's Prefect test harness."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    saved = os.environ.pop("PREFECT_API_URL", None)
    try:
        with temporary_settings(restore_defaults={PREFECT_API_URL}):
            yield
    finally:
        if saved is not None:
            os.environ["PREFECT_API_URL"] = saved


class TestPrefectApi:
    @pytest.mark.usefixtures("no_api_url")
    def test_the_project_server_is_used_when_it_answers(
        self, health_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
        (tmp_path / "api-url").write_text(health_server + "\n")
        with prefect_api(Settings(data_dir=tmp_path / "data")) as url:
            assert url == health_server
            assert os.environ["PREFECT_API_URL"] == health_server
        assert "PREFECT_API_URL" not in os.environ
        assert not (tmp_path / "data" / "logs").exists()  # no temporary server was started

    def test_a_set_api_url_that_does_not_answer_is_one_clear_error(self) -> None:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with (
            temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}),
            pytest.raises(PrefectUnavailableError, match=r"PREFECT_API_URL=.*does not answer"),
            prefect_api(),
        ):
            pass

    @pytest.mark.slow
    def test_temporary_server_dies_with_its_parent(self, tmp_path: Path) -> None:
        script = textwrap.dedent(
            """
            import os, sys, time
            from tasks.settings import Settings, apply_offline_env
            apply_offline_env()
            from flows.runtime import prefect_api
            with prefect_api(Settings()) as url:
                print(url, flush=True)
                time.sleep(600)
            """
        )
        parent = subprocess.Popen(
            [PYTHON, "-c", script],
            env=_env(tmp_path),
            cwd=project_dir(),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            url = parent.stdout.readline().strip()  # type: ignore[union-attr]
            assert url.startswith("http://127.0.0.1:"), "the temporary server did not start"
            port = url.split(":")[2].split("/")[0]
            server_pids = [
                p.pid
                for p in psutil.process_iter(["cmdline"])
                if "uvicorn" in (p.info["cmdline"] or []) and port in (p.info["cmdline"] or [])
            ]
            assert server_pids
            parent.send_signal(signal.SIGKILL)
            parent.wait()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(_alive(p) for p in server_pids):
                time.sleep(0.2)
            assert not any(_alive(p) for p in server_pids), "orphaned Prefect server"
        finally:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


class TestNoServerForCommandsWithoutFlows:
    def test_config_jobs_search_and_cluster_status_start_no_prefect_server(
        self, tmp_path: Path
    ) -> None:
        env = _env(tmp_path)
        assert _tessera(["config", "--json"], env).returncode == 0
        submit = _tessera(["jobs", "submit", "--name", "flags-only", "--epochs", "2"], env)
        assert submit.returncode == 0, submit.stderr
        listed = _tessera(["jobs", "list"], env)
        assert "flags-only" in listed.stdout
        assert _tessera(["search", "red"], env).returncode == 1
        assert _tessera(["cluster", "status"], env).returncode == 1
        prefect_home = tmp_path / "prefect"
        assert not (prefect_home / "prefect.db").exists()
        assert not list((tmp_path / "data").glob("logs/prefect-server-*"))


class TestFailFast:
    def test_bad_ingest_inputs_are_reported_before_prefect_or_dask_load(
        self, tmp_path: Path
    ) -> None:
        probe = textwrap.dedent(
            """
            import json, sys
            from typer.testing import CliRunner
            from flows.cli import app
            out = CliRunner().invoke(app, ["ingest", "README.md", "missing.mp4"])
            print(json.dumps({
                "code": out.exit_code, "output": out.output,
                "loaded": [m for m in ("prefect", "distributed", "torch") if m in sys.modules],
            }))
            """
        )
        done = subprocess.run(
            [PYTHON, "-c", probe],
            env=_env(tmp_path),
            cwd=project_dir(),
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["code"] == 1
        assert "README.md: not a readable video" in result["output"]
        assert "missing.mp4: no such file or folder" in result["output"]
        assert result["loaded"] == []

    def test_settings_do_not_follow_the_current_folder(self, tmp_path: Path) -> None:
        env = {k: v for k, v in _env(tmp_path).items() if k != "TESSERA_LANCEDB_URI"}
        here = _tessera(["config", "--json"], env)
        elsewhere = _tessera(["config", "--json"], env, cwd=tmp_path)
        ours = json.loads(here.stdout)["lancedb_uri"]
        assert ours == json.loads(elsewhere.stdout)["lancedb_uri"]
        assert ours == str(project_dir() / "data" / "lancedb")


class TestLibraryOutput:
    def test_library_output_goes_to_the_log_and_results_to_the_terminal(
        self, tmp_path: Path
    ) -> None:
        script = textwrap.dedent(
            f"""
            import logging, os, subprocess, sys
            from pathlib import Path
            from rich.console import Console
            from flows.logs import library_output_to_log
            out, err = Console(), Console(stderr=True)
            with library_output_to_log("t", Path({str(tmp_path)!r}), (out, err)) as log:
                subprocess.run("echo child-stderr >&2; echo child-stdout", shell=True)
                print("library-print")
                logging.getLogger("distributed").warning("library-log")
                out.print("the-result")
                err.print("the-progress")
            out.print(log.name)
            """
        )
        done = subprocess.run(
            [PYTHON, "-c", script], cwd=project_dir(), capture_output=True, text=True, check=True
        )
        assert done.stdout.split() == ["the-result", done.stdout.split()[-1]]
        assert done.stderr.strip() == "the-progress"
        log = (tmp_path / done.stdout.split()[-1]).read_text()
        for line in ("child-stderr", "child-stdout", "library-print", "library-log"):
            assert line in log

    def test_an_unreachable_cluster_is_one_line_before_prefect_starts(self, tmp_path: Path) -> None:
        env = _env(tmp_path, TESSERA_DASK_ADDRESS="tcp://127.0.0.1:9")
        done = _tessera(["reschedule"], env)
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            "error: the Dask cluster at tcp://127.0.0.1:9 does not answer "
            "(`tessera cluster up --pus N` starts one)"
        ]
        assert not (tmp_path / "prefect" / "prefect.db").exists()
