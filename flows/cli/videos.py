"""``tessera videos``: list, remove and export the ingested videos.

A video is named by its path, its file name, or its content hash (a prefix of at least six
characters will do), as ``tessera videos list`` prints them.

Example:
    $ tessera videos list
    $ tessera videos export narrated.mp4 --format vtt > narrated.vtt
    $ tessera videos remove narrated.mp4
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from flows.cli import app, console, err_console
from tasks.settings import Settings, get_settings

if TYPE_CHECKING:
    from tasks.video.store import SceneStore, StoredVideo

videos_app = typer.Typer(help="List, remove and export ingested videos.", no_args_is_help=True)
app.add_typer(videos_app, name="videos")

_DB_HELP = "LanceDB URI (default: the setting)."


def _settings(db: str | None) -> Settings:
    return get_settings().with_overrides(db)


def _open(db: str | None, command: str) -> SceneStore:
    from tasks.video.store import SceneStore, StoreError

    try:
        settings = _settings(db)
        store = SceneStore.open(
            settings.lancedb_uri, storage_options=settings.lancedb_storage_options
        )
        store.count()
    except StoreError as exc:
        err_console.print(f"videos {command}: {exc}", markup=False)
        raise typer.Exit(1) from exc
    return store


def _find(store: SceneStore, ref: str, command: str) -> StoredVideo:
    from tasks.video.store import StoreError

    try:
        video = store.find_video(ref)
    except StoreError as exc:
        err_console.print(f"videos {command}: {exc}", markup=False)
        raise typer.Exit(2) from exc
    if video is None:
        err_console.print(
            f"videos {command}: no stored video {ref!r} (see `tessera videos list`)", markup=False
        )
        raise typer.Exit(1)
    return video


@videos_app.command("list")
def list_videos(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """List the ingested videos: path, content hash, scenes, duration, when ingested.

    Example: tessera videos list --json
    """
    from rich.table import Table

    from tasks.video.export import clock

    videos = _open(db, "list").videos()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "video": v.video,
                        "video_hash": v.video_hash,
                        "scenes": v.scenes,
                        "duration_s": round(v.duration_s, 3),
                        "ingested_at": v.ingested_at.isoformat(),
                        "exists": Path(v.video).is_file(),
                    }
                    for v in videos
                ]
            )
        )
        return
    if not videos:
        console.print("no videos ingested yet: `tessera ingest PATH` adds some")
        return
    table = Table(title=f"{len(videos)} ingested videos")
    for col in ("video", "hash", "scenes", "duration", "ingested"):
        table.add_column(col, overflow="fold")
    for v in videos:
        missing = "" if Path(v.video).is_file() else " (file missing)"
        table.add_row(
            v.video + missing,
            v.video_hash[:12],
            str(v.scenes),
            clock(v.duration_s),
            v.ingested_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@videos_app.command("remove")
def remove_video(
    video: str = typer.Argument(..., help="Path, file name or content hash of a stored video."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Remove a video's scenes from the index (one store write) and delete its thumbnails.

    The video file itself is never touched.

    Example: tessera videos remove narrated.mp4
    """
    from tasks.video.store import delete_file

    store = _open(db, "remove")
    found = _find(store, video, "remove")
    rows = store.remove_video(found)
    deleted = 0
    # Rows first, files second: a search can never return a scene whose thumbnail is gone.
    for thumb in {t for t in found.thumbnails if t}:
        # A local file, or an object beside an object-store table (same credentials).
        deleted += delete_file(thumb, store.storage_options)
    console.print(
        f"removed {found.video} ({found.video_hash[:12]}): {rows} scenes, {deleted} thumbnails",
        markup=False,
        highlight=False,
    )


@videos_app.command("export")
def export_video(
    video: str = typer.Argument(..., help="Path, file name or content hash of a stored video."),
    fmt: str = typer.Option("vtt", "--format", "-f", help="Subtitle format: srt or vtt."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout."
    ),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Export a video's transcript as subtitles, one cue per scene with speech.

    Example: tessera videos export narrated.mp4 --format srt -o narrated.srt
    """
    from tasks.video.export import FORMATS, subtitles

    if fmt not in FORMATS:
        err_console.print(
            f"videos export: --format must be {' or '.join(FORMATS)}, not {fmt!r}", markup=False
        )
        raise typer.Exit(2)
    store = _open(db, "export")
    found = _find(store, video, "export")
    text = subtitles(store.scenes_of(found.video), fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}", markup=False, highlight=False)
