"""Passages: sentence groups of a long scene's timed speech (pure, no model)."""

from __future__ import annotations

from tasks.video.passages import (
    PASSAGE_MAX_S,
    group_sentences,
    passages_for_scenes,
    sentences,
    words_by_scene,
)
from tasks.video.records import SceneSpan
from tasks.video.speech import TimedText


def said(start: float, text: str, per_word_s: float = 0.35) -> list[TimedText]:
    """Timed words of ``text`` spoken from ``start``, one word every ``per_word_s``."""
    return [
        TimedText(round(start + i * per_word_s, 3), round(start + (i + 0.3) * per_word_s, 3), w)
        for i, w in enumerate(text.split())
    ]


DIALOGUE = [
    *said(0.5, "Where did you park the rental car?"),
    *said(3.8, "I left it behind the train station."),
    *said(7.3, "Did you remember to lock the doors?"),
    *said(10.8, "Yes, and the keys are in my blue bag."),
]


class TestSentences:
    def test_cut_after_end_punctuation(self) -> None:
        cut = sentences(said(0, "One two. Three four? Five"))
        assert [[w.text for w in s] for s in cut] == [["One", "two."], ["Three", "four?"], ["Five"]]

    def test_cut_at_a_long_silence_without_punctuation(self) -> None:
        cut = sentences([*said(0, "so we went"), *said(5, "and then")])
        assert [len(s) for s in cut] == [3, 2]


class TestGrouping:
    def test_dialogue_turns_group_into_exchanges(self) -> None:
        groups = group_sentences(sentences(DIALOGUE))
        texts = [" ".join(w.text for w in g) for g in groups]
        assert texts == [
            "Where did you park the rental car? I left it behind the train station.",
            "Did you remember to lock the doors? Yes, and the keys are in my blue bag.",
        ]

    def test_a_long_sentence_is_cut_at_word_boundaries(self) -> None:
        words = said(0, " ".join(f"w{i}" for i in range(60)))  # 21 s, no punctuation
        groups = group_sentences(sentences(words))
        assert len(groups) >= 3
        assert all(g[-1].end_s - g[0].start_s <= PASSAGE_MAX_S for g in groups)
        assert [w for g in groups for w in g] == words


class TestPassagesForScenes:
    def test_long_scene_gets_timed_passages(self) -> None:
        [passages] = passages_for_scenes(DIALOGUE, [SceneSpan(0, 0.0, 25.0)])
        assert len(passages) == 2
        first, second = passages
        assert first.text.startswith("Where did you park")
        assert (first.start_s, second.start_s) == (0.3, 7.1)  # first word less a small pad
        assert first.end_s < second.start_s <= second.end_s <= 25.0

    def test_short_scene_gets_none(self) -> None:
        assert passages_for_scenes(DIALOGUE[:7], [SceneSpan(0, 0.0, 9.0)]) == [[]]

    def test_one_group_adds_nothing(self) -> None:
        spans = [SceneSpan(0, 0.0, 30.0)]
        assert passages_for_scenes(said(1, "Just one short line."), spans) == [[]]

    def test_silent_scene_gets_none(self) -> None:
        assert passages_for_scenes([], [SceneSpan(0, 0.0, 30.0)]) == [[]]

    def test_words_go_to_the_scene_they_overlap_most(self) -> None:
        spans = [SceneSpan(0, 0.0, 6.0), SceneSpan(1, 6.0, 30.0)]
        per = words_by_scene(DIALOGUE, spans)
        assert sum(len(w) for w in per) == len(DIALOGUE)
        assert per[1][0].text == "Did"
        [none, passages] = passages_for_scenes(DIALOGUE, spans)
        assert none == [] and all(p.start_s >= 6.0 for p in passages)
