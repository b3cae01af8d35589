"""The ingest and backfill flows end to end: real Prefect, Dask, whisperx, tesseract, LanceDB.

One module-scoped ingest of a folder with good and bad files feeds the checks; the session's
Dask cluster keeps the models loaded between flow runs.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.ingest import FileReport, backfill, ingest
from tasks.settings import Settings
from tasks.video.search import SceneSearcher
from tasks.video.store import SceneStore
from tests.video_search.conftest import Library

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def first_ingest(library: Library, flow_settings: Settings) -> dict[str, FileReport]:
    reports = ingest([str(library.root), str(library.root / "missing.mp4")], settings=flow_settings)
    return {Path(r.file).name: r for r in reports}


@pytest.fixture(scope="module")
def searcher(first_ingest: dict[str, FileReport], flow_settings: Settings) -> SceneSearcher:
    return SceneSearcher.open(flow_settings)


class TestIngest:
    def test_good_files_are_written(self, first_ingest: dict[str, FileReport]) -> None:
        assert first_ingest["narrated.mp4"].status == "written"
        assert first_ingest["narrated.mp4"].scenes == 6
        # No audio: speech is skipped, the scenes are still described and stored.
        assert first_ingest["silent.mov"].status == "written"
        assert first_ingest["silent.mov"].scenes == 2

    @pytest.mark.parametrize(
        ("name", "cause"),
        [
            ("truncated.mp4", "not a readable video"),
            ("empty.mp4", "empty"),
            ("notes.mkv", "not a readable video"),
            ("missing.mp4", "no such file"),
        ],
    )
    def test_bad_file_gets_one_clear_line(
        self, first_ingest: dict[str, FileReport], name: str, cause: str
    ) -> None:
        report = first_ingest[name]
        assert report.status == "failed"
        assert "\n" not in report.error
        assert name in report.error and cause in report.error

    def test_non_video_extension_is_not_picked_up(
        self, first_ingest: dict[str, FileReport]
    ) -> None:
        assert "readme.txt" not in first_ingest

    def test_failed_files_leave_no_rows(
        self, first_ingest: dict[str, FileReport], flow_settings: Settings, library: Library
    ) -> None:
        store = SceneStore.open(flow_settings.lancedb_uri)
        assert store.count() == 8
        stored = {r["video"] for r in store.table.search().select(["video"]).limit(None).to_list()}
        assert stored == {str(library.narrated), str(library.no_audio)}

    def test_thumbnails_are_jpegs(self, searcher: SceneSearcher) -> None:
        result = searcher.search("the word EXIT", limit=1)[0]
        assert Path(result["thumbnail"]).read_bytes()[:2] == b"\xff\xd8"


class TestSearchIngested:
    """Queries over the real descriptors of the narrated sample (scenes 0-5)."""

    @pytest.mark.parametrize(
        ("query", "scene", "modality"),
        [
            ("someone says the rocket launch is tomorrow", 0, "transcript"),
            ("bring an umbrella because of rain", 2, "transcript"),
            ("the kitchen is closed", 4, "transcript"),
            ("the word EXIT on screen", 1, "ocr"),
            ("pizza menu", 3, "ocr"),
            ("a red screen", 0, "tags"),
        ],
    )
    def test_single_modality(
        self, searcher: SceneSearcher, query: str, scene: int, modality: str
    ) -> None:
        best = searcher.search(query, limit=3)[0]
        assert best["scene"] == scene
        assert modality in best["matched"][0]["modalities"]

    def test_combined_query(self, searcher: SceneSearcher, library: Library) -> None:
        best = searcher.search("a white screen that says welcome while it will rain", limit=3)[0]
        assert (best["video"], best["scene"]) == (str(library.narrated), 2)

    def test_split_query(self, searcher: SceneSearcher, library: Library) -> None:
        results = searcher.search("the word PIZZA, then someone mentions the kitchen", limit=4)
        assert {(r["video"], r["scene"]) for r in results[:2]} == {
            (str(library.narrated), 3),
            (str(library.narrated), 4),
        }
        assert len(results[0]["matched"]) == 1


class TestReingest:
    def test_unchanged_file_adds_nothing(
        self, first_ingest: dict[str, FileReport], flow_settings: Settings, library: Library
    ) -> None:
        store = SceneStore.open(flow_settings.lancedb_uri)
        rows, version = store.count(), store.version()
        [report] = ingest([str(library.narrated)], settings=flow_settings)
        assert (report.status, report.scenes) == ("unchanged", 0)
        again = SceneStore.open(flow_settings.lancedb_uri)
        assert (again.count(), again.version()) == (rows, version)

    def test_changed_file_is_replaced(
        self, first_ingest: dict[str, FileReport], flow_settings: Settings, tmp_path: Path
    ) -> None:
        from tasks.video.samples import SampleScene, make_sample_video

        clip = tmp_path / "clip.mp4"
        make_sample_video(clip, [SampleScene(2, "green", on_screen="FIRST")], audio=False)
        [first] = ingest([str(clip)], settings=flow_settings)
        make_sample_video(
            clip,
            [SampleScene(2, "yellow", on_screen="SECOND"), SampleScene(2, "navy")],
            audio=False,
        )
        [second] = ingest([str(clip)], settings=flow_settings)
        assert (first.status, second.status) == ("written", "written")
        rows = SceneStore.open(flow_settings.lancedb_uri).scenes_of(str(clip))
        assert [r["scene"] for r in rows] == [0, 1]
        assert "SECOND" in rows[0]["ocr"] and all("FIRST" not in r["ocr"] for r in rows)


class TestBackfill:
    def test_stored_files_are_skipped_and_bad_ones_passed(
        self, first_ingest: dict[str, FileReport], flow_settings: Settings, library: Library
    ) -> None:
        copy = library.root / "later" / "copy-of-silent.mov"
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(library.no_audio, copy)
        reports = {
            Path(r.file).name: r for r in backfill(str(library.root), settings=flow_settings)
        }
        assert reports["narrated.mp4"].status == "unchanged"
        assert reports["copy-of-silent.mov"].status == "unchanged"  # same content hash
        assert reports["truncated.mp4"].status == "failed"

    def test_glob_and_modified_since(self, flow_settings: Settings, library: Library) -> None:
        pattern = str(library.root / "**" / "*.mov")
        reports = backfill(pattern, settings=flow_settings)
        assert {Path(r.file).name for r in reports} >= {"silent.mov"}
        assert all(r.status == "unchanged" and r.file.endswith(".mov") for r in reports)
        future = datetime.now(UTC) + timedelta(days=1)
        assert backfill(pattern, modified_since=future, settings=flow_settings) == []
