"""Hybrid search over a hand-written catalogue (real encoder, real LanceDB)."""

from __future__ import annotations

import pytest

from tasks.video.query import EmptyQueryError
from tasks.video.search import SceneSearcher, SearchConfig

FIELDS = {"video", "scene", "start", "end", "score", "thumbnail", "transcript", "ocr", "tags"}


def top(searcher: SceneSearcher, query: str) -> int:
    return int(searcher.search(query, limit=3)[0]["scene"])


class TestModalities:
    @pytest.mark.parametrize(
        ("query", "scene"),
        [
            ("someone says the rocket launch is tomorrow", 0),
            ("it will rain", 2),
            ("kitchen closed for cleaning", 4),
            ("the word EXIT on screen", 1),
            ("pizza menu", 3),
            ("a sign that reads WELCOME", 2),
            ("a red screen", 0),
            ("a blue screen", 1),
            ("olive", 3),
            ("two people", 4),
        ],
    )
    def test_right_scene_first(self, catalogue: SceneSearcher, query: str, scene: int) -> None:
        assert top(catalogue, query) == scene

    def test_result_fields(self, catalogue: SceneSearcher) -> None:
        result = catalogue.search("the word EXIT", limit=1)[0]
        assert set(result) >= FIELDS
        assert (result["start"], result["end"]) == (5.0, 10.0)
        assert result["matched"][0]["part"] == "the word EXIT"
        assert "ocr" in result["matched"][0]["modalities"]

    def test_limit(self, catalogue: SceneSearcher) -> None:
        assert len(catalogue.search("screen", limit=2)) == 2


class TestSplitting:
    def test_split_query_ranks_scene_matching_both_parts_first(
        self, catalogue: SceneSearcher
    ) -> None:
        # Force the split: the white scene has the umbrella speech and the WELCOME text, the
        # others at most one of them.
        always = SceneSearcher(catalogue.store, catalogue.encoder, SearchConfig(split_below=2.0))
        results = always.search("umbrella and the word welcome", limit=3)
        assert results[0]["scene"] == 2
        assert [m["part"] for m in results[0]["matched"]] == ["umbrella", "the word welcome"]
        assert "ocr" in results[0]["matched"][1]["modalities"]
        assert all(len(r["matched"]) < 2 for r in results[1:])

    def test_parts_matching_different_scenes_are_all_returned(
        self, catalogue: SceneSearcher
    ) -> None:
        results = catalogue.search("pizza menu, then the rocket launch", limit=4)
        assert {r["scene"] for r in results[:2]} == {0, 3}
        assert all(len(r["matched"]) == 1 for r in results[:2])

    def test_strong_whole_query_is_not_split(self, catalogue: SceneSearcher) -> None:
        results = catalogue.search("the rocket launch is scheduled for tomorrow", limit=1)
        assert [m["part"] for m in results[0]["matched"]] == [
            "the rocket launch is scheduled for tomorrow"
        ]


class TestBadQueries:
    @pytest.mark.parametrize("query", ["", "   ", "!!"])
    def test_empty_query(self, catalogue: SceneSearcher, query: str) -> None:
        with pytest.raises(EmptyQueryError, match="query is empty"):
            catalogue.search(query)

    def test_bad_limit(self, catalogue: SceneSearcher) -> None:
        with pytest.raises(ValueError, match="limit must be at least 1"):
            catalogue.search("red", limit=0)

    def test_empty_store_returns_nothing(self, store_uri: str, catalogue: SceneSearcher) -> None:
        from tasks.video.store import SceneStore

        assert SceneSearcher(SceneStore.open(store_uri), catalogue.encoder).search("red") == []


class TestEmptyCandidateLists:
    """Well-formed queries whose candidate lists come back empty answer, never crash."""

    def test_query_without_full_text_hit(self, catalogue: SceneSearcher) -> None:
        from tasks.video.query import fts_text

        query = "volcanic lava glaciers"  # no word of it in any descriptor
        assert catalogue._fts(fts_text(query)) == []
        results = catalogue.search(query, limit=3)
        assert isinstance(results, list)
        assert all(set(r) >= FIELDS for r in results)

    def test_split_query_whose_parts_have_no_full_text_hit(self, catalogue: SceneSearcher) -> None:
        always = SceneSearcher(catalogue.store, catalogue.encoder, SearchConfig(split_below=2.0))
        assert isinstance(always.search("volcanic lava, then frozen glaciers", limit=3), list)

    def test_no_vector_hit_above_threshold(self, catalogue: SceneSearcher) -> None:
        strict = SceneSearcher(
            catalogue.store, catalogue.encoder, SearchConfig(threshold=1.01, match_at=1.01)
        )
        assert strict.search("volcanic lava glaciers", limit=3) == []

    def test_table_emptied_by_deletes(self, store_uri: str, catalogue: SceneSearcher) -> None:
        from tasks.video.store import SceneStore
        from tests.video_search.conftest import catalogue_scenes

        store = SceneStore.open(store_uri)
        scenes = catalogue_scenes()[:1]
        store.write_video("gone.mp4", "ff00", scenes, catalogue.encoder.encode_scenes(scenes))
        store.table.delete("true")
        assert SceneSearcher(SceneStore.open(store_uri), catalogue.encoder).search("red") == []
