"""The development corpus: its spec, queries and ground truth agree; a slice renders."""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tasks.video.corpus import TEXT_KINDS, load_queries, load_spec, render_corpus
from tasks.video.corpus_metrics import score_queries
from tasks.video.probe import probe_video

_KINDS = {
    "speech",
    "title",
    "lower-third",
    "small",
    "visual",
    "combined",
    "split",
    "near-miss",
    "negative",
}


def test_scene_ranges_tile_each_video() -> None:
    videos = load_spec()
    assert 8 <= len(videos) <= 12
    assert {Path(v["name"]).suffix for v in videos} >= {".mp4", ".webm", ".mkv", ".mov"}
    assert any(v["size"][1] > v["size"][0] for v in videos), "a portrait video"
    assert any(v["fps"] == 60 for v in videos)
    assert 180 <= sum(v["duration"] for v in videos) <= 360
    ids = [s["id"] for v in videos for s in v["scene"]]
    assert len(ids) == len(set(ids))
    for video in videos:
        scenes = video["scene"]
        assert scenes[0]["start"] == 0.0
        assert scenes[-1]["end"] == video["duration"]
        for a, b in itertools.pairwise(scenes):
            assert a["end"] == b["start"] and a["start"] < a["end"]
        for scene in scenes:
            for text in scene["texts"]:
                assert text["kind"] in TEXT_KINDS
                assert 0 <= text["at"] < text["until"] <= scene["duration"]


def test_spec_covers_the_difficulties() -> None:
    scenes = [s for v in load_spec() for s in v["scene"]]
    backgrounds = {s["background"].partition(":")[0] for s in scenes}
    assert {"color", "slide", "photo", "smptebars", "mandelbrot"} <= backgrounds
    assert {s["motion"] for s in scenes} >= {"pan", "zoom-in", "zoom-out"}
    assert {s["bed"] for s in scenes} >= {"music", "noise"}
    assert any(s["transition"] == "dissolve" for s in scenes)
    assert any("recording" in s for s in scenes)
    assert any(len({x["voice"] for x in s["speech"]}) == 2 for s in scenes)
    assert any(s["duration"] >= 30 for s in scenes), "a long single shot"
    texts = [x for s in scenes for x in s["texts"]]
    assert {x["kind"] for x in texts} == set(TEXT_KINDS)
    assert any(x["at"] > 0 for x in texts), "text that appears mid-scene"


def test_queries_resolve_inside_their_videos() -> None:
    durations = {v["name"]: v["duration"] for v in load_spec()}
    queries = load_queries()
    assert len(queries) >= 40
    kinds = Counter(q["kind"] for q in queries)
    assert set(kinds) == _KINDS
    assert len({q["text"] for q in queries}) == len(queries)
    for q in queries:
        if q["kind"] == "negative":
            assert q["targets"] == []
            continue
        assert q["targets"], q["text"]
        if q["kind"] == "split":
            assert len({t[0] for t in q["targets"]}) == len(q["targets"]) >= 2
        for name, start, end in q["targets"]:
            assert 0 <= start < end <= durations[name], q["text"]


@pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None,
    reason="needs ffmpeg and espeak-ng (make setup)",
)
def test_a_slice_renders_with_its_truth(tmp_path: Path) -> None:
    truth = render_corpus(media=tmp_path, only=["portrait.mp4"])
    video = truth["videos"]["portrait.mp4"]
    info = probe_video(tmp_path / "portrait.mp4")
    assert (info.width, info.height) == (360, 640)
    assert info.has_audio
    assert info.duration_s == pytest.approx(video["duration"], abs=0.1)
    for scene in video["scenes"]:
        for line in scene["speech"]:
            assert scene["start"] <= line["start"] < line["end"] <= scene["end"]
        assert scene["script"] == " ".join(line["text"] for line in scene["speech"])
    umbrella = video["scenes"][1]["texts"][0]
    assert umbrella["mid_scene"] and umbrella["start"] == video["scenes"][1]["start"] + 2.5


def test_scoring_counts_hits_splits_and_negatives() -> None:
    queries: list[dict[str, Any]] = [
        {"text": "a", "kind": "title", "targets": [("x.mp4", 0.0, 5.0)]},
        {"text": "b", "kind": "split", "targets": [("x.mp4", 0.0, 5.0), ("y.mp4", 5.0, 9.0)]},
        {"text": "c", "kind": "negative", "targets": []},
    ]
    runs = {
        # A 30-s window over a 5-s target still hits (most of the target), but IoU < 0.5.
        "a": [("x.mp4", 0.0, 30.0)],
        "b": [("y.mp4", 6.0, 9.0), ("z.mp4", 0.0, 1.0), ("x.mp4", 1.0, 5.0)],
        "c": [],
    }
    scored = score_queries(queries, runs)
    assert scored["per_kind"]["title"]["hit1"] == 1.0
    assert scored["top1"] == "1.00 (1/1)"
    assert scored["split"] == "1.00 (1/1)"
    assert scored["iou"] == "0.50 (1/2)"
    assert scored["negatives"] == "1.00 (1/1)"
