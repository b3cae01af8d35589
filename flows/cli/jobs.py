"""``tessera jobs``: submit, list, show and cancel training jobs.

Example:
    $ tessera jobs submit job.yaml --epochs 5 --max-pus 4
    $ tessera jobs list
    $ tessera jobs show digits-mlp
    $ tessera jobs cancel digits-mlp
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.text import Text

from flows.cli import app, console, err_console
from tasks.settings import get_settings

if TYPE_CHECKING:
    from tasks.training.store import JobStore

# The CLI is interactive: a few quick retries, then one clear line (ranks retry longer).
CLI_RETRIES = 3
CLI_BACKOFF_S = 0.5
CLI_LOCK_TIMEOUT_S = 5.0

jobs_app = typer.Typer(help="Submit and inspect elastic training jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` as one plain line (stored text may hold ``[...]``)."""
    line = escape(message.splitlines()[0] if message else "")
    err_console.print(f"[red]error:[/red] {line}", soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def _job_store(url: str) -> Iterator[JobStore]:
    """The job store at ``url``; any database fault becomes one ``error:`` line, exit 1.

    Example:
        >>> with _job_store("sqlite://") as store:  # doctest: +SKIP
        ...     store.jobs()
    """
    from sqlalchemy.exc import SQLAlchemyError

    from tasks.training.store import JobStore, StoreUnavailable

    try:
        store = JobStore(
            url, retries=CLI_RETRIES, backoff_s=CLI_BACKOFF_S, lock_timeout_s=CLI_LOCK_TIMEOUT_S
        )
        try:
            yield store
        finally:
            store.close()
    except StoreUnavailable as exc:
        raise _fail(f"{exc} (is another process holding it? retry shortly)") from None
    except SQLAlchemyError as exc:
        from tasks.training.schema import safe_url

        cause = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise _fail(f"job store {safe_url(url)}: {type(exc).__name__}: {cause}") from None


@jobs_app.command("submit")
def submit(
    spec_file: Path | None = typer.Argument(
        None, help="YAML job spec (fields as in docs/training.md); optional: flags alone work."
    ),
    name: str | None = typer.Option(None, help="Override the job name."),
    model: str | None = typer.Option(None, help="mlp, cnn, transformer or package.module:build."),
    batch_size: int | None = typer.Option(None, help="Samples per PU per step."),
    lr: float | None = typer.Option(None, help="Learning rate at one PU."),
    optimizer: str | None = typer.Option(None, help="sgd or adam."),
    epochs: int | None = typer.Option(None, help="Most epochs to train."),
    target_metric: float | None = typer.Option(None, help="Stop once test accuracy reaches it."),
    min_pus: int | None = typer.Option(None, help="Fewest PUs."),
    max_pus: int | None = typer.Option(None, help="Most PUs."),
    priority: int | None = typer.Option(None, help="Larger runs first."),
) -> None:
    """Validate a job spec and queue it; the next outer iteration schedules it.

    Flags override the file's fields, or give the whole spec without a file.

    Example: tessera jobs submit --name digits --model mlp --epochs 5 --max-pus 4
    """
    from tasks.training.spec import SpecError, load_spec, parse_spec

    overrides = {
        "name": name,
        "model": model,
        "batch_size": batch_size,
        "lr": lr,
        "optimizer": optimizer,
        "epochs": epochs,
        "target_metric": target_metric,
        "min_pus": min_pus,
        "max_pus": max_pus,
        "priority": priority,
    }
    settings = get_settings()
    try:
        if spec_file is None:
            given = {k: v for k, v in overrides.items() if v is not None}
            spec = parse_spec(given, "command line")
        else:
            spec = load_spec(spec_file, overrides)
        with _job_store(settings.job_store_url) as store:
            job = store.submit(spec)
    except SpecError as exc:
        raise _fail(str(exc), 2) from None
    console.print(f"queued job [bold]{escape(job.name)}[/bold] (id {job.id})")


@jobs_app.command("list")
def list_jobs(
    state: str | None = typer.Option(None, help="Only jobs in this state."),
) -> None:
    """List jobs with their state, PUs and progress."""
    from rich.table import Table

    from tasks.training.store import STATES

    if state is not None and state not in STATES:
        raise _fail(f"--state: unknown state {state!r} ({', '.join(STATES)})", 2)
    with _job_store(get_settings().job_store_url) as store:
        jobs = store.jobs(None if state is None else (state,))
    table = Table(title="Training jobs")
    for col in ("id", "name", "model", "state", "pus", "epoch", "metric", "submitted"):
        table.add_column(col)
    for job in jobs:
        # Text cells: a stored name or model is data, never rich markup.
        table.add_row(
            str(job.id),
            Text(job.name),
            Text(job.spec.model),
            job.state,
            str(job.pus),
            f"{job.epoch}/{job.spec.epochs}",
            "" if job.metric is None else f"{job.metric:.4f}",
            _when(job.submitted_at),
        )
    console.print(table)


@jobs_app.command("show")
def show(job: str = typer.Argument(..., help="Job name or id.")) -> None:
    """Show one job: spec, state, progress, recent samples and checkpoints."""
    from rich.table import Table

    with _job_store(get_settings().job_store_url) as store:
        try:
            record = store.get(job)
        except KeyError:
            raise _fail(f"no job named {job!r}") from None
        samples = store.samples(record.id)[-10:]
        ckpts = store.checkpoints(record.id)
    # Everything read from the store is data: printed as text, never parsed as markup
    # (gloo errors hold "[/pytorch/...]", which rich would take for a closing tag).
    console.print(Text.assemble((record.name, "bold"), f" (id {record.id}): {record.state}"))
    console.print(Text(f"spec: {record.spec.model_dump_json()}"), soft_wrap=True)
    console.print(
        Text(
            f"pus: {record.pus} workers: {', '.join(record.workers) or '-'} "
            f"epoch {record.epoch} position {record.position} launches {record.generation} "
            f"PU-s {record.attained_pu_s:.1f}"
        )
    )
    if record.metric is not None:
        console.print(f"metric: {record.metric:.4f}")
    if record.error:
        console.print(Text.assemble(("error:", "red"), " ", record.error), soft_wrap=True)
    table = Table(title="last samples")
    for col in (
        "launch",
        "pus",
        "epoch",
        "step",
        "loss",
        "metric",
        "samples/s",
        "step s",
        "sync s",
    ):
        table.add_column(col)
    for s in samples:
        table.add_row(
            str(s.generation),
            str(s.pus),
            str(s.epoch),
            str(s.step),
            "" if s.loss is None else f"{s.loss:.4f}",
            "" if s.metric is None else f"{s.metric:.4f}",
            "" if s.samples_per_s is None else f"{s.samples_per_s:.0f}",
            "" if s.step_s is None else f"{s.step_s:.4f}",
            "" if s.sync_s is None else f"{s.sync_s:.4f}",
        )
    console.print(table)
    if ckpts:
        last = ckpts[-1]
        console.print(
            Text(
                f"checkpoints: {len(ckpts)}, last step {last['step']} epoch {last['epoch']} "
                f"world size {last['world_size']} ({last['path']})"
            )
        )


@jobs_app.command("cancel")
def cancel(job: str = typer.Argument(..., help="Job name or id.")) -> None:
    """Cancel a job; a running one is stopped at its next step boundary."""
    from tasks.training.cluster import ClusterError, connect
    from tasks.training.launcher import request_stop
    from tasks.training.store import ACTIVE

    settings = get_settings()
    with _job_store(settings.job_store_url) as store:
        try:
            record = store.get(job)
        except KeyError:
            raise _fail(f"no job named {job!r}") from None
        if not store.transition(record.id, "cancelled", expect=ACTIVE, pus=0, workers=[]):
            raise _fail(f"job {record.name!r} is already {record.state}")
        if record.state in ("running", "stopping"):
            try:
                client = connect(settings, timeout_s=10)
            except ClusterError as exc:
                err_console.print(
                    f"[yellow]warning:[/yellow] ranks not told to stop: {escape(str(exc))}"
                )
            else:
                with client:
                    request_stop(client, store, record)
    console.print(f"cancelled job [bold]{escape(record.name)}[/bold]")
