"""The pure query logic: cues, splitting, rank fusion, part merging."""

from __future__ import annotations

import pytest

from tasks.video.query import (
    EmptyQueryError,
    PartMatch,
    analyse,
    check_query,
    content_words,
    edit_distance,
    fts_text,
    merge_parts,
    near_match,
    reciprocal_rank_fusion,
    split_query,
)


class TestCues:
    @pytest.mark.parametrize(
        ("query", "modality"),
        [
            ("someone says good morning", "transcript"),
            ("the narrator said it will rain", "transcript"),
            ("the word EXIT", "ocr"),
            ("EXIT on screen", "ocr"),
            ("a sign that reads PIZZA", "ocr"),
            ("a red screen", "tags"),
            ("two people talking", "tags"),
            ("a face close up", "tags"),
            ("someone asks where the car is parked", "transcript"),
            ("GRACE HOPPER caption", "ocr"),
            ("the lower third says ANNA BERG", "ocr"),
        ],
    )
    def test_cue_weights_its_modality(self, query: str, modality: str) -> None:
        assert modality in analyse(query).weights

    def test_no_cue_no_weight(self) -> None:
        assert analyse("rocket launch tomorrow").weights == {}

    def test_cue_words_are_stripped_from_content(self) -> None:
        part = analyse('someone says "good morning"')
        assert part.content == "good morning"
        assert part.text == 'someone says "good morning"'

    def test_tag_cues_stay_in_content(self) -> None:
        assert analyse("two people on a blue background").content.split()[:2] == ["two", "people"]

    def test_on_screen_beats_screen(self) -> None:
        # "screen" alone is not a cue; "on screen" is one cue, fully stripped.
        part = analyse("WELCOME on screen")
        assert part.weights == {"ocr": 1.0}
        assert part.content == "WELCOME"


class TestSplit:
    def test_splits_on_conjunctions_and_commas(self) -> None:
        assert split_query("a red screen and rocket, umbrella then kitchen while rain") == [
            "a red screen",
            "rocket",
            "umbrella",
            "kitchen",
            "rain",
        ]

    def test_with_splits(self) -> None:
        assert split_query("a blue screen with the word EXIT") == ["a blue screen", "the word EXIT"]

    def test_quoted_phrase_is_kept_whole(self) -> None:
        assert split_query('says "salt and pepper" and a green screen') == [
            'says "salt and pepper"',
            "a green screen",
        ]

    def test_split_words_inside_words_do_not_split(self) -> None:
        assert split_query("sandwich withdrawal") == ["sandwich withdrawal"]

    def test_filler_only_parts_are_dropped(self) -> None:
        assert split_query("rocket and the, with a") == ["rocket"]

    def test_unsplittable_query_is_one_part(self) -> None:
        assert split_query("kitchen") == ["kitchen"]


class TestCombinedPhrasings:
    """The phrasings users combine parts with each leave exactly the parts."""

    @pytest.mark.parametrize(
        ("query", "parts"),
        [
            (
                "a scene where the oven is hot and later someone says rest the dough",
                ["a scene where the oven is hot", "someone says rest the dough"],
            ),
            ("pizza menu, then the rocket launch", ["pizza menu", "the rocket launch"]),
            ("pizza menu and then the rocket launch", ["pizza menu", "the rocket launch"]),
            ("both a red screen and the word EXIT", ["a red screen", "the word EXIT"]),
            ("either EXIT or WELCOME", ["EXIT", "WELCOME"]),
            (
                "shows a blue screen while someone says hello",
                ["shows a blue screen", "someone says hello"],
            ),
            ("a title followed by a dialogue", ["a title", "a dialogue"]),
            ("the storm, after that the rainbow", ["the storm", "the rainbow"]),
        ],
    )
    def test_parts(self, query: str, parts: list[str]) -> None:
        assert split_query(query) == parts

    def test_or_inside_a_word_does_not_split(self) -> None:
        assert split_query("ERROR 404 on the order form") == ["ERROR 404 on the order form"]


