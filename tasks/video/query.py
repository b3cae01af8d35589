"""Pure query logic: modality cues and the patent's query splitting.

Nothing here touches a model or a table, so every rule is unit-tested directly.

* :func:`analyse` finds cue phrases ("says", "on screen", "the word", colour words,
  "people") and turns them into per-modality weights plus a cleaned text for the cued
  modality (the words the user wants found, without the cue).
* :func:`split_query` cuts a query into parts on "and", "or", "but", "while", "with",
  "then", "later", "and later", "followed by", "after that", commas and semicolons, keeping
  quoted phrases whole (the claims' query subsets); "both X and Y", "either X or Y", "a
  scene where X and later Y" leave X and Y.

Words, stopwords and near-miss spellings live in :mod:`tasks.video.words`, rank fusion and
part merging in :mod:`tasks.video.fusion`; both are re-exported here, where callers import
them.

Example:
    >>> analyse('someone says "good morning"').weights
    {'transcript': 1.0}
    >>> split_query("a red screen with the word EXIT, then someone says hello")
    ['a red screen', 'the word EXIT', 'someone says hello']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tasks.video.fusion import (  # re-exported: callers import them from the query module
    MergedHit,
    PartMatch,
    merge_parts,
    reciprocal_rank_fusion,
)
from tasks.video.words import (  # re-exported: callers import them from the query module
    FILLER_WORDS,
    STOPWORDS,
    content_words,
    edit_budget,
    edit_distance,
    fold,
    fts_text,
    near_match,
    words_of,
)

__all__ = [
    "COLOUR_WORDS",
    "CUES",
    "CUE_WEIGHT",
    "STOPWORDS",
    "EmptyQueryError",
    "MergedHit",
    "PartMatch",
    "QueryPart",
    "analyse",
    "check_query",
    "content_words",
    "edit_budget",
    "edit_distance",
    "fold",
    "fts_text",
    "merge_parts",
    "near_match",
    "reciprocal_rank_fusion",
    "split_query",
    "words_of",
]

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
    words = [w for w in words_of(content) if w.lower() not in FILLER_WORDS]
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
        words = [w for w in words_of(restored) if w.lower() not in FILLER_WORDS]
        if words:
            parts.append(restored)
    return parts or [text]
