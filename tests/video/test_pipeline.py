"""describe_video end to end, and the stage tasks inside a real Prefect flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.settings import Settings
from tasks.video.ocr import SceneText
from tasks.video.pipeline import STAGES, describe_video
from tasks.video.probe import probe_video
from tasks.video.records import BadVideoError, Scene
from tests.video.conftest import SampleVideos


@pytest.fixture(scope="module")
def described(
    sample_videos: SampleVideos, asr: object, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Scene], dict[str, float]]:
    settings = Settings(thumbnail_dir=tmp_path_factory.mktemp("thumbs"))
    return describe_video(probe_video(sample_videos.narrated), settings, asr=asr)


@pytest.mark.slow
class TestDescribeVideo:
    def test_scenes_match_the_sample(
        self, described: tuple[list[Scene], dict[str, float]], sample_videos: SampleVideos
    ) -> None:
        scenes, _ = described
        assert len(scenes) == len(sample_videos.spans)
        for scene, (start, end) in zip(scenes, sample_videos.spans, strict=True):
            assert abs(scene.start_s - start) <= 0.5
            assert abs(scene.end_s - end) <= 0.5

    def test_every_descriptor_filled(self, described: tuple[list[Scene], dict[str, float]]) -> None:
        scenes, _ = described
        assert "rocket" in scenes[0].transcript.lower()
        assert scenes[0].tags[0] == "red"
        assert scenes[1].ocr == "EXIT GATE"
        assert "umbrella" in scenes[2].transcript.lower()
        assert scenes[2].ocr == "WELCOME"
        assert scenes[3].ocr == "PIZZA MENU"
        assert "kitchen" in scenes[4].transcript.lower()
        assert all(s.caption == "" for s in scenes)
        assert all(s.thumbnail and Path(s.thumbnail).is_file() for s in scenes)
        assert len({s.key for s in scenes}) == len(scenes)

    def test_stage_seconds(self, described: tuple[list[Scene], dict[str, float]]) -> None:
        _, seconds = described
        assert set(seconds) == {*STAGES, "total"}
        assert all(v >= 0 for v in seconds.values())
        # Speech overlaps the other stages, so the total is below the sum.
        assert seconds["total"] < sum(v for k, v in seconds.items() if k != "total")

    def test_video_without_audio(self, sample_videos: SampleVideos, tmp_path: Path) -> None:
        info = probe_video(sample_videos.no_audio)
        reported: list[str] = []
        scenes, _ = describe_video(
            info,
            Settings(thumbnail_dir=tmp_path, whisper_model="not-loaded-for-silent-video"),
            on_stage=lambda name, seconds: reported.append(name),
        )
        assert [s.transcript for s in scenes] == [""] * len(scenes)
        assert scenes[1].ocr == "EXIT GATE"
        assert sorted(reported) == sorted(STAGES)

    def test_failed_stage_leaves_no_thumbnails(
        self, sample_videos: SampleVideos, tmp_path: Path
    ) -> None:
        settings = Settings(thumbnail_dir=tmp_path / "thumbs", caption_model=str(tmp_path / "no"))
        with pytest.raises(FileNotFoundError, match="not a local folder"):
            describe_video(probe_video(sample_videos.no_audio), settings)
        assert not (tmp_path / "thumbs").exists() or not any((tmp_path / "thumbs").iterdir())


@pytest.mark.slow
class TestStageTasksInAFlow:
    def test_flow_runs_the_stage_tasks(
        self, prefect_harness: None, sample_videos: SampleVideos, tmp_path: Path
    ) -> None:
        from prefect import flow

        from tasks.video.prefect_tasks import (
            keyframes_task,
            ocr_task,
            probe_task,
            split_scenes_task,
            thumbnails_task,
            visual_task,
        )

        @flow
        def describe(path: Path) -> tuple[list[SceneText], list[list[str]], list[str]]:
            info = probe_task(path)
            spans = split_scenes_task(info)
            frames = keyframes_task(info, spans)
            ocr = ocr_task.submit(frames)
            tags = visual_task.submit(frames)
            thumbs = thumbnails_task.submit(frames, tmp_path, info.content_hash[:8])
            return ocr.result(), tags.result(), thumbs.result()

        ocr, tags, thumbs = describe(sample_videos.narrated)
        assert ocr[1].text == "EXIT GATE"
        assert tags[0][0] == "red"
        assert len(thumbs) == 6

    def test_bad_video_fails_its_task_with_one_line(
        self, prefect_harness: None, sample_videos: SampleVideos
    ) -> None:
        from prefect import flow

        from tasks.video.prefect_tasks import probe_task

        @flow
        def probe_only(path: Path) -> None:
            probe_task(path)

        with pytest.raises(BadVideoError, match="empty file"):
            probe_only(sample_videos.zero_length)


class TestGpuStages:
    def test_speech_and_captions_are_gpu_tasks(self) -> None:
        from tasks.video import prefect_tasks as pt

        gpu = {t.name for t in vars(pt).values() if hasattr(t, "tags") and pt.is_gpu_task(t)}
        assert gpu == {"speech", "captions"}
