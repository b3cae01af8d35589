"""Pure query logic: modality cues, the patent's query splitting, rank fusion.

Nothing here touches a model or a table, so every rule is unit-tested directly.

* :func:`analyse` finds cue phrases ("says", "on screen", "the word", colour words,
  "people") and turns them into per-modality weights plus a cleaned text for the cued
  modality (the words the user wants found, without the cue).
* :func:`split_query` cuts a query into parts on "and", "or", "but", "while", "with",
  "then", "later", "and later", "followed by", "after that", commas and semicolons, keeping
  quoted phrases whole (the claims' query subsets); "both X and Y", "either X or Y", "a
  scene where X and later Y" leave X and Y.
* :func:`reciprocal_rank_fusion` merges ranked lists; :func:`merge_parts` ranks scenes that
  match more parts of a split query first.

Example:
    >>> analyse('someone says "good morning"').weights
    {'transcript': 1.0}
    >>> split_query("a red screen with the word EXIT, then someone says hello")
    ['a red screen', 'the word EXIT', 'someone says hello']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

COLOUR_WORDS: frozenset[str] = frozenset(
    {
        "red",
        "orange",
        "yellow",
        "green",
        "blue",
        "purple",
        "violet",
        "pink",
        "brown",
        "black",
        "white",
        "grey",
        "gray",
        "cyan",
        "magenta",
        "olive",
        "navy",
        "teal",
        "maroon",
        "gold",
        "silver",
        "beige",
        "turquoise",
        "lime",
    }
)
"""Colour names a query may use; they weight the visual-tag vectors."""

# Cue phrases per modality, longest first so that "on screen" wins over "screen".
CUES: dict[str, tuple[str, ...]] = {
    "transcript": (
        "conversation about",
        "talking about",
        "talks about",
        "is saying",
        "speaks about",
        "discusses",
        "discussing",
        "explains",
        "announces",
        "answers",
        "replies",
        "asking",
        "asks",
        "asked",
        "tells",
        "we hear",
        "heard",
        "hear",
        "somebody",
        "someone",
        "narrator",
        "mentions",
        "mentioned",
        "speaking",
        "spoken",
        "saying",
        "speaks",
        "voice",
        "says",
        "said",
        "say",
    ),
    "ocr": (
        "on the screen",
        "on-screen",
        "on screen",
        "the words",
        "the word",
        "lower third",
        "lower-third",
        "title card",
        "headline",
        "caption",
        "subtitle",
        "banner",
        "label",
        "displayed",
        "printed",
        "spelled",
        "written",
        "reading",
        "reads",
        "text",
        "sign",
        "title",
    ),
    "tags": (
        "people",
        "person",
        "faces",
        "face",
        "crowd",
        "bright",
        "dark",
    ),
}

CUE_WEIGHT = 1.0
"""Rank-fusion weight of a modality list that a cue in the query asked for."""

# Longest first, so that "and later" is cut as one joint, not "and" plus a part "later".
_SPLIT_WORDS = (
    "and afterwards",
    "and after that",
    "and later",
    "and then",
    "after that",
    "followed by",
    "afterwards",
    "and also",
    "later",
    "while",
    "with",
    "then",
    "and",
    "but",
    "or",
)
_SPLIT_RE = re.compile(
    r"\s*(?:[,;]|\b(?:" + "|".join(w.replace(" ", r"\s+") for w in _SPLIT_WORDS) + r")\b)\s*",
    re.IGNORECASE,
)
# "both X and Y" / "either X or Y": the joint word before the first part is no content.
_LEADING_JOINT_RE = re.compile(r"^(?:both|either)\s+", re.IGNORECASE)
_QUOTE_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'(?!\w)")
_FILLER = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "is",
        "are",
        "was",
        "were",
        "it",
        "its",
        "this",
        "that",
        "there",
        "some",
        "someone",
        "somebody",
        "scene",
        "video",
        "shows",
        "showing",
        "where",
        "which",
        "who",
        # Joints of combined phrasings ("both X and Y", "either X or Y", "X and later Y").
        "both",
        "either",
        "later",
        "also",
    }
)


def words_of(text: str) -> list[str]:
    """The words of ``text``: runs of Unicode letters, digits and combining marks.

    Any script counts (accents, Greek, Japanese, Devanagari vowel signs), so a query with
    no ASCII letters is still searched; NFC first, so a decomposed accent stays in its word.

    Example:
        >>> words_of("Café crème, ακρόπολη & 東京タワー (red_2)")
        ['Café', 'crème', 'ακρόπολη', '東京タワー', 'red', '2']
    """
    words: list[str] = []
    current: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if unicodedata.category(ch)[0] in "LNM":
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


class EmptyQueryError(ValueError):
    """A query with no words to search for."""


def check_query(query: str) -> str:
    """``query`` stripped, or :class:`EmptyQueryError` when nothing is left.

    Example:
        >>> check_query("  red ")
        'red'
    """
    text = query.strip()
    if not words_of(text):
        raise EmptyQueryError("query is empty: give some words to search for")
    return text


@dataclass(frozen=True)
class QueryPart:
    """One query (or one part of a split query) ready to search.

    Attributes:
        text: the text as the user wrote it (encoded for the fused scene vector).
        content: the text without cue phrases or quotes (for full-text and modality search).
        weights: rank-fusion weight per cued modality; empty when no cue was found.
    """

    text: str
    content: str
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def modalities(self) -> list[str]:
        """The cued modalities, in a stable order."""
        return sorted(self.weights)


def _has_phrase(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text) is not None


def analyse(query: str) -> QueryPart:
    """Find the modality cues in ``query``.

    Example:
        >>> p = analyse("the word EXIT on screen")
        >>> p.weights, p.content
        ({'ocr': 1.0}, 'EXIT')
        >>> analyse("two people in front of a blue wall").weights
        {'tags': 1.0}
    """
    text = check_query(query)
    lower = text.lower()
    weights: dict[str, float] = {}
    content = text
    for modality, phrases in CUES.items():
        for phrase in phrases:
            if _has_phrase(lower, phrase):
                weights[modality] = CUE_WEIGHT
                # Tag cues are the content itself ("people", "dark"); the others are not.
                if modality != "tags":
                    content = re.sub(
                        r"(?<!\w)" + re.escape(phrase) + r"(?!\w)",
                        " ",
                        content,
                        flags=re.IGNORECASE,
                    )
    if any(w in COLOUR_WORDS for w in words_of(lower)):
        weights["tags"] = CUE_WEIGHT
    words = [w for w in words_of(content) if w.lower() not in _FILLER]
    cleaned = " ".join(words) or " ".join(words_of(text))
    return QueryPart(text=text, content=cleaned, weights=dict(sorted(weights.items())))


def split_query(query: str) -> list[str]:
    """The claims' query subsets: ``query`` cut on conjunctions, commas and semicolons.

    Quoted phrases are kept whole (a quote may contain "and"); parts with no content word
    left (only fillers) are dropped. A query that cannot be split comes back as one part.

    Example:
        >>> split_query('the narrator says "salt and pepper" while a green screen shows')
        ['the narrator says "salt and pepper"', 'a green screen shows']
        >>> split_query("red")
        ['red']
    """
    text = check_query(query)
    quotes: list[str] = []

    def protect(match: re.Match[str]) -> str:
        quotes.append(match.group(0))
        return f"\x00{len(quotes) - 1}\x00"

    masked = _QUOTE_RE.sub(protect, text)
    parts = []
    for piece in _SPLIT_RE.split(masked):
        restored = re.sub(r"\x00(\d+)\x00", lambda m: quotes[int(m.group(1))], piece).strip()
        restored = _LEADING_JOINT_RE.sub("", restored)
        words = [w for w in words_of(restored) if w.lower() not in _FILLER]
        if words:
            parts.append(restored)
    return parts or [text]


def fts_text(text: str) -> str:
    """``text`` reduced to plain words, safe to hand to a full-text query parser.

    Example:
        >>> fts_text('the word "EXIT:" (red)')
        'the word EXIT red'
    """
    return " ".join(words_of(text))


STOPWORDS: frozenset[str] = _FILLER | frozenset(
    {
        "and",
        "or",
        "but",
        "with",
        "for",
        "from",
        "by",
        "as",
        "be",
        "been",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "not",
        "yes",
        "so",
        "then",
        "than",
        "they",
        "he",
        "she",
        "we",
        "you",
        "i",
        "me",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "them",
        "what",
        "when",
        "how",
        "all",
        "any",
        "up",
        "out",
        "about",
        "into",
        "over",
        "can",
        "will",
        "would",
        "just",
        "very",
        "also",
        # Words every frame or tag string has ("red screen", "bright frame"): matching
        # them says nothing about which scene is meant.
        "screen",
        "frame",
        "shot",
        "clip",
        "moment",
        "part",
    }
)
"""Words that never count as a full-text match on their own (a scene sharing only "the",
"and" or "screen" with a query part does not match it)."""


def fold(word: str) -> str:
    """``word`` lower-cased with accents removed, as the full-text index stores it.

    Example:
        >>> fold("Café")
        'cafe'
    """
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def content_words(text: str) -> list[str]:
    """The folded words of ``text`` that can match on their own (no stopwords), in order.

    Example:
        >>> content_words("the word EXIT on a red screen")
        ['word', 'exit', 'red']
    """
    out: list[str] = []
    for w in words_of(text):
        f = fold(w)
        if f not in STOPWORDS and f not in out:
            out.append(f)
    return out


def edit_budget(word: str) -> int:
    """Edits a near-miss spelling of ``word`` may have: 0 up to 3 letters, 1 up to 5, else 2.

    LanceDB's own automatic fuzziness, except that 3-letter words get none: a one-letter
    change makes another word ("red", "bed"). OCR and ASR drop or swap letters in longer
    ones ("HIRNG" for "HIRING", "SOURDOH" for "SOURDOUGH").

    Example:
        >>> [edit_budget(w) for w in ("red", "hirng", "sourdoh")]
        [0, 1, 2]
    """
    return 0 if len(word) <= 3 else 1 if len(word) <= 5 else 2


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it exceeds ``limit``.

    Example:
        >>> edit_distance("hirng", "hiring"), edit_distance("red", "blue", limit=1)
        (1, 2)
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return min(prev[-1], limit + 1)


def near_match(query_word: str, words: set[str]) -> bool:
    """Whether folded ``query_word`` is in ``words`` or within its :func:`edit_budget`.

    Example:
        >>> near_match("hirng", {"hiring", "plan"}), near_match("red", {"bed"})
        (True, False)
    """
    if query_word in words:
        return True
    budget = edit_budget(query_word)
    return budget > 0 and any(
        edit_distance(query_word, w, budget) <= budget for w in words if len(w) > 3
    )


def reciprocal_rank_fusion(
    ranked: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: float = 60.0
) -> dict[str, float]:
    """Reciprocal-rank fusion: each list adds ``weight / (k + rank)`` to its items.

    Args:
        ranked: lists of item keys, best first.
        weights: one weight per list (default 1 each).
        k: the RRF damping constant (60 in Cormack et al.).

    Example:
        >>> s = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=1)
        >>> sorted(s, key=s.get, reverse=True)
        ['b', 'a', 'c']
    """
    weights = [1.0] * len(ranked) if weights is None else list(weights)
    if len(weights) != len(ranked):
        raise ValueError(f"{len(ranked)} ranked lists but {len(weights)} weights")
    scores: dict[str, float] = {}
    for items, weight in zip(ranked, weights, strict=True):
        for rank, key in enumerate(items, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return scores


@dataclass(frozen=True)
class PartMatch:
    """How one scene matched one query part."""

    score: float
    modalities: tuple[str, ...]


@dataclass(frozen=True)
class MergedHit:
    """A scene's rank after merging the parts of a split query."""

    key: str
    score: float
    matched: dict[str, tuple[str, ...]]

    @property
    def parts_matched(self) -> int:
        return len(self.matched)


