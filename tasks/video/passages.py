"""Passages: sentence groups of a long scene's timed speech, indexed beside the scene.

One vector for a 25-s two-person dialogue averages every exchange in it, so a query about
one exchange loses to shorter scenes. A long scene with speech therefore also gets
passages: its words cut into sentences (end punctuation, or a pause long enough to be a
turn change), and consecutive sentences grouped until a group is long enough to carry an
exchange. Each passage has its own time range (first word to last word), so search can
return the moment a query is about instead of the whole window.

Example:
    >>> from tasks.video.records import SceneSpan
    >>> from tasks.video.speech import TimedText, words_by_scene
    >>> words = [TimedText(t, t + 0.4, w) for t, w in
    ...          [(1, "Where"), (1.5, "is"), (2, "it?"), (9, "Under"), (9.5, "the"), (10, "mat.")]]
    >>> [p.text for p in passages_for_scenes(words, [SceneSpan(0, 0.0, 25.0)], min_s=1.0)[0]]
    ['Where is it?', 'Under the mat.']
"""

from __future__ import annotations

from collections.abc import Sequence

from tasks.video.records import Passage, SceneSpan
from tasks.video.speech import TimedText, words_by_scene

__all__ = ["PASSAGE_MIN_SCENE_S", "passages_for_scenes", "sentences", "words_by_scene"]

PASSAGE_MIN_SCENE_S = 20.0
"""Scenes longer than this with speech get passages: room for two of the longest passages.

A shorter scene is one moment to a viewer (a shot, a slide, one exchange) and is returned
whole; on the development corpus, passages in 14-17-s scenes (a telephone call, a short
dialogue) ranked nothing better and returned ranges the viewer's cut does not have."""
PASSAGE_MIN_S = 4.0
"""A passage grows by whole sentences until it spans this long (a question and its answer)."""
PASSAGE_MAX_S = 10.0
"""...but never past this; a longer sentence is cut at word boundaries."""
TURN_GAP_S = 1.0
"""A silence this long ends a sentence even without punctuation (a turn change, a pause)."""
_PAD_S = 0.2
_ENDS = (".", "?", "!", "…", '."', '?"', '!"')


def sentences(words: Sequence[TimedText], turn_gap_s: float = TURN_GAP_S) -> list[list[TimedText]]:
    """``words`` cut after end punctuation and at silences of ``turn_gap_s`` or more.

    Example:
        >>> ws = [TimedText(0, 0.3, "Hi."), TimedText(0.4, 0.6, "Yes"), TimedText(3, 3.2, "ok")]
        >>> [[w.text for w in s] for s in sentences(ws)]
        [['Hi.'], ['Yes'], ['ok']]
    """
    out: list[list[TimedText]] = []
    current: list[TimedText] = []
    for word in words:
        if current and word.start_s - current[-1].end_s >= turn_gap_s:
            out.append(current)
            current = []
        current.append(word)
        if word.text.rstrip().endswith(_ENDS):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _span(words: Sequence[TimedText]) -> float:
    return words[-1].end_s - words[0].start_s


def _chunks(sentence: list[TimedText], max_s: float) -> list[list[TimedText]]:
    """A sentence longer than ``max_s`` cut at word boundaries into pieces of at most it."""
    out: list[list[TimedText]] = [[]]
    for word in sentence:
        if out[-1] and word.end_s - out[-1][0].start_s > max_s:
            out.append([])
        out[-1].append(word)
    return out


def group_sentences(
    sents: Sequence[list[TimedText]], min_s: float = PASSAGE_MIN_S, max_s: float = PASSAGE_MAX_S
) -> list[list[TimedText]]:
    """Consecutive sentences joined until a group spans ``min_s`` (never past ``max_s``).

    Example:
        >>> s = [[TimedText(0, 2, "a.")], [TimedText(2, 5, "b.")], [TimedText(5, 9, "c.")]]
        >>> [[w.text for w in g] for g in group_sentences(s, min_s=4, max_s=8)]
        [['a.', 'b.'], ['c.']]
    """
    pieces = [c for s in sents for c in _chunks(s, max_s) if c]
    groups: list[list[TimedText]] = []
    for piece in pieces:
        last = groups[-1] if groups else None
        if last and _span(last) < min_s and piece[-1].end_s - last[0].start_s <= max_s:
            last.extend(piece)
        else:
            groups.append(list(piece))
    # A short tail (a closing "Thanks.") joins the group before it when that still fits.
    if (
        len(groups) > 1
        and _span(groups[-1]) < min_s / 2
        and groups[-1][-1].end_s - groups[-2][0].start_s <= max_s
    ):
        groups[-2].extend(groups.pop())
    return groups


def passages_for_scenes(
    items: Sequence[TimedText],
    spans: Sequence[SceneSpan],
    *,
    min_scene_s: float = PASSAGE_MIN_SCENE_S,
    min_s: float = PASSAGE_MIN_S,
    max_s: float = PASSAGE_MAX_S,
) -> list[list[Passage]]:
    """The passages of each scene: none for scenes of ``min_scene_s`` or less, or one group.

    Args:
        items: timed words of the whole video, in time order (``TimedText`` per word).
        spans: the scenes, in order.
        min_scene_s: scenes this long or shorter get no passages.
        min_s: a passage grows by whole sentences until it spans this long.
        max_s: the longest passage.

    Example:
        >>> words = [TimedText(0.5 + i, 1.0 + i, f"w{i}.") for i in range(21)]
        >>> [(p.start_s, p.end_s) for p in passages_for_scenes(words, [SceneSpan(0, 0.0, 21.0)])[0]]
        [(0.3, 5.2), (5.3, 10.2), (10.3, 15.2), (15.3, 21.0)]
    """
    out: list[list[Passage]] = []
    for span, words in zip(spans, words_by_scene(items, spans), strict=True):
        if span.duration_s <= min_scene_s or not words:
            out.append([])
            continue
        groups = group_sentences(sentences(words), min_s=min_s, max_s=max_s)
        if len(groups) < 2:  # one group is the scene's own transcript: nothing to add
            out.append([])
            continue
        out.append(
            [
                Passage(
                    round(max(span.start_s, g[0].start_s - _PAD_S), 3),
                    round(min(span.end_s, g[-1].end_s + _PAD_S), 3),
                    " ".join(w.text for w in g),
                )
                for g in groups
            ]
        )
    return out
