"""``tessera videos list|remove|export``, the search table's clock and thumbnail link, and
the relevance threshold, on hand-written scenes (real encoder, real LanceDB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app, console
from tasks.video.encode import Encoder
from tasks.video.export import clock, clock_range, to_srt, to_vtt
from tasks.video.search import SceneSearcher, SearchConfig
from tasks.video.store import SceneStore, StoreError
from tests.video_search.conftest import catalogue_scenes

runner = CliRunner()


@pytest.fixture
def two_videos(tmp_path: Path, encoder: Encoder) -> tuple[str, Path]:
    """A store with two videos (the catalogue twice, under two paths), with thumbnails."""
    uri = str(tmp_path / "lancedb")
    store = SceneStore.open(uri)
    for name, digest in (("narrated.mp4", "aa11aa11"), ("other.mp4", "bb22bb22")):
        scenes = catalogue_scenes(str(tmp_path / name), digest)
        for scene in scenes:
            thumb = tmp_path / "thumbs" / f"{digest}-{scene.index}.jpg"
            thumb.parent.mkdir(exist_ok=True)
            thumb.write_bytes(b"\xff\xd8 not really a jpeg")
            scene.thumbnail = str(thumb)
        store.write_video(scenes[0].video, digest, scenes, encoder.encode_scenes(scenes))
    store.finish_batch()
    return uri, tmp_path


class TestVideosCommand:
    def test_list_json(self, two_videos: tuple[str, Path]) -> None:
        uri, root = two_videos
        out = runner.invoke(app, ["videos", "list", "--json", "--db", uri])
        assert out.exit_code == 0, out.output
        listed = json.loads(out.stdout)
        assert [v["video"] for v in listed] == [str(root / "narrated.mp4"), str(root / "other.mp4")]
        assert listed[0]["scenes"] == 6 and listed[0]["duration_s"] == 28.0
        assert listed[0]["exists"] is False  # only rows were written, no video files

    def test_list_empty_store(self, tmp_path: Path) -> None:
        out = runner.invoke(app, ["videos", "list", "--db", str(tmp_path / "none")])
        assert out.exit_code == 0
        assert "no videos ingested yet" in out.stdout

    def test_remove_is_one_write_and_deletes_thumbnails(self, two_videos: tuple[str, Path]) -> None:
        uri, root = two_videos
        before = SceneStore.open(uri).version()
        out = runner.invoke(app, ["videos", "remove", "other.mp4", "--db", uri])
        assert out.exit_code == 0, out.output
        assert "6 scenes, 6 thumbnails" in out.stdout
        store = SceneStore.open(uri)
        assert store.version() == before + 1
        assert [v.video for v in store.videos()] == [str(root / "narrated.mp4")]
        assert not list((root / "thumbs").glob("bb22bb22-*"))
        assert len(list((root / "thumbs").glob("aa11aa11-*"))) == 6

    def test_remove_unknown_is_one_clear_line(self, two_videos: tuple[str, Path]) -> None:
        out = runner.invoke(app, ["videos", "remove", "nope.mp4", "--db", two_videos[0]])
        assert out.exit_code == 1
        assert out.output.strip().splitlines() == [
            "videos remove: no stored video 'nope.mp4' (see `tessera videos list`)"
        ]

    def test_ambiguous_reference_is_refused(
        self, two_videos: tuple[str, Path], encoder: Encoder
    ) -> None:
        uri, root = two_videos
        store = SceneStore.open(uri)
        twin = catalogue_scenes(str(root / "b" / "narrated.mp4"), "cc33cc33")[:1]
        store.write_video(twin[0].video, "cc33cc33", twin, encoder.encode_scenes(twin))
        with pytest.raises(StoreError, match="names 2 stored videos"):
            store.find_video("narrated.mp4")
        found = store.find_video(str(root / "b" / "narrated.mp4"))
        assert found is not None and found.video_hash == "cc33cc33"
        assert store.find_video("cc33cc") == found  # a hash prefix of six names one too

    @pytest.mark.parametrize("fmt", ["srt", "vtt"])
    def test_export(self, two_videos: tuple[str, Path], fmt: str) -> None:
        out = runner.invoke(
            app, ["videos", "export", "narrated.mp4", "-f", fmt, "--db", two_videos[0]]
        )
        assert out.exit_code == 0, out.output
        sep = "," if fmt == "srt" else "."
        assert f"00:00:00{sep}000 --> 00:00:05{sep}000\nThe rocket launch" in out.stdout
        assert f"3\n00:00:19{sep}000 --> 00:00:24{sep}000\nThe kitchen is closed" in out.stdout
        assert out.stdout.startswith("WEBVTT\n\n1\n") == (fmt == "vtt")

    def test_export_bad_format(self, two_videos: tuple[str, Path]) -> None:
        out = runner.invoke(
            app, ["videos", "export", "narrated.mp4", "-f", "ass", "--db", two_videos[0]]
        )
        assert out.exit_code == 2
        assert "--format must be srt or vtt" in out.output


class TestSearchTable:
    def test_clock_and_thumbnail_link(
        self, two_videos: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        uri, root = two_videos
        monkeypatch.setattr(console, "width", 400)  # one line per row: the URI unfolded
        out = runner.invoke(app, ["search", "kitchen closed for cleaning", "-k", "1", "--db", uri])
        assert out.exit_code == 0, out.output
        assert "0:19-0:24" in out.stdout
        assert (root / "thumbs" / "aa11aa11-4.jpg").as_uri() in out.stdout


class TestThreshold:
    def test_fewer_than_limit_rather_than_padding(self, catalogue: SceneSearcher) -> None:
        results = catalogue.search("the word EXIT", limit=5)
        assert [r["scene"] for r in results] == [1]

    def test_nothing_matches_nothing_returned(self, catalogue: SceneSearcher) -> None:
        assert catalogue.search("pizza menu giraffe", limit=5)[0]["scene"] == 3
        assert catalogue.search("a giraffe in the savannah", limit=5) == []

    def test_zero_threshold_pads(self, catalogue: SceneSearcher) -> None:
        padded = SceneSearcher(catalogue.store, catalogue.encoder, SearchConfig(threshold=0.0))
        assert len(padded.search("the word EXIT", limit=5)) == 5


def test_clock() -> None:
    assert [clock(s) for s in (0, 59.99, 61, 3600)] == ["0:00", "0:59", "1:01", "1:00:00"]
    assert clock_range(65, 130.5) == "1:05-2:10"
    scenes = [
        {"start": 1.5, "end": 2.0, "transcript": "two\n\nlines"},
        {"start": 0, "end": 1, "transcript": ""},
    ]
    assert to_srt(scenes) == "1\n00:00:01,500 --> 00:00:02,000\ntwo lines\n"
    assert to_vtt(scenes).endswith("1\n00:00:01.500 --> 00:00:02.000\ntwo lines\n")
