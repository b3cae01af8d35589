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
from types import ModuleType

from rich.console import Console

import flows.demos
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
    console = Console()
    settings = get_settings()
    settings.ensure_dirs()
    console.rule("[bold]Tessera demo")
    console.print(f"settings: lancedb={settings.lancedb_uri} jobs={settings.job_store_url}")
    failed = []
    with prefect_api():
        failed = _run_parts(console, settings)
    if not parts():
        console.print("no demo parts yet")
    return 1 if failed else 0


def _run_parts(console: Console, settings: Settings) -> list[str]:
    failed = []
    for part in parts():
        name = part.__name__.rsplit(".", 1)[-1]
        console.rule(f"[bold cyan]{name}")
        t0 = time.perf_counter()
        try:
            part.run(settings)
        except Exception as exc:  # one failing part must not hide the others
            console.print(f"[red]demo part {name} failed: {type(exc).__name__}: {exc}")
            failed.append(name)
        console.print(f"[dim]{name}: {time.perf_counter() - t0:.1f} s")
    return failed


if __name__ == "__main__":
    sys.exit(main())
