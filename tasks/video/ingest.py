"""The per-file units of ingest, as plain functions with thin Prefect task wrappers.

A file goes ``probe -> describe -> encode`` on the Dask workers, then the flow's single
store writer upserts it. Each unit takes the previous unit's :class:`FileWork` and passes a
failed or skipped file straight through, so the flow can submit every file's whole chain at
once and one bad file never stops the others. Errors become one line naming the file and
the cause; no exception crosses a task boundary, so no traceback buries that line.

Example:
    >>> work = probe_file("/no/such.mp4")
    >>> work.status, work.error
    ('failed', '/no/such.mp4: no such file')
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from prefect import task

from tasks.video.records import BadVideoError, Scene, VideoInfo

if TYPE_CHECKING:
    from tasks.settings import Settings
    from tasks.video.encode import SceneVectors

Status = Literal["pending", "failed", "unchanged", "written"]


@dataclass
class FileWork:
    """One file on its way through the ingest stages.

    Attributes:
        path: the file as given.
        status: ``pending`` while stages remain; ``failed``/``unchanged`` stop the chain;
            the writer sets ``written``.
        error: the one-line reason when ``failed``.
        info: the probe result.
        scenes: the described scenes.
        vectors: one :class:`~tasks.video.encode.SceneVectors` per scene.
        stage_seconds: wall seconds per stage (descriptor stages included).
    """

    path: str
    status: Status = "pending"
    error: str = ""
    info: VideoInfo | None = None
    scenes: list[Scene] = field(default_factory=list)
    vectors: list[SceneVectors] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def failed(self, stage: str, exc: BaseException) -> FileWork:
        """This work marked failed at ``stage`` with a one-line message."""
        if isinstance(exc, BadVideoError):
            message = str(exc)
        else:
            message = f"{self.path}: {stage} failed: {type(exc).__name__}: {exc}"
        return replace(self, status="failed", error=message.splitlines()[0] if message else stage)


def probe_file(path: str) -> FileWork:
    """Probe one file (content hash, duration, streams).

    Example:
        >>> probe_file("/no/such.mp4").status
        'failed'
    """
    work = FileWork(path=str(path))
    p = Path(path)
    if not p.exists():
        return replace(work, status="failed", error=f"{path}: no such file")
    if p.is_file() and not os.access(p, os.R_OK):
        return replace(work, status="failed", error=f"{path}: not readable (permission denied)")
    t0 = time.perf_counter()
    try:
        from tasks.video.probe import probe_video

        info = probe_video(p)
    except Exception as exc:
        return work.failed("probe", exc)
    work.stage_seconds["probe"] = time.perf_counter() - t0
    return replace(work, info=info)


def describe_file(work: FileWork, settings: Settings, stored: frozenset[str]) -> FileWork:
    """Split ``work``'s video into scenes and describe them (speech, OCR, tags, captions).

    Args:
        work: a probed file.
        settings: model paths, window length, thumbnail folder.
        stored: content hashes already in the store; such a file is ``unchanged``.
    """
    if work.status != "pending" or work.info is None:
        return work
    if work.info.content_hash in stored:
        return replace(work, status="unchanged")
    try:
        from tasks.video.pipeline import describe_video

        scenes, seconds = describe_video(work.info, settings)
    except Exception as exc:
        return work.failed("describe", exc)
    if not scenes:
        return replace(work, status="failed", error=f"{work.path}: no scenes found")
    return replace(work, scenes=scenes, stage_seconds={**work.stage_seconds, **seconds})


def encode_file(work: FileWork, settings: Settings) -> FileWork:
    """Encode ``work``'s scenes into fused and per-modality vectors."""
    if work.status != "pending":
        return work
    t0 = time.perf_counter()
    try:
        from tasks.video.encode import encode_scenes

        vectors = encode_scenes(work.scenes, settings)
    except Exception as exc:
        return work.failed("encode", exc)
    seconds = {**work.stage_seconds, "encode": time.perf_counter() - t0}
    return replace(work, vectors=vectors, stage_seconds=seconds)


@task(name="probe")
def probe_task(path: str) -> FileWork:
    """Prefect task: :func:`probe_file`."""
    return probe_file(path)


@task(name="describe")
def describe_task(work: FileWork, settings: Settings, stored: frozenset[str]) -> FileWork:
    """Prefect task: :func:`describe_file` (carries ``GPU=1`` on GPU clusters)."""
    return describe_file(work, settings, stored)


@task(name="encode")
def encode_task(work: FileWork, settings: Settings) -> FileWork:
    """Prefect task: :func:`encode_file`."""
    return encode_file(work, settings)
