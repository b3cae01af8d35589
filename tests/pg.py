"""A real PostgreSQL server for tests: Debian's binaries, a temporary data directory, loopback.

:func:`start_postgres` runs ``initdb`` and ``pg_ctl start`` on a free 127.0.0.1 port and
:meth:`PostgresServer.stop` shuts it down and removes the data. PostgreSQL refuses to run as
root, so under root the data directory belongs to the ``postgres`` user and every server
command runs through ``runuser -u postgres --``. Each test gets its own database
(:meth:`PostgresServer.new_database`) on the one server of the session, so tests stay
independent without paying a server start (about a second) each.

Example:
    >>> server = start_postgres()  # doctest: +SKIP
    >>> server.new_database("jobs")  # doctest: +SKIP
    'postgresql+psycopg://tessera@127.0.0.1:41234/jobs'
    >>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresServer", "PostgresUnavailable", "find_bin_dir", "start_postgres"]

USER = "tessera"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here (binaries or the ``postgres`` user missing)."""


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` folder, or None when there is none.

    Example:
        >>> find_bin_dir()  # doctest: +SKIP
        PosixPath('/usr/lib/postgresql/15/bin')
    """
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        version = Path(initdb).parent.parent.name
        if version.isdigit() and Path(initdb).with_name("pg_ctl").exists():
            found.append((int(version), Path(initdb).parent))
    if found:
        return max(found)[1]
    # Other distributions put initdb on PATH.
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path and shutil.which("pg_ctl") else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Example:
        >>> 1024 < free_port() < 65536
        True
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: where it listens, its data, and how to reach it."""

    bin_dir: Path
    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    as_postgres: bool = False

    def url(self, database: str = "postgres", driver: str = "psycopg") -> str:
        """A SQLAlchemy URL for ``database`` (trust authentication: no password).

        Example:
            >>> PostgresServer(Path("/b"), Path("/d"), 5999).url("jobs", "asyncpg")
            'postgresql+asyncpg://tessera@127.0.0.1:5999/jobs'
        """
        return f"postgresql+{driver}://{USER}@{self.host}:{self.port}/{database}"

    def new_database(self, name: str, driver: str = "psycopg") -> str:
        """Create an empty database ``name`` and return its URL.

        Example:
            >>> server.new_database("t1")  # doctest: +SKIP
            'postgresql+psycopg://tessera@127.0.0.1:41234/t1'
        """
        import psycopg

        # CREATE DATABASE cannot run inside a transaction: autocommit.
        with psycopg.connect(
            host=self.host, port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name, driver)

    def stop(self) -> None:
        """Fast shutdown (rolls back open transactions), then remove the data directory."""
        try:
            subprocess.run(
                [*self._prefix(), str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir),
                 "-m", "fast", "-w", "-t", "30"],
                check=False, capture_output=True, timeout=60,
            )  # fmt: skip
        finally:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def log(self) -> str:
        """The server's log so far (for failure messages)."""
        path = self.data_dir.parent / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _prefix(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if self.as_postgres else []


def start_postgres(timeout_s: float = 60.0) -> PostgresServer:
    """Start a throwaway PostgreSQL server on a free loopback port.

    Durability is switched off (``fsync=off``, ``--no-sync``): the data dies with the test
    session, and syncing on a shared 2-core machine costs seconds per database created.

    Raises:
        PostgresUnavailable: no PostgreSQL binaries, or running as root without a
            ``postgres`` user and ``runuser`` to drop to it.

    Example:
        >>> server = start_postgres()  # doctest: +SKIP
        >>> server.port > 0  # doctest: +SKIP
        True
    """
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(
            "PostgreSQL binaries not found (no /usr/lib/postgresql/*/bin/initdb): "
            "apt-get install postgresql, or run make setup"
        )
    as_postgres = os.geteuid() == 0
    if as_postgres:
        import pwd

        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgresUnavailable("running as root and no 'postgres' user to run as") from exc
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root and no runuser to drop to 'postgres'")
    # Not under pytest's tmp folder: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="tessera-pg-"))
    data = root / "data"
    if as_postgres:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    server = PostgresServer(bin_dir, data, free_port(), as_postgres=as_postgres)
    prefix = server._prefix()
    try:
        subprocess.run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True, text=True, timeout=timeout_s,
        )  # fmt: skip
        options = (
            f"-h {server.host} -p {server.port} -k {root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "start", "-D", str(data), "-w",
             "-t", str(int(timeout_s)), "-l", str(root / "server.log"), "-o", options],
            check=True, capture_output=True, text=True, timeout=timeout_s + 10,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        log = server.log()
        server.stop()
        raise RuntimeError(
            f"PostgreSQL did not start: {exc.cmd[len(prefix)]} said {exc.stderr.strip()}\n{log}"
        ) from exc
    return server
