"""Visual tags (colours, brightness, picture kind, faces) and atomic thumbnails.

Frames come from what ships here: ffmpeg ``lavfi`` sources, the photographs bundled with
scikit-learn and matplotlib, and slides drawn with ``cv2.putText``
(``tests/video/visual_frames.py``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.video.scene_kind import frame_kind_tags, frame_stats, text_lines
from tasks.video.visual import (
    brightness,
    count_faces,
    dominant_colors,
    face_tags,
    find_faces,
    visual_tags,
    visual_tags_for_scenes,
    write_thumbnails,
)
from tests.video.visual_frames import (
    SCORED,
    _fit,
    _pillarbox,
    check_frames,
    labelled_frames,
    lavfi_frame,
    line_drawing,
    lower_third,
    shipped_photo,
    text_slide,
    title_card,
)

EXPECTED = ["red", "blue", "white", "olive", "gray", "light gray"]

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def _photo(name: str) -> np.ndarray:
    image = shipped_photo(name)
    if image is None:
        pytest.skip(f"{name} photograph not installed")
    return image


KIND_WORDS = {
    "test pattern",
    "colour bars",
    "color bars",
    "photo",
    "photograph",
    "slide",
    "drawing",
    "pattern",
    "fractal",
    "sky",
    "trees",
    "landscape",
}


class TestColourTags:
    def test_sample_video_scene_colours(self, narrated_keyframes: list[list[np.ndarray]]) -> None:
        tags = visual_tags_for_scenes(narrated_keyframes)
        for scene_tags, colour in zip(tags, EXPECTED, strict=True):
            assert scene_tags[0] == colour, scene_tags
            assert f"plain {colour}" in scene_tags

    def test_sample_title_cards_get_no_kind_or_face_tags(
        self, narrated_keyframes: list[list[np.ndarray]]
    ) -> None:
        for scene_tags in visual_tags_for_scenes(narrated_keyframes):
            assert not KIND_WORDS.intersection(scene_tags), scene_tags
            assert not any("face" in t or "person" in t for t in scene_tags), scene_tags

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
        assert not any(t.startswith("plain") for t in visual_tags([frame]))


class TestTagWording:
    """Tags must not hold the cue words of queries ("the word EXIT on screen")."""

    def test_no_tag_says_screen_text_or_one(self) -> None:
        frames = [
            np.full((360, 640, 3), (255, 0, 0), np.uint8),
            title_card("EXIT", (255, 0, 0)),
            text_slide(1),
            _pillarbox(_photo("grace_hopper")),
        ]
        for frame in frames:
            words = {w for t in visual_tags([frame]) for w in t.split()}
            assert not words & {"screen", "text", "word", "words", "one", "on"}, words

    def test_one_face_is_unnumbered_and_two_are_counted(self) -> None:
        assert face_tags([(0.4, 0.1, 0.1, 0.15)]) == ["face", "person"]
        assert face_tags([(0.1, 0.1, 0.1, 0.2), (0.6, 0.1, 0.1, 0.2)]) == [
            "two faces",
            "two people",
        ]
        assert face_tags([]) == []


class TestBrightness:
    def test_levels(self) -> None:
        assert brightness(np.full((4, 4, 3), 10, np.uint8)) == "dark"
        assert brightness(np.full((4, 4, 3), 240, np.uint8)) == "bright"
        assert brightness(np.full((4, 4, 3), 110, np.uint8)) is None


@needs_ffmpeg
class TestTestPatterns:
    @pytest.mark.parametrize("source", ["smptebars", "smptehdbars", "pal75bars", "testsrc"])
    def test_colour_bars_named(self, source: str) -> None:
        tags = visual_tags([lavfi_frame(source)])
        assert {"test pattern", "colour bars", "color bars"} <= set(tags), tags

    def test_small_and_hd_bars(self) -> None:
        for size in ((320, 240), (1280, 720)):
            assert "test pattern" in frame_kind_tags(lavfi_frame("smptebars", size=size))

    def test_bars_have_no_faces_or_photo(self) -> None:
        tags = visual_tags([lavfi_frame("smptebars")])
        assert not {"photo", "photograph"} & set(tags)
        assert not any("face" in t for t in tags)


class TestPhotographs:
    def test_temple_over_lake_is_a_landscape(self) -> None:
        tags = visual_tags([_fit(_photo("china"))])
        assert {"photo", "photograph", "sky", "trees", "landscape"} <= set(tags), tags
        assert not any("face" in t for t in tags)

    def test_flower_is_a_photo_without_sky_or_trees(self) -> None:
        tags = visual_tags([_fit(_photo("flower"))])
        assert "photo" in tags
        assert not {"sky", "trees", "landscape", "face", "person"} & set(tags), tags

    def test_dark_photo_still_a_photo(self) -> None:
        dusk = (_fit(_photo("china")) * 0.35).astype(np.uint8)
        assert "photo" in frame_kind_tags(dusk)

    def test_grayscale_photo(self) -> None:
        gray = cv2.cvtColor(cv2.cvtColor(_fit(_photo("china")), cv2.COLOR_BGR2GRAY), 8)
        assert "photo" in frame_kind_tags(gray)

    def test_lower_third_keeps_photo_and_is_no_slide(self) -> None:
        tags = frame_kind_tags(lower_third(_fit(_photo("china")), "Summer Palace, Beijing"))
        assert "photo" in tags and "slide" not in tags


class TestFaces:
    def test_portrait_photo(self) -> None:
        frame = _pillarbox(_photo("grace_hopper"))
        assert len(find_faces(frame)) == 1
        tags = visual_tags([frame])
        assert {"photo", "face", "person", "portrait"} <= set(tags), tags
        assert not {"landscape", "plain black"} & set(tags)

    def test_two_faces_are_people(self) -> None:
        grace = _photo("grace_hopper")
        pair = np.hstack([cv2.resize(grace, (320, 375)), cv2.resize(grace[:, ::-1], (320, 375))])
        tags = visual_tags([_fit(pair)])
        assert {"two faces", "two people"} <= set(tags), tags

    def test_small_face_is_no_portrait(self) -> None:
        # Face about a quarter of the frame height: found, but no close-up.
        frame = np.full((480, 853, 3), (90, 70, 60), np.uint8)
        frame[90:390, 298:554] = cv2.resize(_photo("grace_hopper"), (256, 300))
        tags = visual_tags([frame])
        assert "face" in tags and "portrait" not in tags, tags

    def test_no_faces_on_flat_or_text_frames(
        self, narrated_keyframes: list[list[np.ndarray]]
    ) -> None:
        for frames in narrated_keyframes:
            assert count_faces(frames[1]) == (0, 0)

    def test_no_faces_in_noise_flower_or_temple(self) -> None:
        rng = np.random.default_rng(1)
        noise = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
        assert count_faces(noise)[0] == 0
        flower = _photo("flower")
        assert find_faces(_fit(flower)) == [] and find_faces(_fit(flower[80:350, 150:500])) == []
        assert find_faces(_fit(_photo("china"))) == []


class TestSlides:
    def test_bullet_slides(self) -> None:
        for seed, bg, ink in ((0, (255, 255, 255), (20, 20, 20)), (3, (40, 40, 40), (240,) * 3)):
            frame = text_slide(seed, background=bg, ink=ink)
            assert text_lines(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) >= 3
            assert frame_kind_tags(frame) == ["slide"]

    def test_title_card_is_no_slide(self) -> None:
        assert frame_kind_tags(title_card("PIZZA MENU", (0, 128, 128))) == []

    def test_template_slide_with_title_and_subtitle(self) -> None:
        frame = np.full((360, 640, 3), (110, 0, 0), np.uint8)
        frame[:24] = 255  # header bar
        cv2.line(frame, (20, 330), (620, 330), (0, 140, 255), 2)  # footer rule
        cv2.putText(frame, "BUDGET REVIEW", (150, 180), 2, 1.4, (255, 255, 255), 2, 16)
        cv2.putText(frame, "Travel costs up twelve percent", (200, 240), 0, 0.6, (255,) * 3, 1)
        assert frame_kind_tags(frame) == ["slide"]

    def test_full_width_lower_third_is_no_slide(self) -> None:
        frame = np.full((360, 640, 3), (128, 128, 0), np.uint8)
        frame[262:334] = (40, 40, 40)
        cv2.putText(frame, "ANNA BERG", (30, 292), 2, 1.0, (255, 255, 255), 2, 16)
        cv2.putText(frame, "Head coach", (30, 322), 0, 0.7, (255, 255, 255), 1, 16)
        assert "slide" not in frame_kind_tags(frame)


@needs_ffmpeg
class TestSyntheticKinds:
    def test_mandelbrot_is_a_fractal(self) -> None:
        assert frame_kind_tags(lavfi_frame("mandelbrot", t=1.0)) == ["fractal"]

    def test_cellular_automaton_is_a_pattern(self) -> None:
        assert frame_kind_tags(lavfi_frame("cellauto", t=3.0)) == ["pattern"]

    def test_line_drawing(self) -> None:
        assert frame_kind_tags(line_drawing(0)) == ["drawing"]


class TestNoFalseTags:
    @pytest.mark.parametrize(
        "bgr", [(0, 0, 0), (255, 255, 255), (0, 0, 255), (255, 0, 0), (0, 200, 0), (30, 30, 30)]
    )
    def test_flat_colours(self, bgr: tuple[int, int, int]) -> None:
        frame = np.full((360, 640, 3), bgr, np.uint8)
        tags = visual_tags([frame])
        assert not KIND_WORDS.intersection(tags), tags
        assert not any("face" in t or "person" in t for t in tags)

    def test_ramp_noise_and_grain(self) -> None:
        rng = np.random.default_rng(3)
        ramp = np.tile(np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None], (360, 1, 3))
        noise = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
        grain = np.clip(20 + rng.normal(0, 4, (360, 640, 3)), 0, 255).astype(np.uint8)
        for frame in (ramp, noise, grain):
            assert frame_kind_tags(frame) == [], frame_stats(frame)

    def test_empty_scene(self) -> None:
        assert visual_tags([]) == []


def _score(frames: list) -> dict[str, tuple[int, int, int]]:
    """``tag -> (true positives, false positives, false negatives)`` over ``frames``."""
    patterns = {
        t: re.compile(
            r"(?<!\w)"
            + {"photograph": "photo", "face": "faces?", "colour bars": "colou?r bars"}.get(
                t, "(?<!test )pattern" if t == "pattern" else re.escape(t)
            )
            + r"(?!\w)"
        )
        for t in SCORED
    }
    counts = {t: [0, 0, 0] for t in SCORED}
    for item in frames:
        text = ", ".join(visual_tags([item.frame]))
        for tag in SCORED:
            if tag in item.ignore:
                continue
            got, want = bool(patterns[tag].search(text)), tag in item.tags
            if got or want:
                counts[tag][0 if got and want else 1 if got else 2] += 1
    return {t: (c[0], c[1], c[2]) for t, c in counts.items()}


@needs_ffmpeg
@pytest.mark.slow
class TestLabelledSets:
    """Every scored tag is precise on both labelled sets; recall as measured when tuned."""

    def test_labelled_set(self) -> None:
        scores = _score(labelled_frames())
        assert all(fp == 0 for _, fp, _ in scores.values()), scores
        found = sum(tp for tp, _, _ in scores.values())
        assert found / sum(tp + fn for tp, _, fn in scores.values()) >= 0.9, scores

    def test_check_set(self) -> None:
        scores = _score(check_frames())
        assert all(fp == 0 for _, fp, _ in scores.values()), scores
        found = sum(tp for tp, _, _ in scores.values())
        assert found / sum(tp + fn for tp, _, fn in scores.values()) >= 0.9, scores


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
