"""Words of a query or a scene's text: tokenising, folding, stopwords, near-miss spellings.

Pure string logic shared by query analysis (:mod:`tasks.video.query`) and the full-text
matching in :mod:`tasks.video.search`.

* :func:`words_of` cuts text into words in any script; :func:`fts_text` joins them back
  into a string safe for a full-text query parser.
* :data:`FILLER_WORDS` never make a query part on their own; :data:`STOPWORDS` (fillers and
  more) never count as a full-text match on their own.
* :func:`fold`, :func:`content_words`, :func:`edit_budget`, :func:`edit_distance` and
  :func:`near_match` decide whether a scene's words match a query word, near misses
  included ("HIRNG" for "HIRING").

Example:
    >>> content_words("the word EXIT on a red screen")
    ['word', 'exit', 'red']
"""

from __future__ import annotations

import unicodedata
from collections.abc import Set as AbstractSet
from functools import lru_cache

FILLER_WORDS: frozenset[str] = frozenset(
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
"""Words that carry no content in a query part (articles, "scene", the joints of combined
phrasings); a part made only of them is dropped."""


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


def fts_text(text: str) -> str:
    """``text`` reduced to plain words, safe to hand to a full-text query parser.

    Example:
        >>> fts_text('the word "EXIT:" (red)')
        'the word EXIT red'
    """
    return " ".join(words_of(text))


STOPWORDS: frozenset[str] = FILLER_WORDS | frozenset(
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


def near_match(query_word: str, words: AbstractSet[str]) -> bool:
    """Whether folded ``query_word`` is in ``words`` or within its :func:`edit_budget`.

    Example:
        >>> near_match("hirng", {"hiring", "plan"}), near_match("red", {"bed"})
        (True, False)
    """
    if query_word in words:
        return True
    budget = edit_budget(query_word)
    n = len(query_word)
    return budget > 0 and any(
        _within(query_word, w, budget) for w in words if len(w) > 3 and abs(len(w) - n) <= budget
    )


@lru_cache(maxsize=65_536)
def _within(a: str, b: str, budget: int) -> bool:
    # Cached: search scores the same candidate words for every part and query, and the
    # pure-Python edit distance was a third of a hybrid search's time.
    return edit_distance(a, b, budget) <= budget
