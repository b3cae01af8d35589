"""Sample video helpers: known spans, broken copies, bad arguments."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tasks.video.samples import (
    SampleScene,
    long_scenes,
    make_sample_video,
    make_truncated_copy,
    make_zero_length,
)
from tests.video.conftest import SampleVideos


class TestSampleVideos:
    def test_spans_are_back_to_back(self, sample_videos: SampleVideos) -> None:
        starts = [0.0]
        for scene in sample_videos.scenes:
            starts.append(starts[-1] + scene.duration_s)
        assert sample_videos.spans == list(itertools.pairwise(starts))

    def test_broken_copies(self, sample_videos: SampleVideos, tmp_path: Path) -> None:
        cut = make_truncated_copy(sample_videos.narrated, tmp_path / "cut.mp4", keep=0.5)
        assert 0 < cut.stat().st_size < sample_videos.narrated.stat().st_size
        assert make_zero_length(tmp_path / "z.mp4").stat().st_size == 0

    def test_no_scenes_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="scenes must not be empty"):
            make_sample_video(tmp_path / "x.mp4", [])

    def test_bad_colour_leaves_no_file(self, tmp_path: Path) -> None:
        with pytest.raises(RuntimeError, match="ffmpeg failed"):
            make_sample_video(tmp_path / "x.mp4", [SampleScene(1.0, "notacolour")], audio=False)
        assert list(tmp_path.iterdir()) == []

    def test_long_scenes_reach_the_length(self) -> None:
        scenes = long_scenes(125.0, shot_s=6.0)
        assert sum(s.duration_s for s in scenes) >= 125.0
        assert all(s.spoken and s.on_screen for s in scenes)
