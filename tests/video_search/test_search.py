"""Hybrid search over a hand-written catalogue (real encoder, real LanceDB)."""

from __future__ import annotations

import pytest

from tasks.video.encode import Encoder
from tasks.video.query import EmptyQueryError
from tasks.video.records import Passage, Scene
from tasks.video.search import SceneSearcher, SearchConfig
from tasks.video.store import SceneStore
from tests.video_search.conftest import searcher_over

HARD = "/videos/hard.mp4"


def hard_scenes() -> list[Scene]:
    """Scenes with the difficulties of real video: a long dialogue, junk and real OCR,
    a misheard word, a text-heavy frame of common words."""

    def scene(i: int, start: float, end: float, **kw: object) -> Scene:
        return Scene(HARD, "bb22", i, start, end, **kw)  # type: ignore[arg-type]

    return [
        scene(
            0,
            0,
            25,
            transcript=(
                "Where did you park the rental car? I left it behind the train station. "
                "Did you remember to lock the doors? Yes, and the keys are in my blue bag."
            ),
            ocr="AIRPORT DESK Rental cars",
            ocr_confidence=0.9,
            tags=["teal", "teal screen"],
            passages=[
                Passage(
                    0.3,
                    6.9,
                    "Where did you park the rental car? I left it behind the train station.",
                ),
                Passage(
                    7.1,
                    13.9,
                    "Did you remember to lock the doors? Yes, and the keys are in my blue bag.",
                ),
            ],
        ),
        scene(
            1,
            25,
            31,
            transcript="We will hire two new engineers before the end of March.",
            ocr="HIRING PLAN",
            ocr_confidence=0.93,
        ),
        scene(2, 31, 37, transcript="Moton La report down the side of the volcano."),
        # A texture read as words: only common ones, all of them unsure.
        scene(3, 37, 44, ocr="the and of to is in on it", ocr_confidence=0.35, tags=["gray"]),
        scene(4, 44, 50, ocr="EXIT", ocr_confidence=0.3, tags=["brown"]),
        scene(5, 50, 55, ocr="EXIT", ocr_confidence=0.95, tags=["green", "green screen"]),
        scene(6, 55, 60, transcript="The kitchen is closed for cleaning."),
    ]


@pytest.fixture(scope="module")
def hard(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> SceneSearcher:
    return searcher_over(tmp_path_factory.mktemp("hard"), HARD, "bb22", hard_scenes(), encoder)


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

    def test_strong_part_does_not_keep_the_query_whole(self, catalogue: SceneSearcher) -> None:
        # "a red screen" alone matches scene 0 well; no scene has both parts, so it splits.
        results = catalogue.search("a red screen and the word EXIT", limit=3)
        assert {r["scene"] for r in results[:2]} == {0, 1}
        assert [m["part"] for m in results[0]["matched"]] in (["a red screen"], ["the word EXIT"])

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
        from tests.video_search.conftest import catalogue_scenes

        store = SceneStore.open(store_uri)
        scenes = catalogue_scenes()[:1]
        store.write_video("gone.mp4", "ff00", scenes, catalogue.encoder.encode_scenes(scenes))
        store.table.delete("true")
        assert SceneSearcher(SceneStore.open(store_uri), catalogue.encoder).search("red") == []


class TestPassages:
    """A query about one exchange of a long dialogue lands on that exchange's time range."""

    @pytest.mark.parametrize(
        ("query", "passage", "span"),
        [
            ("where did you park the rental car", 0, (0.3, 6.9)),
            ("someone says the keys are in my blue bag", 1, (7.1, 13.9)),
        ],
    )
    def test_speech_query_returns_the_passage(
        self, hard: SceneSearcher, query: str, passage: int, span: tuple[float, float]
    ) -> None:
        best = hard.search(query, limit=3)[0]
        assert (best["scene"], best["passage"]) == (0, passage)
        assert (best["start"], best["end"]) == span

    def test_on_screen_query_returns_the_whole_scene(self, hard: SceneSearcher) -> None:
        best = hard.search("AIRPORT DESK on screen", limit=3)[0]
        assert (best["scene"], best["passage"], best["start"], best["end"]) == (0, None, 0, 25)

    def test_a_scene_is_returned_once(self, hard: SceneSearcher) -> None:
        results = hard.search("rental car", limit=10)
        scenes = [(r["video"], r["scene"]) for r in results]
        assert len(scenes) == len(set(scenes))


class TestOcrConfidence:
    def test_sure_text_outranks_unsure_text(self, hard: SceneSearcher) -> None:
        results = hard.search("the word EXIT", limit=3)
        assert results[0]["scene"] == 5
        assert [r["scene"] for r in results].index(5) < [r["scene"] for r in results].index(4)

    def test_common_ocr_words_do_not_match_a_part(self, hard: SceneSearcher) -> None:
        # Forced split: the text-heavy scene shares "the", "is", "on" with the parts.
        always = SceneSearcher(hard.store, hard.encoder, SearchConfig(split_below=2.0))
        results = always.search("the word HIRING on the screen and the kitchen is closed")
        assert {r["scene"] for r in results[:2]} == {1, 6}
        assert 3 not in {r["scene"] for r in results}


class TestNearMisses:
    @pytest.mark.parametrize(
        ("query", "scene"),
        [("HIRNG PLAN", 1), ("molten lava", 2), ("moltin lava down the side", 2)],
    )
    def test_misspelt_or_misheard_words_still_find_the_scene(
        self, hard: SceneSearcher, query: str, scene: int
    ) -> None:
        assert hard.search(query, limit=3)[0]["scene"] == scene


class TestNegatives:
    """Queries about nothing in the store return nothing above the relevance threshold."""

    def test_on_screen_word_returns_its_scene_only(self, catalogue: SceneSearcher) -> None:
        # Tag strings like "red screen" used to pass the threshold through "on screen".
        assert [r["scene"] for r in catalogue.search("the word EXIT on screen")] == [1]

    @pytest.mark.parametrize(
        "query",
        [
            "the word BANANA on screen",
            "a cat playing the piano",
            "stock market crash on wall street",
            "a submarine under the arctic ice",
        ],
    )
    def test_absent_things_return_nothing(self, catalogue: SceneSearcher, query: str) -> None:
        assert catalogue.search(query) == []
