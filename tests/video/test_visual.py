"""Visual tags (colour names, brightness, faces) and atomic thumbnails."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.video.visual import (
    brightness,
    count_faces,
    dominant_colors,
    visual_tags,
    visual_tags_for_scenes,
    write_thumbnails,
)

EXPECTED = ["red", "blue", "white", "olive", "gray", "light gray"]


class TestColourTags:
    def test_sample_video_scene_colours(self, narrated_keyframes: list[list[np.ndarray]]) -> None:
        tags = visual_tags_for_scenes(narrated_keyframes)
        for scene_tags, colour in zip(tags, EXPECTED, strict=True):
            assert scene_tags[0] == colour, scene_tags
            assert f"{colour} screen" in scene_tags

    @pytest.mark.parametrize(
        ("bgr", "name"),
        [
            ((0, 0, 0), "black"),
            ((0, 165, 255), "orange"),
            ((0, 255, 255), "yellow"),
            ((128, 0, 0), "dark blue"),
            ((128, 0, 128), "purple"),
            ((0, 128, 0), "green"),
        ],
    )
    def test_named_colours(self, bgr: tuple[int, int, int], name: str) -> None:
        assert dominant_colors(np.full((36, 64, 3), bgr, np.uint8)) == [name]

    def test_two_colour_frame_names_both(self) -> None:
        frame = np.zeros((36, 64, 3), np.uint8)
        frame[:, :32] = (0, 0, 255)
        frame[:, 32:] = (255, 0, 0)
        assert sorted(dominant_colors(frame)) == ["blue", "red"]
        assert not any(t.endswith("screen") for t in visual_tags([frame]))


class TestBrightness:
    def test_levels(self) -> None:
        assert brightness(np.full((4, 4, 3), 10, np.uint8)) == "dark"
        assert brightness(np.full((4, 4, 3), 240, np.uint8)) == "bright"
        assert brightness(np.full((4, 4, 3), 110, np.uint8)) is None


class TestFaces:
    def test_no_faces_on_flat_or_text_frames(
        self, narrated_keyframes: list[list[np.ndarray]]
    ) -> None:
        for frames in narrated_keyframes:
            assert count_faces(frames[1]) == (0, 0)

    def test_no_faces_in_noise(self) -> None:
        rng = np.random.default_rng(1)
        noise = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
        assert count_faces(noise)[0] == 0


class TestThumbnails:
    def test_written_decodable_and_no_temp_left(
        self, narrated_keyframes: list[list[np.ndarray]], tmp_path: Path
    ) -> None:
        paths = write_thumbnails(narrated_keyframes, tmp_path / "thumbs", stem="abc")
        assert [Path(p).name for p in paths] == [f"abc-{i}.jpg" for i in range(6)]
        image = cv2.imread(paths[0])
        assert image.shape == (180, 320, 3)
        assert sorted(p.name for p in (tmp_path / "thumbs").iterdir()) == sorted(
            Path(p).name for p in paths
        )

    def test_rewrite_replaces_in_place(
        self, narrated_keyframes: list[list[np.ndarray]], tmp_path: Path
    ) -> None:
        first = write_thumbnails(narrated_keyframes[:1], tmp_path, stem="x")
        again = write_thumbnails(narrated_keyframes[1:2], tmp_path, stem="x")
        assert first == again
        assert tuple(cv2.imread(again[0])[5, 5]) == pytest.approx((254, 0, 0), abs=8)
