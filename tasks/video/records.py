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


@dataclass(frozen=True)
class Passage:
    """A sentence group of one long scene's speech, with its own time range.

    Search indexes passages beside their scene, so a query about one exchange of a long
    dialogue lands on that moment and returns its time range, not the whole window.

    Example:
        >>> Passage(12.4, 17.9, "Where is the key? Under the mat.").duration_s
        5.5
    """

    start_s: float
    end_s: float
    text: str

    @property
    def duration_s(self) -> float:
        return round(self.end_s - self.start_s, 6)


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
    # Sentence groups of a long scene's speech (empty for short or silent scenes).
    passages: list[Passage] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Row key in the scene store: content hash and scene index."""
        return f"{self.video_hash}:{self.index}"
