"""Where output goes: Tessera's own on the terminal, the libraries' in a log file.

Dask, Prefect's engine, Lightning, whisperx, CTranslate2 and the worker and server
processes they start all write to the process's stdout and stderr, in Python and in C, and
their lines drowned what a command had to say. :func:`library_output_to_log` points file
descriptors 1 and 2 (which child processes inherit) at ``data/logs/<command>-<time>.log``
and gives Tessera's consoles the terminal back, so a command shows its progress bars and
results only; ``-v`` skips the redirection and shows everything.
"""

from __future__ import annotations

import io
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from rich.console import Console

KEEP_LOGS = 50
"""Log files kept per folder; older ones are removed when a new one starts."""


def _prune(folder: Path, keep: int) -> None:
    logs = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)
    for old in logs[:-keep] if keep else logs:
        old.unlink(missing_ok=True)


def _terminal(stream: TextIO, fd: int) -> tuple[TextIO, int | None]:
    """A writer that still reaches what ``stream`` reached once ``fd`` is redirected."""
    try:
        real = stream.fileno() == fd
    except (AttributeError, OSError, io.UnsupportedOperation):
        real = False
    if not real:  # an in-memory stream (Typer's CliRunner, a notebook): keep it
        return stream, None
    saved = os.dup(fd)
    return os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace"), saved


@contextmanager
def library_output_to_log(
    command: str, log_dir: Path, consoles: tuple[Console, Console], verbose: bool = False
) -> Iterator[Path | None]:
    """Send everything but Tessera's consoles to a log file for the duration of the block.

    An exception escaping the block is written to the log in full and re-raised; the
    caller prints its one-line form.

    Args:
        command: names the log file (``<command>-<YYYYmmdd-HHMMSS>.log``).
        log_dir: folder of the log files (``data/logs``).
        consoles: Tessera's stdout and stderr consoles; they keep the terminal.
        verbose: leave every output where it is (no log file).

    Yields:
        The log file's path, or None when ``verbose``.

    Example:
        >>> with library_output_to_log("ingest", Path("data/logs"), (out, err)) as log:
        ...     run_flows()  # doctest: +SKIP
    """
    if verbose:
        yield None
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    _prune(log_dir, KEEP_LOGS - 1)
    path = log_dir / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    out, err = consoles
    sys.stdout.flush()
    sys.stderr.flush()
    term_out, saved_out = _terminal(sys.stdout, 1)
    term_err, saved_err = _terminal(sys.stderr, 2)
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    # Rich's private ``_file``: None means "whatever sys.stdout is then", which must survive.
    previous = (out._file, err._file)
    try:
        out.file, err.file = term_out, term_err
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        try:
            yield path
        except BaseException as exc:
            if not isinstance(exc, SystemExit | KeyboardInterrupt):
                with open(log_fd, "a", closefd=False) as log:
                    traceback.print_exception(exc, file=log)
            raise
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved in ((1, saved_out), (2, saved_err)):
            if saved is not None:
                os.dup2(saved, fd)
                os.close(saved)
        os.close(log_fd)
        if path.stat().st_size == 0:  # nothing was logged: leave no empty file behind
            path.unlink(missing_ok=True)
        out._file, err._file = previous
        for stream in (term_out, term_err):
            if stream not in (sys.stdout, sys.stderr):
                stream.close()
