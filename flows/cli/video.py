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
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from flows.cli import app, console, echo, err_console
from tasks.settings import Settings, get_settings


def _settings(db: str | None, dask_address: str | None = None) -> Settings:
    return get_settings().with_overrides(db, dask_address)


def _check_inputs(paths: list[str]) -> tuple[list[str], list[str]]:
    """Inputs that can be ingested, and one-line problems for the rest, found before
    anything heavy starts: missing paths, globs that match nothing and, for files named
    explicitly, files that are not decodable videos (ffprobe, well under a second each).
    Files inside folders are checked by the flow, which reports each."""
    from tasks.video.discover import discover_videos
    from tasks.video.probe import BadVideoError, probe_video

    good: list[str] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            good.append(raw)
        elif path.exists():
            try:
                probe_video(path)
            except BadVideoError as exc:
                problems.append(str(exc))
            else:
                good.append(raw)
        else:
            found = discover_videos([raw])
            problems.extend(found.problems)
            if found.videos:
                good.append(raw)
    return good, problems


@app.command("ingest")
def ingest_command(
    paths: list[str] = typer.Argument(..., help="Video files, folders (recursive) or globs."),
    db: str | None = typer.Option(None, "--db", help="LanceDB URI (default: the setting)."),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="Existing Dask scheduler (default: a local cluster)."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show the Prefect and Dask logs on the terminal too."
    ),
) -> None:
    """Describe, encode and store the scenes of video files.

    Inputs are checked first (missing files and files that are not videos are reported
    within a second), then each file runs on Dask: probe, describe (speech, on-screen
    text, visual tags), encode, store. A file that fails does not stop the others; the
    command exits non-zero only when no input could be ingested.

    Example: tessera ingest clips/ talk.mp4 --db /tmp/scenes
    """
    settings = _settings(db, dask_address)
    good, problems = _check_inputs(paths)
    for problem in problems:
        err_console.print(f"ingest: {problem}", markup=False, highlight=False)
    if not good:
        err_console.print("ingest: nothing to ingest", markup=False)
        raise typer.Exit(1)
    from tasks.video.discover import discover_videos

    found = discover_videos(good)
    if not found.videos:
        err_console.print("ingest: no video files found under the given paths", markup=False)
        raise typer.Exit(1)

    def run() -> list[Any]:
        from flows.ingest import ingest

        return ingest(good, settings=settings)

    ok = _run_with_progress(settings, [str(v) for v in found.videos], run, len(problems))
    if ok == 0:
        raise typer.Exit(1)


@app.command("backfill")
def backfill_command(
    source: str = typer.Argument(..., help="A folder (searched recursively) or a glob."),
    since: datetime | None = typer.Option(
        None,
        "--since",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        help="Only files modified at or after this time.",
    ),
    db: str | None = typer.Option(None, "--db", help="LanceDB URI (default: the setting)."),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="Existing Dask scheduler (default: a local cluster)."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show the Prefect and Dask logs on the terminal too."
    ),
) -> None:
    """Ingest every video under a folder or glob that is not stored yet (the backfill flow).

    Files already stored are skipped without decoding; files that fail are reported and
    passed over. The run ends Failed in Prefect when any file failed.

    Example: tessera backfill /media/archive --since 2026-01-01
    """
    from tasks.video.discover import discover_videos

    settings = _settings(db, dask_address)
    found = discover_videos([source], modified_since=since)
    if not found.videos:
        for problem in found.problems or [f"{source}: no video files to backfill"]:
            err_console.print(f"backfill: {problem}", markup=False, highlight=False)
        raise typer.Exit(1)

    def run() -> list[Any]:
        from flows.ingest import backfill

        return backfill(source, modified_since=since, settings=settings)

    if _run_with_progress(settings, [str(v) for v in found.videos], run, 0) == 0:
        raise typer.Exit(1)


