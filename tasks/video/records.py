"""Records passed between the video stages.

The ingest flow runs the stages in order: ``probe`` -> ``split_scenes`` -> descriptor stages
(speech, ocr, visual, captions, each producing one value per scene) -> ``encode`` ->
``store``. Every stage takes and returns these plain records, so each is testable alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class BadVideoError(ValueError):
    """A video that cannot be ingested; the message is one line naming the file and cause."""


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe`` learns about a file."""

    path: Path
    content_hash: str
    duration_s: float
    fps: float
    width: int
    height: int
    has_audio: bool


@dataclass(frozen=True)
class SceneSpan:
    """One scene's place in its video."""

    index: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class Scene:
    """A scene with its textual descriptors (the patent's scene descriptors)."""

    video: str
    video_hash: str
    index: int
    start_s: float
    end_s: float
    transcript: str = ""
    ocr: str = ""
    tags: list[str] = field(default_factory=list)
    caption: str = ""
    thumbnail: str | None = None
    # Mean confidence (0-1) of the on-screen words kept in ``ocr``; search weights OCR by it.
    ocr_confidence: float = 0.0
    # Spoken language detected for the whole video ("" when silent or not detected).
    language: str = ""

    @property
    def key(self) -> str:
        """Row key in the scene store: content hash and scene index."""
        return f"{self.video_hash}:{self.index}"
