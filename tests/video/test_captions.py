"""Captions: a tiny random ViT-GPT2 built locally goes through the real loading code."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from tasks.video.captions import captions_for_scenes, load_captioner
from tests.video.tiny_caption_model import WORDS, build_tiny_caption_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_caption_model(tmp_path_factory.mktemp("tiny-caption"))


@pytest.mark.slow
class TestCaptionModel:
    def test_captions_from_the_vocabulary(
        self, tiny_model: Path, narrated_keyframes: list[list[np.ndarray]]
    ) -> None:
        captions = captions_for_scenes(narrated_keyframes[:3], model=str(tiny_model))
        assert len(captions) == 3
        for caption in captions:
            words = caption.split()
            assert len(words) >= 3
            assert set(words) <= set(WORDS)

    def test_loaded_once_per_process(self, tiny_model: Path) -> None:
        assert load_captioner(str(tiny_model)) is load_captioner(str(tiny_model))

    def test_missing_folder_is_a_clear_error(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError, match="not a local folder"):
            load_captioner(str(tmp_path / "nope"))


class TestCaptionsOff:
    def test_off_without_model_one_log_line(self, caplog: pytest.LogCaptureFixture) -> None:
        frames = [[np.zeros((36, 64, 3), np.uint8)]] * 4
        with caplog.at_level(logging.INFO, logger="tessera.video"):
            assert captions_for_scenes(frames, model=None) == [""] * 4
        assert sum("stage off" in r.getMessage() for r in caplog.records) == 1