def _run_with_progress(
    settings: Settings, videos: list[str], run: Callable[[], list[Any]], not_started: int
) -> int:
    """Run an ingest or backfill under one Prefect API with a progress bar per file, print
    each file's outcome and the total; return how many inputs were stored."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    with ExitStack() as stack:
        with err_console.status("starting Prefect and Dask"):
            # Imported here: Prefect and Dask cost seconds that --help and bad input skip.
            from flows.ingest import STAGES, progress_to
            from flows.ingest_cluster import warm_cluster
            from flows.runtime import prefect_api
            from tasks.video.ingest import FileWork

            settings.ensure_dirs()
            # The cluster first: its workers load the models while the server starts.
            stack.enter_context(warm_cluster(settings))
            stack.enter_context(prefect_api(settings))
        progress = stack.enter_context(
            Progress(
                TextColumn("{task.description}", justify="left"),
                BarColumn(),
                TextColumn("{task.fields[stage]}"),
                TimeElapsedColumn(),
                console=err_console,
                transient=False,
            )
        )
        bars = {
            v: progress.add_task(Path(v).name, total=len(STAGES), stage="waiting") for v in videos
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

        with progress_to(hook):
            reports = run()
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
    total = len(reports) + not_started
    console.print(f"ingested {ok} of {total} inputs into {settings.lancedb_uri}", markup=False)
    described = sum(r.video_s for r in reports if r.status == "written")
    if described > 0:
        wall = time.perf_counter() - started
        console.print(
            f"{described:.0f} s of video in {wall:.1f} s ({described / wall:.1f}x real time, "
            "start-up included)",
            markup=False,
        )
    return ok


def _print_table(query: str, results: list[dict[str, Any]]) -> None:
    from pathlib import Path

    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    from tasks.video.export import clock_range

    table = Table(title=f"scenes for {query!r}", show_lines=False)
    for col in ("#", "video", "scene", "time", "score", "matched", "descriptors", "thumbnail"):
        table.add_column(col, overflow="fold")
    for i, r in enumerate(results, start=1):
        matched = "; ".join(
            f"{m['part']}: {','.join(m['modalities']) or '-'}" for m in r["matched"]
        )
        desc = " | ".join(
            x for x in (r["transcript"], r["ocr"] and f"[{r['ocr']}]", ", ".join(r["tags"])) if x
        )
        # The URI is printed, not hidden behind a word: terminals without OSC 8 links still
        # show something to copy, and those with them open it on click.
        thumb = Path(r["thumbnail"]).resolve().as_uri() if r.get("thumbnail") else ""
        table.add_row(
            str(i),
            os.path.basename(r["video"]),
            str(r["scene"]),
            clock_range(r["start"], r["end"]),
            f"{r['score']:.4f}",
            Text(matched),  # descriptors are data, never rich markup
            Text(desc),
            Text(thumb, style=Style(link=thumb) if thumb else ""),
        )
    console.print(table)


@app.command("search")
def search_command(
    query: str = typer.Argument(..., help="What to find; '-' reads one query per stdin line."),
    limit: int = typer.Option(10, "--limit", "-k", min=1, help="Results per query."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    db: str | None = typer.Option(None, "--db", help="LanceDB URI (default: the setting)."),
) -> None:
    """Find the scenes that match a query (hybrid vector and full-text search; a query
    that no scene matches whole is split into parts).

    With QUERY '-', every stdin line is one query and each answer is one JSON line: the
    results, or an object with an "error" key when that query failed; the batch goes on,
    and the exit code is 1 when any query failed. The model is loaded once.

    Example: tessera search "the word EXIT on screen" --limit 3 --json
    """
    from tasks.video.query import EmptyQueryError, check_query

    if query != "-":
        try:
            check_query(query)
        except EmptyQueryError as exc:
            err_console.print(f"search: {exc}", markup=False)
            raise typer.Exit(2) from exc
    settings = _settings(db)
    searcher = _open_searcher(settings.lancedb_uri, settings)
    if query != "-":
        results = searcher.search(query, limit)
        if as_json:
            echo(json.dumps(results))
        else:
            _print_table(query, results)
        return
    failed = 0
    for line in sys.stdin:
        text = line.strip()
        answer: Any
        try:
            answer = searcher.search(text, limit)
        except EmptyQueryError as exc:
            answer = {"query": text, "error": str(exc)}
            failed += 1
        except Exception as exc:  # one bad query must not lose the rest of the batch
            answer = {"query": text, "error": f"{type(exc).__name__}: {exc}"}
            failed += 1
        echo(json.dumps(answer))
    if failed:
        err_console.print(f"search: {failed} queries failed", markup=False)
        raise typer.Exit(1)


def _open_searcher(uri: str, settings: Settings) -> Any:
    """The searcher over ``uri``, or a one-line error and exit 1 when there is no store
    there (searching never creates one)."""
    from tasks.video.search import SceneSearcher
    from tasks.video.store import SceneStore, StoreError

    if "://" not in uri and not Path(uri).is_dir():
        err_console.print(
            f"search: no scene store at {uri} (run `tessera ingest` first, or pass --db)",
            markup=False,
        )
        raise typer.Exit(1)
    try:
        store = SceneStore.open(uri, storage_options=settings.lancedb_storage_options)
        if store.table is None:
            err_console.print(
                f"search: the store at {uri} holds no scenes yet (run `tessera ingest`)",
                markup=False,
            )
            raise typer.Exit(1)
    except StoreError as exc:
        err_console.print(f"search: {exc}", markup=False)
        raise typer.Exit(1) from exc
    from tasks.video.encode import Encoder

    return SceneSearcher(store, Encoder.load(settings.embedding_model))
