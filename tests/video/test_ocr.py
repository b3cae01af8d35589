"""OCR: drawn words are read from the right scenes; noise is dropped; flat frames are skipped."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tasks.video.ocr import clean_words, ocr_for_scenes, text_regions
from tests.video.conftest import SampleVideos


@pytest.fixture(scope="module")
def narrated_ocr(narrated_keyframes: list[list[np.ndarray]]) -> list[str]:
    return ocr_for_scenes(narrated_keyframes)


class TestOcrOnSampleVideo:
    def test_drawn_words_in_their_scenes(
        self, narrated_ocr: list[str], sample_videos: SampleVideos
    ) -> None:
        for text, scene in zip(narrated_ocr, sample_videos.scenes, strict=True):
            assert text.split() == scene.on_screen.split(), (scene, text)

    def test_text_appearing_mid_scene_is_read(
        self, narrated_ocr: list[str], sample_videos: SampleVideos
    ) -> None:
        assert sample_videos.scenes[3].text_at_s > 0
        assert narrated_ocr[3] == "PIZZA MENU"


def _frame_with_text(text: str, fg: int, bg: int) -> np.ndarray:
    frame = np.full((360, 640, 3), bg, np.uint8)
    cv2.putText(frame, text, (60, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (fg, fg, fg), 5)
    return frame


class TestOcrPolarity:
    def test_light_text_on_dark(self) -> None:
        assert ocr_for_scenes([[_frame_with_text("SUNSET BEACH", 255, 20)]]) == ["SUNSET BEACH"]

    def test_dark_text_on_light(self) -> None:
        assert ocr_for_scenes([[_frame_with_text("MOUNTAIN ROAD", 10, 230)]]) == ["MOUNTAIN ROAD"]


class TestSkipping:
    def test_flat_frame_has_no_text_regions(self) -> None:
        assert text_regions(np.full((360, 640, 3), (0, 128, 128), np.uint8)) == []

    def test_noise_frame_yields_no_words(self) -> None:
        rng = np.random.default_rng(0)
        noise = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
        assert ocr_for_scenes([[noise]]) == [""]

    def test_no_frames(self) -> None:
        assert ocr_for_scenes([]) == []


class TestCleanWords:
    def test_drops_low_confidence_single_chars_and_symbols(self) -> None:
        words = ["EXIT", "|", "G@", "GATE", "a", "~~", "42", "Xkcdrt"]
        conf = [96.0, 90.0, 30.0, 95.0, 95.0, 90.0, 91.0, 88.0]
        assert clean_words(words, conf) == ["EXIT", "GATE", "42"]

    def test_keeps_first_of_repeats_case_insensitive(self) -> None:
        assert clean_words(["Menu", "MENU", "menu"], [90, 90, 90]) == ["Menu"]

    def test_strips_punctuation_around_words(self) -> None:
        assert clean_words(["(Exit),", "don't"], [90, 90]) == ["Exit", "don't"]