class TestNearMisses:
    def test_content_words_drop_stopwords_and_screen_words(self) -> None:
        assert content_words("The word EXIT on a red screen and the menu") == [
            "word",
            "exit",
            "red",
            "menu",
        ]

    def test_content_words_fold_case_and_accents(self) -> None:
        assert content_words("Café CRÈME") == ["cafe", "creme"]

    @pytest.mark.parametrize(
        ("a", "b", "distance"),
        [("hirng", "hiring", 1), ("sourdoh", "sourdough", 2), ("valeys", "valleys", 1)],
    )
    def test_edit_distance(self, a: str, b: str, distance: int) -> None:
        assert edit_distance(a, b) == distance

    def test_edit_distance_stops_past_the_limit(self) -> None:
        assert edit_distance("kitchen", "umbrella", limit=2) == 3

    @pytest.mark.parametrize(
        ("word", "words", "hit"),
        [
            ("hirng", {"hiring", "plan"}, True),
            ("moltin", {"moton", "la"}, True),
            ("glaciars", {"glaciers"}, True),
            ("sourdoh", {"sourdough"}, True),
            ("red", {"bed"}, False),  # short words must match exactly
            ("hiring", {"hiking"}, True),  # one edit: a near miss, ranked below exact
            ("kitchen", {"chicken"}, False),
        ],
    )
    def test_near_match(self, word: str, words: set[str], hit: bool) -> None:
        assert near_match(word, words) is hit


class TestEmptyQuery:
    @pytest.mark.parametrize("query", ["", "   ", "\t\n", "?!", '""'])
    def test_empty_query_is_a_clear_error(self, query: str) -> None:
        with pytest.raises(EmptyQueryError, match="query is empty"):
            check_query(query)
        with pytest.raises(EmptyQueryError):
            analyse(query)
        with pytest.raises(EmptyQueryError):
            split_query(query)


class TestFusion:
    def test_item_in_both_lists_wins(self) -> None:
        scores = reciprocal_rank_fusion([["a", "b"], ["b", "c"]])
        assert max(scores, key=scores.__getitem__) == "b"

    def test_weights_scale_contributions(self) -> None:
        scores = reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0], k=0)
        assert scores == {"a": 1.0, "b": 2.0}

    def test_weights_must_match_lists(self) -> None:
        with pytest.raises(ValueError, match="2 ranked lists but 1 weights"):
            reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0])

    def test_rank_decay(self) -> None:
        scores = reciprocal_rank_fusion([["a", "b"]], k=60)
        assert scores["a"] == pytest.approx(1 / 61)
        assert scores["b"] == pytest.approx(1 / 62)


class TestMergeParts:
    def test_more_parts_beat_higher_score(self) -> None:
        hits = merge_parts(
            {
                "red": {"s1": PartMatch(0.01, ("tags",)), "s2": PartMatch(0.9, ("tags",))},
                "exit": {"s1": PartMatch(0.01, ("ocr",))},
            }
        )
        assert [h.key for h in hits] == ["s1", "s2"]
        assert hits[0].matched == {"red": ("tags",), "exit": ("ocr",)}
        assert hits[0].score == pytest.approx(0.02)

    def test_ties_broken_by_score(self) -> None:
        hits = merge_parts({"a": {"x": PartMatch(0.1, ()), "y": PartMatch(0.2, ())}})
        assert [h.key for h in hits] == ["y", "x"]

    def test_parts_take_turns(self) -> None:
        # One part matches many scenes, the other one: its scene comes second, not last.
        many = {f"m{i}": PartMatch(0.9 - i / 10, ("tags",)) for i in range(4)}
        hits = merge_parts({"colour bars": many, "DANGER": {"d": PartMatch(0.05, ("ocr",))}})
        assert [h.key for h in hits][:3] == ["m0", "d", "m1"]

    def test_no_parts_no_hits(self) -> None:
        assert merge_parts({}) == []


class TestFtsText:
    def test_punctuation_is_removed(self) -> None:
        assert fts_text('"EXIT": gate (AND) OR') == "EXIT gate AND OR"
