"""A video cut short after an intact header is measured by its data, not its header."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from tasks.video.probe import probe_video

SECONDS = 10


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-s mp4 with its index (moov) up front, as a faststart copy would have."""
    out = tmp_path_factory.mktemp("trunc") / "whole.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-f", "lavfi"),
            *("-i", f"testsrc=duration={SECONDS}:size=160x120:rate=25"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-g", "25"),
            *("-movflags", "+faststart", str(out)),
        ],
        check=True,
    )
    return out


class TestTruncatedAfterHeader:
    def test_whole_file_keeps_its_duration(self, whole: Path) -> None:
        assert probe_video(whole).duration_s == pytest.approx(SECONDS, abs=0.1)

    def test_cut_file_is_measured_and_flagged(
        self, whole: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        cut = tmp_path / "cut.mp4"
        data = whole.read_bytes()
        cut.write_bytes(data[: len(data) * 4 // 10])
        with caplog.at_level(logging.WARNING, logger="tasks.video.probe"):
            info = probe_video(cut)
        assert 1.0 < info.duration_s < 0.7 * SECONDS  # header says 10 s
        assert f"{cut}: truncated: header says 10.0 s" in caplog.text
