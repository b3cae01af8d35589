"""probe_video: stream facts, content hash, one-line errors for bad files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tasks.video.probe import content_hash, probe_video
from tasks.video.records import BadVideoError
from tests.video.conftest import SampleVideos


class TestProbeGoodVideo:
    def test_streams_and_duration(self, sample_videos: SampleVideos) -> None:
        info = probe_video(sample_videos.narrated)
        assert info.duration_s == pytest.approx(sample_videos.spans[-1][1], abs=0.1)
        assert (info.width, info.height) == (640, 360)
        assert info.fps == pytest.approx(25.0)
        assert info.has_audio

    def test_silent_video_has_no_audio(self, sample_videos: SampleVideos) -> None:
        assert not probe_video(sample_videos.no_audio).has_audio

    def test_hash_is_sha256_of_bytes(self, sample_videos: SampleVideos) -> None:
        expected = hashlib.sha256(sample_videos.narrated.read_bytes()).hexdigest()
        assert probe_video(sample_videos.narrated).content_hash == expected
        assert content_hash(sample_videos.narrated) == expected

    def test_same_content_same_hash_other_content_other_hash(
        self, sample_videos: SampleVideos, tmp_path: Path
    ) -> None:
        copy = tmp_path / "copy.mp4"
        copy.write_bytes(sample_videos.narrated.read_bytes())
        assert probe_video(copy).content_hash == probe_video(sample_videos.narrated).content_hash
        assert (
            probe_video(sample_videos.no_audio).content_hash
            != probe_video(sample_videos.narrated).content_hash
        )


class TestProbeBadInput:
    @pytest.mark.parametrize(
        ("which", "cause"),
        [
            ("truncated", "moov atom not found"),
            ("zero_length", "empty file"),
            ("not_video", "not a readable video"),
        ],
    )
    def test_bad_file_one_line_error(
        self, sample_videos: SampleVideos, which: str, cause: str
    ) -> None:
        path = getattr(sample_videos, which)
        with pytest.raises(BadVideoError) as err:
            probe_video(path)
        message = str(err.value)
        assert "\n" not in message
        assert message.startswith(f"{path}: ")
        assert cause in message

    def test_missing_path(self, tmp_path: Path) -> None:
        with pytest.raises(BadVideoError, match=r"missing\.mp4: no such file$"):
            probe_video(tmp_path / "missing.mp4")

    def test_folder_is_not_a_video(self, tmp_path: Path) -> None:
        with pytest.raises(BadVideoError, match="not a regular file"):
            probe_video(tmp_path)

    def test_audio_only_file_has_no_video_stream(self, tmp_path: Path) -> None:
        import subprocess

        wav = tmp_path / "speech.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(wav)],
            check=True,
        )
        with pytest.raises(BadVideoError, match="no video stream"):
            probe_video(wav)


class TestUnreadable:
    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
    def test_permission_denied(self, sample_videos: SampleVideos, tmp_path: Path) -> None:
        locked = tmp_path / "locked.mp4"
        locked.write_bytes(sample_videos.narrated.read_bytes())
        locked.chmod(0)
        try:
            with pytest.raises(BadVideoError, match="permission denied"):
                probe_video(locked)
        finally:
            locked.chmod(0o600)
