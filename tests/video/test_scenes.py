"""split_scenes: cuts found within 0.5 s, long shots windowed, no-cut videos still split."""

from __future__ import annotations

import itertools

import pytest

from tasks.video.probe import probe_video
from tasks.video.records import SceneSpan
from tasks.video.scenes import detect_cuts, split_scenes, window_spans
from tests.video.conftest import SampleVideos


class TestCutDetection:
    def test_every_cut_found_within_half_a_second(self, sample_videos: SampleVideos) -> None:
        found = detect_cuts(probe_video(sample_videos.narrated))
        assert len(found) == len(sample_videos.cuts), found
        for true, got in zip(sample_videos.cuts, found, strict=True):
            assert abs(true - got) <= 0.5, (true, got)

    def test_flat_similar_colours_are_cut(self, sample_videos: SampleVideos) -> None:
        # gray -> silver: no hue or saturation change; a plain ContentDetector misses it.
        from scenedetect import ContentDetector, detect

        gray_to_silver = sample_videos.cuts[-1]
        plain = [s[0].seconds for s in detect(str(sample_videos.narrated), ContentDetector())]
        assert all(abs(t - gray_to_silver) > 0.5 for t in plain)
        found = detect_cuts(probe_video(sample_videos.narrated))
        assert any(abs(t - gray_to_silver) <= 0.5 for t in found)

    def test_text_appearing_mid_scene_is_not_a_cut(self, sample_videos: SampleVideos) -> None:
        scene = sample_videos.scenes[3]
        appears = sample_videos.spans[3][0] + scene.text_at_s
        found = detect_cuts(probe_video(sample_videos.narrated))
        assert all(abs(t - appears) > 0.5 for t in found)

    def test_spans_cover_the_video(self, sample_videos: SampleVideos) -> None:
        info = probe_video(sample_videos.narrated)
        spans = split_scenes(info)
        assert spans[0].start_s == 0.0
        assert spans[-1].end_s == pytest.approx(info.duration_s)
        assert [s.index for s in spans] == list(range(len(spans)))
        for a, b in itertools.pairwise(spans):
            assert a.end_s == b.start_s


class TestLongShots:
    def test_one_shot_video_yields_windows(self, sample_videos: SampleVideos) -> None:
        info = probe_video(sample_videos.one_shot)
        spans = split_scenes(info, max_window_s=30.0)
        assert len(spans) == 3
        assert all(s.duration_s <= 30.0 + 1e-6 for s in spans)
        assert spans[-1].end_s == pytest.approx(sample_videos.one_shot_s, abs=0.1)

    def test_no_window_limit_hit_gives_one_scene(self, sample_videos: SampleVideos) -> None:
        info = probe_video(sample_videos.one_shot)
        assert len(split_scenes(info, max_window_s=1000.0)) == 1


class TestWindowSpans:
    def test_even_windows(self) -> None:
        spans = window_spans([], 90.0, max_window_s=30.0)
        assert [(s.start_s, s.end_s) for s in spans] == [(0, 30), (30, 60), (60, 90)]

    def test_short_shots_untouched(self) -> None:
        assert window_spans([2.0, 4.0], 6.0) == [
            SceneSpan(0, 0.0, 2.0),
            SceneSpan(1, 2.0, 4.0),
            SceneSpan(2, 4.0, 6.0),
        ]

    def test_cuts_outside_the_video_ignored(self) -> None:
        assert len(window_spans([0.0, 10.0, 12.0], 10.0)) == 1

    def test_bad_window(self) -> None:
        with pytest.raises(ValueError, match="max_window_s"):
            window_spans([], 10.0, max_window_s=0)
