"""The ``tessera`` command.

The root app lives here; each capability registers its commands from its own module
(``flows.cli.<name>``), so a command exists only once the capability behind it works.
"""

from __future__ import annotations

import importlib
import json
import pkgutil

import typer
from rich.console import Console

from tasks import __version__
from tasks.settings import apply_offline_env, get_settings

app = typer.Typer(
    name="tessera",
    help="Elastic training scheduler and multi-modal video scene search.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tessera {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Elastic training scheduler and multi-modal video scene search."""


@app.command("config")
def config_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Print the settings in force (defaults, tessera.toml, TESSERA_* variables).

    Example: ``TESSERA_LANCEDB_URI=s3://bucket/scenes tessera config``
    """
    values = get_settings().public_dict()
    if as_json:
        typer.echo(json.dumps(values, indent=2))
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


def main() -> None:
    """Console-script entry point."""
    apply_offline_env()
    app()


_load_commands()
