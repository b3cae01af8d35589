"""The ``tessera`` command.

The root app lives here; each capability registers its commands from its own module
(``flows.cli.<name>``), so a command exists only once the capability behind it works.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from typing import Any

import typer
import typer.core
from rich.console import Console

from tasks import __version__
from tasks.settings import apply_offline_env, get_settings

# Typer 0.29 labels every flag "<bool>" in --help; a flag takes no value, so say nothing.
_option_type = typer.core.TyperOption.display_type_rich


def _flag_without_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    return None if self.is_flag else _option_type(self, ctx)


typer.core.TyperOption.display_type_rich = _flag_without_type  # type: ignore[method-assign]

app = typer.Typer(
    name="tessera",
    help="Elastic training scheduler and multi-modal video scene search.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# soft_wrap: a one-line error stays one line (paths are long), whatever the width.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


# Commands whose libraries (Dask, Prefect, torch, whisperx) print: their output goes to
# data/logs unless -v is given (flows.logs).
LOGGED_COMMANDS = frozenset(
    {"ingest", "backfill", "search", "reschedule", "cluster", "serve", "ui"}
)


def echo(text: str) -> None:
    """Print one line of a command's result (JSON, plain text) on the terminal's stdout.

    ``typer.echo`` writes to ``sys.stdout``, which :mod:`flows.logs` may have pointed at
    the log file; the console keeps the terminal.
    """
    console.file.write(text + "\n")
    console.file.flush()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tessera {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Show the libraries' logs (Dask, Prefect, whisperx) on the terminal too; "
        "by default they go to data/logs.",
    ),
) -> None:
    """Elastic training scheduler and multi-modal video scene search."""


@app.command("config")
def config_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Print the settings in force (defaults, tessera.toml, TESSERA_* variables).

    Example: TESSERA_LANCEDB_URI=s3://bucket/scenes tessera config
    """
    values = get_settings().public_dict()
    if as_json:
        echo(json.dumps(values, indent=2))
        return
    from rich.table import Table

    table = Table(title="Tessera settings", show_lines=False)
    table.add_column("setting")
    table.add_column("value")
    for key, value in values.items():
        table.add_row(key, "" if value is None else str(value))
    console.print(table)


def _load_commands() -> None:
    # Every sibling module registers its commands on ``app`` when imported; heavy
    # libraries are imported inside the commands so that ``--help`` stays fast.
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def _command(argv: list[str]) -> str:
    return next((a for a in argv if not a.startswith("-")), "")


def main() -> None:
    """Console-script entry point: environment, where output goes, one-line errors."""
    from pydantic import ValidationError

    from flows.logs import library_output_to_log

    try:
        apply_offline_env()
        settings = get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        err_console.print(f"tessera: bad setting {where}: {first['msg']}", markup=False)
        sys.exit(2)
    argv = sys.argv[1:]
    command = _command(argv)
    if command not in LOGGED_COMMANDS or "--help" in argv:
        app()
        return
    verbose = "-v" in argv or "--verbose" in argv
    log_dir = settings.data_dir / "logs"
    log = None
    try:
        with library_output_to_log(command, log_dir, (console, err_console), verbose) as log:
            app()
    except Exception as exc:
        where = f" (details in {log})" if not verbose and log is not None else ""
        err_console.print(
            f"tessera {command}: {type(exc).__name__}: {exc}{where}", markup=False, highlight=False
        )
        sys.exit(1)


_load_commands()
