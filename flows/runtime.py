"""The Prefect API every entry point that runs flows talks to.

Without ``PREFECT_API_URL`` Prefect starts a temporary API server in every process that
runs a flow or task (each Dask worker too), with a 20 s start-up limit that a first start
(a database migration) or a busy machine overruns. Entry points therefore pick one API up
front and export its address, which the Dask workers they spawn inherit:

1. ``PREFECT_API_URL`` when it is set (a deployed server, a Prefect profile);
2. else the project's own server, when ``make serve`` runs one (it writes its address to
   ``<PREFECT_HOME>/api-url``) and it answers;
3. else one temporary server for this process, waited on for
   ``settings.prefect_startup_timeout_s`` and tied to this process's life (it exits when
   its parent dies, even on ``kill -9``).

Commands that run no flow never call :func:`prefect_api`, so they start no server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tasks.settings import Settings, get_settings

SERVER_ADDRESS_FILE = "api-url"
"""Under ``PREFECT_HOME``: the API address of the server ``make serve`` runs."""


_run_settings: list[Settings] = []


@contextmanager
def settings_for_runs(settings: Settings | None) -> Iterator[Settings]:
    """Make ``settings`` the ones the flows run inside this block read (:func:`run_settings`).

    Settings are never a flow parameter: Prefect stores parameters and shows them in its UI
    and API, and settings can hold credentials (a database URL with a password). Flows take
    plain parameters and read the rest here; the flow body runs in this process, so a
    process-local stack is enough.

    Example:
        >>> with settings_for_runs(Settings(local_workers=1)):  # doctest: +SKIP
        ...     ingest_flow(["talk.mp4"])
    """
    if settings is None:
        yield run_settings()
        return
    _run_settings.append(settings)
    try:
        yield settings
    finally:
        _run_settings.pop()


def run_settings() -> Settings:
    """The settings of the innermost :func:`settings_for_runs`, else the process's own."""
    return _run_settings[-1] if _run_settings else get_settings()


class PrefectUnavailableError(RuntimeError):
    """No Prefect API could be reached or started (the message says which and why)."""


def prefect_home() -> Path:
    """Prefect's home for this project (``PREFECT_HOME``, set by the entry points).

    Example:
        >>> prefect_home().name
        'prefect'
    """
    home = os.environ.get("PREFECT_HOME")
    return Path(home) if home else get_settings().data_dir / "prefect"


def answers(api_url: str, timeout_s: float = 2.0) -> bool:
    """Whether a Prefect API answers its health check at ``api_url``.

    Example:
        >>> answers("http://127.0.0.1:9/api", timeout_s=0.2)
        False
    """
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def project_server() -> str | None:
    """The API address of this project's running server (``make serve``), if it answers."""
    record = prefect_home() / SERVER_ADDRESS_FILE
    try:
        url = record.read_text().strip()
    except OSError:
        return None
    return url if url and answers(url) else None


def _migrated_marker() -> Path:
    import prefect

    return prefect_home() / f"migrated-{prefect.__version__}"


def migrate_database() -> bool:
    """Bring the project's Prefect database to this Prefect's schema (``make setup``).

    Done once, so that no entry point migrates (a fresh database takes 10-30 s to migrate,
    which is what made the first ``make demo`` time out). A marker per Prefect version
    records it; a database elsewhere (``PREFECT_API_DATABASE_CONNECTION_URL``) is left to
    its server, which migrates on start as usual.

    Returns:
        Whether a migration ran (False: already done, or not the project's database).

    Example:
        >>> migrate_database()  # doctest: +SKIP
        False
    """
    if os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL") or _migrated_marker().exists():
        return False
    prefect_home().mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PREFECT_API_URL": ""},
    )
    _migrated_marker().touch()
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent(parent: int) -> None:
    """``preexec_fn``: the server gets SIGTERM when the process that started it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class TemporaryServer:
    """A Prefect API server on a free loopback port, for the life of one process.

    Args:
        timeout_s: how long :meth:`start` waits for the health check to pass.
        log_path: where the server's own output goes.

    Example:
        >>> with TemporaryServer(timeout_s=180) as url:  # doctest: +SKIP
        ...     answers(url)
        True
    """

    def __init__(self, timeout_s: float, log_path: Path) -> None:
        self.timeout_s = timeout_s
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.api_url = ""

    def _spawn(self) -> subprocess.Popen[bytes]:
        import prefect
        from prefect.settings import get_current_settings

        port = _free_port()
        self.api_url = f"http://127.0.0.1:{port}/api"
        env = {
            **os.environ,
            **get_current_settings().to_environment_variables(exclude_unset=True),
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        env.pop("PREFECT_API_URL", None)
        if (
            not os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL")
            and _migrated_marker().exists()
        ):
            env["PREFECT_API_DATABASE_MIGRATE_ON_START"] = "false"  # make setup did it
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--app-dir",
                    str(Path(prefect.__file__).parent.parent),
                    "--factory",
                    "prefect.server.api.server:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "error",
                    "--lifespan",
                    "on",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=lambda parent=os.getpid(): _die_with_parent(parent),  # type: ignore[misc]
            )

    def start(self) -> str:
        """Start the server and wait until it answers; return its API address.

        Raises:
            PrefectUnavailableError: it exited or did not answer within ``timeout_s``.
        """
        self.process = self._spawn()
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code == 3:  # uvicorn's "address in use": the port was taken meanwhile
                self.process = self._spawn()
                continue
            if code is not None:
                raise PrefectUnavailableError(
                    f"temporary Prefect server exited with code {code}; its log: {self.log_path}"
                )
            if answers(self.api_url, timeout_s=5.0):
                return self.api_url
            time.sleep(0.25)
        self.stop()
        raise PrefectUnavailableError(
            f"temporary Prefect server did not answer within {self.timeout_s:.0f} s "
            "(raise TESSERA_PREFECT_STARTUP_TIMEOUT_S, or run `make serve` so every command "
            f"shares one server); its log: {self.log_path}"
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def prefect_api(settings: Settings | None = None) -> Iterator[str]:
    """Share one Prefect API across this process and the workers it starts.

    Args:
        settings: supplies ``prefect_startup_timeout_s`` and ``data_dir`` (for the server
            log); read once if omitted.

    Raises:
        PrefectUnavailableError: ``PREFECT_API_URL`` is set but does not answer, or a
            temporary server could not be started.

    Example:
        >>> with prefect_api() as url:  # doctest: +SKIP
        ...     ingest(["video.mp4"])
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    settings = settings or get_settings()
    configured = PREFECT_API_URL.value()
    if configured:
        if not answers(configured, timeout_s=10.0):
            raise PrefectUnavailableError(
                f"PREFECT_API_URL={configured} does not answer; start that server or unset "
                "PREFECT_API_URL to use a temporary one"
            )
        yield configured
        return
    url = project_server()
    server: TemporaryServer | None = None
    if url is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        log = settings.data_dir / "logs" / f"prefect-server-{stamp}-{os.getpid()}.log"
        server = TemporaryServer(settings.prefect_startup_timeout_s, log)
        url = server.start()
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings({PREFECT_API_URL: url}):
            yield url
            if server is not None:
                _drain_prefect_workers()
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        if server is not None:
            server.stop()


def _drain_prefect_workers() -> None:
    """Send the logs and events Prefect still queues while their server is up: drained at
    interpreter exit instead, they would meet a stopped server and print errors."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=10)


if __name__ == "__main__":  # `python -m flows.runtime`: make setup's one migration
    from tasks.settings import apply_offline_env

    apply_offline_env()
    if migrate_database():
        print(f"setup: Prefect database migrated under {prefect_home()}")
