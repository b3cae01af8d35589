"""extract_keyframes: one pass, evenly spread frames, mid-scene text is caught."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.video.keyframes import extract_keyframes, keyframe_times
from tasks.video.ocr_tesseract import text_regions
from tasks.video.records import SceneSpan
from tests.video.conftest import SampleVideos


class TestKeyframeTimes:
    def test_evenly_spread_inside_scene(self) -> None:
        assert keyframe_times(SceneSpan(0, 10.0, 16.0), 3) == [11.0, 13.0, 15.0]

    def test_one_frame_is_the_middle(self) -> None:
        assert keyframe_times(SceneSpan(0, 0.0, 4.0), 1) == [2.0]

    def test_at_least_one(self) -> None:
        with pytest.raises(ValueError, match="per_scene"):
            keyframe_times(SceneSpan(0, 0.0, 4.0), 0)


class TestExtract:
    def test_shape_and_count(self, narrated_keyframes: list[list[np.ndarray]]) -> None:
        assert len(narrated_keyframes) == 6
        for frames in narrated_keyframes:
            assert len(frames) == 3
            assert all(f.shape == (360, 640, 3) and f.dtype == np.uint8 for f in frames)

    def test_frames_belong_to_their_scene(self, narrated_keyframes: list[list[np.ndarray]]) -> None:
        # Scene 0 is red (BGR), scene 1 blue: corner pixels tell them apart.
        assert tuple(narrated_keyframes[0][0][5, 5]) == pytest.approx((0, 0, 254), abs=6)
        assert tuple(narrated_keyframes[1][2][5, 5]) == pytest.approx((254, 0, 0), abs=6)

    def test_text_appearing_mid_scene_is_caught(
        self, narrated_keyframes: list[list[np.ndarray]], sample_videos: SampleVideos
    ) -> None:
        assert sample_videos.scenes[3].text_at_s > 0
        first, *later = narrated_keyframes[3]
        assert text_regions(first) == []
        assert all(text_regions(frame) for frame in later)

    def test_past_the_end_spans_reuse_the_last_frame(
        self, sample_videos: SampleVideos, narrated_info: object
    ) -> None:
        spans = [SceneSpan(0, 0.0, 28.0), SceneSpan(1, 28.0, 40.0)]
        frames = extract_keyframes(narrated_info, spans, 2)  # type: ignore[arg-type]
        assert len(frames[1]) == 2
        assert all(f is not None for f in frames[1])
