"""``make demo``: run every capability that exists on embedded defaults.

Each module in :mod:`flows.demos` is one part (``ORDER`` sets the sequence, ``run``
does the work); a part that fails makes the demo exit non-zero after the others ran.

Example:
    $ uv run python -m flows.demo
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from contextlib import ExitStack
from types import ModuleType
from typing import Any

import flows.demos
from flows.demos import console
from flows.logs import library_output_to_log
from flows.runtime import prefect_api
from tasks.settings import Settings, apply_offline_env, get_settings


def parts() -> list[ModuleType]:
    """The demo parts in their run order."""
    mods = [
        importlib.import_module(f"flows.demos.{m.name}")
        for m in pkgutil.iter_modules(flows.demos.__path__)
        if not m.name.startswith("_")
    ]
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 100))


def main() -> int:
    apply_offline_env()
    settings = get_settings()
    settings.ensure_dirs()
    verbose = "-v" in sys.argv[1:] or "--verbose" in sys.argv[1:]
    console.rule("[bold]Tessera demo")
    console.print(f"scene store {settings.lancedb_uri}, job store {settings.job_store_url}")
    started = time.perf_counter()
    log_dir = settings.data_dir / "logs"
    with ExitStack() as stack:
        log = stack.enter_context(
            library_output_to_log("demo", log_dir, (console, console), verbose)
        )
        with console.status("starting Prefect (a temporary server, or the one make serve runs)"):
            stack.enter_context(prefect_api(settings))
        outcomes = _run_parts(settings)
    _summary(settings, outcomes, time.perf_counter() - started, log)
    return 1 if any(not ok for ok, _ in outcomes.values()) else 0


def _summary(
    settings: Settings, outcomes: dict[str, tuple[bool, float]], seconds: float, log: Any
) -> None:
    console.rule("[bold]summary")
    for name, (ok, took) in outcomes.items():
        mark = "[green]ok" if ok else "[red]FAILED"
        console.print(f"{mark}[/] {name} ({took:.0f} s)")
    files = sorted(
        p
        for folder in ("reports", "samples")
        for p in (settings.data_dir / folder).glob("*")
        if p.is_file()
    )
    for path in files:
        console.print(f"  {path}", markup=False, highlight=False)
    console.print(f"scenes: {settings.lancedb_uri}; jobs: {settings.job_store_url}")
    if log is not None:
        console.print(f"library logs: {log}", markup=False)
    console.print(
        'next: `source .venv/bin/activate`, then `tessera search "a red screen"`; or '
        "`make serve` for the Prefect UI (http://127.0.0.1:4200) and Tessera's "
        f"(http://127.0.0.1:8800). {seconds:.0f} s in all.",
        markup=False,
    )


def _run_parts(settings: Settings) -> dict[str, tuple[bool, float]]:
    outcomes: dict[str, tuple[bool, float]] = {}
    for part in parts():
        name = part.__name__.rsplit(".", 1)[-1]
        console.rule(f"[bold cyan]{name}")
        t0 = time.perf_counter()
        ok = True
        try:
            part.run(settings)
        except Exception as exc:  # one failing part must not hide the others
            console.print(f"demo part {name} failed: {type(exc).__name__}: {exc}", markup=False)
            traceback.print_exc()  # into the log file
            ok = False
        outcomes[name] = (ok, time.perf_counter() - t0)
    return outcomes


if __name__ == "__main__":
    sys.exit(main())
