"""Discovery survives symlink loops and links to one file; non-ASCII queries are searched."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tasks.video.discover import discover_videos
from tasks.video.encode import Encoder
from tasks.video.query import check_query, fts_text
from tasks.video.records import Scene
from tasks.video.store import SceneStore


@pytest.fixture
def looped(tmp_path: Path) -> Path:
    """a/x.mp4, a/b/y.mp4, a/b/loop -> a (a loop), a/b/again.mp4 -> a/x.mp4."""
    (tmp_path / "a/b").mkdir(parents=True)
    for name in ("a/x.mp4", "a/b/y.mp4"):
        (tmp_path / name).write_bytes(b"v")
    os.symlink(tmp_path / "a", tmp_path / "a/b/loop")
    os.symlink(tmp_path / "a/x.mp4", tmp_path / "a/b/again.mp4")
    return tmp_path


class TestSymlinks:
    @pytest.mark.parametrize("pattern", ["a", "a/**/*.mp4", "**/*.mp4", "./a/**"])
    def test_loops_visited_once_files_resolved_once(
        self, looped: Path, pattern: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(looped)
        t0 = time.monotonic()
        found = discover_videos([pattern])
        assert time.monotonic() - t0 < 5
        assert found.videos == [looped / "a/b/y.mp4", looped / "a/x.mp4"], found
        assert found.problems == []

    def test_absolute_glob_and_link_given_twice(self, looped: Path) -> None:
        found = discover_videos([f"{looped}/**/*.mp4", str(looped / "a/b/again.mp4")])
        assert found.videos == [looped / "a/b/y.mp4", looped / "a/x.mp4"]


SCRIPTS = [
    ("東京タワーの夜景が見える", "夜景"),
    ("η Ακρόπολη τη νύχτα", "Ακρόπολη"),
    ("un café crème à Paris", "café crème"),
]


class TestNonAsciiQueries:
    @pytest.mark.parametrize("query", ["夜景", "Ακρόπολη", "crème", "Ωμέγα 3"])
    def test_not_refused_and_letters_kept(self, query: str) -> None:
        assert check_query(query) == query
        assert fts_text(query) == query

    def test_full_text_finds_each_script(self, tmp_path: Path, encoder: Encoder) -> None:
        scenes = [
            Scene("/v/s.mp4", "cc33", i, i * 5.0, i * 5.0 + 5, ocr=text)
            for i, (text, _) in enumerate(SCRIPTS)
        ]
        store = SceneStore.open(str(tmp_path / "lancedb"))
        store.write_video("/v/s.mp4", "cc33", scenes, encoder.encode_scenes(scenes))
        store.finish_batch()
        for i, (_, query) in enumerate(SCRIPTS):
            hits = store.table.search(fts_text(query), query_type="fts").limit(3).to_list()
            assert [h["scene"] for h in hits][:1] == [i], (query, hits)
        accentless = store.table.search("cafe creme", query_type="fts").limit(1).to_list()
        assert accentless and accentless[0]["scene"] == 2
