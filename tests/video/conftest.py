"""Sample videos for the video tests, rendered once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.video.samples import (
    SampleScene,
    make_sample_video,
    make_truncated_copy,
    make_zero_length,
    standard_scenes,
)


@dataclass(frozen=True)
class SampleVideos:
    """Paths to the session's sample files and what is known to be in them."""

    narrated: Path
    no_audio: Path
    one_shot: Path
    truncated: Path
    zero_length: Path
    not_video: Path
    scenes: list[SampleScene]
    spans: list[tuple[float, float]]
    one_shot_s: float

    @property
    def cuts(self) -> list[float]:
        return [start for start, _ in self.spans[1:]]


@pytest.fixture(scope="session")
def sample_videos(tmp_path_factory: pytest.TempPathFactory) -> SampleVideos:
    """The narrated reference video, a silent copy, one long shot and broken files."""
    root = tmp_path_factory.mktemp("videos")
    scenes = standard_scenes()
    spans = make_sample_video(root / "narrated.mp4", scenes)
    make_sample_video(root / "no_audio.mp4", scenes, audio=False)
    one_shot_s = 70.0
    make_sample_video(
        root / "one_shot.mp4",
        [SampleScene(one_shot_s, "navy")],
        size=(320, 180),
        fps=10,
        audio=False,
    )
    make_truncated_copy(root / "narrated.mp4", root / "truncated.mp4")
    make_zero_length(root / "empty.mp4")
    (root / "notes.mp4").write_text("this is a text file, not a video\n")
    return SampleVideos(
        narrated=root / "narrated.mp4",
        no_audio=root / "no_audio.mp4",
        one_shot=root / "one_shot.mp4",
        truncated=root / "truncated.mp4",
        zero_length=root / "empty.mp4",
        not_video=root / "notes.mp4",
        scenes=scenes,
        spans=spans,
        one_shot_s=one_shot_s,
    )


@pytest.fixture(scope="session")
def asr() -> object:
    """The configured whisper model (base unless set), loaded once per session (seconds)."""
    from tasks.settings import Settings
    from tasks.video.speech import load_asr

    settings = Settings()
    return load_asr(settings.whisper_model, language=settings.asr_language)


@pytest.fixture(scope="session")
def narrated_info(sample_videos: SampleVideos) -> object:
    from tasks.video.probe import probe_video

    return probe_video(sample_videos.narrated)


@pytest.fixture(scope="session")
def narrated_keyframes(sample_videos: SampleVideos, narrated_info: object) -> object:
    """Keyframes of the narrated video, read at its true scene spans."""
    from tasks.video.keyframes import extract_keyframes
    from tasks.video.records import SceneSpan

    spans = [SceneSpan(i, a, b) for i, (a, b) in enumerate(sample_videos.spans)]
    return extract_keyframes(narrated_info, spans, 3)  # type: ignore[arg-type]
