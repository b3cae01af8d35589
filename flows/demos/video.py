"""``make demo`` part: render a narrated sample video, ingest it, run a few searches.

Example:
    $ uv run python -m flows.demo
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from flows.demos import console
from tasks.settings import Settings

ORDER = 10

QUERIES: tuple[str, ...] = (
    "someone says the rocket launch is tomorrow",
    "the word EXIT on screen",
    "a white screen with the word welcome",
    "pizza menu, then someone talks about cleaning the kitchen",
    "a red screen",
)


def run(settings: Settings) -> None:
    """Render ``data/samples/narrated.mp4`` (once), ingest it and print search results."""
    from flows.ingest import ingest
    from tasks.video.samples import make_sample_video, standard_scenes
    from tasks.video.search import SceneSearcher

    sample = Path(settings.data_dir) / "samples" / "narrated.mp4"
    if not sample.exists():
        console.print(f"rendering {sample} (espeak-ng narration, drawn text, colour shots)")
        make_sample_video(sample, standard_scenes())
    reports = ingest([str(sample)], settings=settings)
    for report in reports:
        console.print(f"{report.file}: {report.status}, {report.scenes} scenes {report.error}")
    if not any(r.status in ("written", "unchanged") for r in reports):
        raise RuntimeError(f"{sample} could not be ingested")
    searcher = SceneSearcher.open(settings)
    table = Table(title="video scene search")
    for col in ("query", "scene", "time", "matched", "descriptors"):
        table.add_column(col, overflow="fold")
    for query in QUERIES:
        best = searcher.search(query, limit=1)[0]
        matched = "; ".join(
            f"{m['part']} ({','.join(m['modalities']) or '-'})" for m in best["matched"]
        )
        desc = " | ".join(
            x for x in (best["transcript"], best["ocr"], ", ".join(best["tags"])) if x
        )
        table.add_row(
            query, str(best["scene"]), f"{best['start']:.0f}-{best['end']:.0f} s", matched, desc
        )
    console.print(table)
