"""Speech: real whisper over espeak narration; words land in the scene they were spoken in."""

from __future__ import annotations

import logging
from typing import ClassVar

import pytest

from tasks.video.probe import probe_video
from tasks.video.records import SceneSpan
from tasks.video.speech import TimedText, assign_to_scenes, speech_for_scenes, transcribe_video
from tests.video.conftest import SampleVideos

KEY_WORDS = {0: {"rocket", "tomorrow"}, 2: {"umbrella", "rain"}, 4: {"kitchen", "cleaning"}}


def _spans(sample_videos: SampleVideos) -> list[SceneSpan]:
    return [SceneSpan(i, a, b) for i, (a, b) in enumerate(sample_videos.spans)]


def _words(text: str) -> set[str]:
    return {w.strip(".,!?").lower() for w in text.split()}


@pytest.fixture(scope="module")
def narrated_words(sample_videos: SampleVideos, asr: object) -> list[TimedText]:
    return transcribe_video(probe_video(sample_videos.narrated), asr=asr)


@pytest.mark.slow
class TestTranscribe:
    def test_key_words_in_their_scenes(
        self, sample_videos: SampleVideos, narrated_words: list[TimedText]
    ) -> None:
        transcripts = assign_to_scenes(narrated_words, _spans(sample_videos))
        for scene, words in KEY_WORDS.items():
            assert words <= _words(transcripts[scene]), (scene, transcripts[scene])
        for silent in (1, 3, 5):
            assert transcripts[silent] == "", (silent, transcripts[silent])

    def test_word_times_fall_inside_the_spoken_scene(
        self, sample_videos: SampleVideos, narrated_words: list[TimedText]
    ) -> None:
        rocket = next(w for w in narrated_words if "rocket" in w.text.lower())
        start, end = sample_videos.spans[0]
        assert start <= rocket.start_s < rocket.end_s <= end

    def test_segment_mode_also_assigns(self, sample_videos: SampleVideos, asr: object) -> None:
        info = probe_video(sample_videos.narrated)
        transcripts = speech_for_scenes(info, _spans(sample_videos), asr=asr, mode="segments")
        assert "kitchen" in _words(" ".join(transcripts))


class TestNoAudio:
    def test_empty_transcripts_and_one_log_line(
        self, sample_videos: SampleVideos, caplog: pytest.LogCaptureFixture
    ) -> None:
        info = probe_video(sample_videos.no_audio)
        with caplog.at_level(logging.INFO, logger="tessera.video"):
            # No model is needed (or loaded) for a silent video.
            transcripts = speech_for_scenes(info, _spans(sample_videos), model="not-a-model")
        assert transcripts == [""] * len(sample_videos.spans)
        lines = [r.getMessage() for r in caplog.records if "no audio" in r.getMessage()]
        assert len(lines) == 1


class TestAssignToScenes:
    spans: ClassVar[list[SceneSpan]] = [
        SceneSpan(0, 0.0, 5.0),
        SceneSpan(1, 5.0, 10.0),
        SceneSpan(2, 10.0, 15.0),
    ]

    def test_word_goes_to_scene_it_overlaps_most(self) -> None:
        words = [TimedText(4.0, 5.4, "edge"), TimedText(4.7, 6.0, "across")]
        assert assign_to_scenes(words, self.spans) == ["edge", "across", ""]

    def test_segment_spanning_scenes_goes_to_the_larger_part(self) -> None:
        seg = [TimedText(3.0, 11.0, "long segment")]
        assert assign_to_scenes(seg, self.spans) == ["", "long segment", ""]

    def test_order_kept(self) -> None:
        words = [TimedText(1, 2, "one"), TimedText(2, 3, "two"), TimedText(11, 12, "three")]
        assert assign_to_scenes(words, self.spans) == ["one two", "", "three"]

    def test_nothing_said(self) -> None:
        assert assign_to_scenes([], self.spans) == ["", "", ""]
