"""``tessera ingest`` and ``tessera search``: video scene search from the command line.

Example:
    $ tessera ingest talks/ keynote.mp4 --db data/lancedb
    $ tessera search "someone says rocket launch" --limit 3
    $ printf 'a red screen\\nthe word EXIT\\n' | tessera search - --json
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import typer

from flows.cli import app, console, err_console
from tasks.settings import Settings


def _settings(db: str | None, dask_address: str | None = None) -> Settings:
    # Imported here: flows.ingest pulls in Prefect and Dask, which --help must not pay for.
    from flows.ingest import resolve_settings

    return resolve_settings(None, db, dask_address)


@app.command("ingest")
def ingest_command(
    paths: list[str] = typer.Argument(..., help="Video files, folders (recursive) or globs."),
    db: str | None = typer.Option(None, "--db", help="LanceDB URI (default: the setting)."),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="Existing Dask scheduler (default: a local cluster)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect and Dask logs."),
) -> None:
    """Describe, encode and store the scenes of video files.

    Exits non-zero only when no file could be ingested.

    Example: ``tessera ingest clips/ talk.mp4 --db /tmp/scenes``
    """
    if not verbose:
        # Entry point choice: the progress bars replace Prefect's per-task log lines.
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.ingest import STAGES, ingest, progress_to
    from flows.runtime import prefect_api
    from tasks.video.discover import discover_videos
    from tasks.video.ingest import FileWork

    settings = _settings(db, dask_address)
    settings.ensure_dirs()
    found = discover_videos(paths)
    if not found.videos and not found.problems:
        err_console.print("ingest: no video files found under the given paths")
        raise typer.Exit(1)
    with Progress(
        TextColumn("{task.description}", justify="left"),
        BarColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        bars = {
            str(v): progress.add_task(v.name, total=len(STAGES), stage="waiting")
            for v in found.videos
        }

        def hook(path: str, stage: str, work: FileWork | None) -> None:
            bar = bars.get(path)
            if bar is None:
                return
            done = STAGES.index(stage) + 1 if stage in STAGES else 0
            state = work.status if work is not None and work.status != "pending" else stage
            if work is not None and work.status in ("failed", "unchanged"):
                done = len(STAGES)
            progress.update(bar, completed=done, stage=state)

        with prefect_api(), progress_to(hook):
            reports = ingest(paths, settings=settings)
    ok = 0
    for report in reports:
        if report.error:
            err_console.print(report.error, markup=False, highlight=False)
        else:
            ok += 1
            console.print(
                f"{report.file}: {report.status}, {report.scenes} scenes, {report.seconds:.1f} s",
                markup=False,
                highlight=False,
            )
    console.print(f"ingested {ok} of {len(reports)} inputs into {settings.lancedb_uri}")
    if ok == 0:
        raise typer.Exit(1)


def _print_table(query: str, results: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"scenes for {query!r}", show_lines=False)
    for col in ("#", "video", "scene", "time", "score", "matched", "descriptors"):
        table.add_column(col, overflow="fold")
    for i, r in enumerate(results, start=1):
        matched = "; ".join(
            f"{m['part']}: {','.join(m['modalities']) or '-'}" for m in r["matched"]
        )
        desc = " | ".join(
            x for x in (r["transcript"], r["ocr"] and f"[{r['ocr']}]", ", ".join(r["tags"])) if x
        )
        table.add_row(
            str(i),
            os.path.basename(r["video"]),
            str(r["scene"]),
            f"{r['start']:.1f}-{r['end']:.1f} s",
            f"{r['score']:.4f}",
            Text(matched),  # descriptors are data, never rich markup
            Text(desc),
        )
    console.print(table)


@app.command("search")
def search_command(
    query: str = typer.Argument(..., help="What to find; '-' reads one query per stdin line."),
    limit: int = typer.Option(10, "--limit", "-k", min=1, help="Results per query."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    db: str | None = typer.Option(None, "--db", help="LanceDB URI (default: the setting)."),
) -> None:
    """Find the scenes that match a query (hybrid vector + full-text, query splitting).

    With QUERY '-', every stdin line is one query and each answer is one JSON array on
    one line (models are loaded once).

    Example: ``tessera search "the word EXIT on screen" --limit 3 --json``
    """
    from tasks.video.query import EmptyQueryError, check_query
    from tasks.video.search import SceneSearcher
    from tasks.video.store import StoreError

    if query != "-":
        try:
            check_query(query)
        except EmptyQueryError as exc:
            err_console.print(f"search: {exc}", markup=False)
            raise typer.Exit(2) from exc
    try:
        searcher = SceneSearcher.open(_settings(db))
        searcher.store.count()
    except StoreError as exc:
        err_console.print(f"search: {exc}", markup=False)
        raise typer.Exit(1) from exc
    if query != "-":
        results = searcher.search(query, limit)
        if as_json:
            typer.echo(json.dumps(results))
        else:
            _print_table(query, results)
        return
    for line in sys.stdin:
        text = line.strip()
        try:
            results = searcher.search(text, limit)
        except EmptyQueryError:
            err_console.print("search: empty query line: printed []", markup=False)
            results = []
        typer.echo(json.dumps(results))
        sys.stdout.flush()