def merge_parts(per_part: Mapping[str, Mapping[str, PartMatch]]) -> list[MergedHit]:
    """Rank scenes over query parts: more parts matched first, then each part's best in turn.

    Among scenes matching as many parts, a scene's place is its best rank within a part it
    matches, so the parts take turns: the first of every part, then every second, and so
    on (ties by the summed score). A user who asked for two things sees the best of each
    near the top, even when one part matches many scenes and the other one.

    Args:
        per_part: for each query part, the scenes (by key) that match it.

    Example:
        >>> hits = merge_parts({
        ...     "red": {"s1": PartMatch(0.5, ("tags",)), "s2": PartMatch(0.9, ("tags",)),
        ...             "s3": PartMatch(0.8, ("tags",))},
        ...     "exit": {"s1": PartMatch(0.4, ("ocr",))},
        ... })
        >>> [(h.key, h.parts_matched) for h in hits]
        [('s1', 2), ('s2', 1), ('s3', 1)]
        >>> hits = merge_parts({
        ...     "red": {"s2": PartMatch(0.9, ()), "s3": PartMatch(0.8, ()),
        ...             "s5": PartMatch(0.7, ())},
        ...     "exit": {"s4": PartMatch(0.3, ())},
        ... })
        >>> [h.key for h in hits]  # the parts take turns: exit's best before red's second
        ['s2', 's4', 's3', 's5']
    """
    scores: dict[str, float] = {}
    matched: dict[str, dict[str, tuple[str, ...]]] = {}
    best_rank: dict[str, int] = {}
    for part, hits in per_part.items():
        ranked = sorted(hits, key=lambda k: (-hits[k].score, k))
        for rank, key in enumerate(ranked):
            hit = hits[key]
            scores[key] = scores.get(key, 0.0) + hit.score
            matched.setdefault(key, {})[part] = hit.modalities
            best_rank[key] = min(best_rank.get(key, rank), rank)
    merged = [MergedHit(k, scores[k], matched[k]) for k in scores]
    return sorted(merged, key=lambda h: (-h.parts_matched, best_rank[h.key], -h.score, h.key))
