"""Word error rate of a transcript against a reference, after normalising both.

Normalising makes differences a listener would not hear count for nothing: case,
punctuation, apostrophes (``didn't`` = ``didnt``), hyphens, and numbers written as digits
(``230`` = ``two hundred thirty``). What remains is substitutions, deletions and insertions
over the reference's words (Levenshtein on words).

Example:
    >>> wer("Oven at 230 C, please.", "oven at two hundred thirty c please")
    0.0
    >>> round(wer("glaciers carved these deep valleys", "placious can't be deep madly"), 2)
    0.8
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["WordErrors", "normalise", "number_words", "wer", "word_errors"]

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"), (100, "hundred"))
# Spellings Whisper and people write both ways.
_SAME = {
    "ok": "okay",
    "alright": "all right",
    "mr": "mister",
    "mrs": "missus",
    "metres": "meters",
    "colour": "color",
    "centre": "center",
}


def number_words(n: int) -> str:
    """An integer in words, without "and" (``230`` -> ``two hundred thirty``).

    Example:
        >>> number_words(1404)
        'one thousand four hundred four'
    """
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{number_words(high)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


def _number(match: re.Match[str]) -> str:
    whole, _, frac = match.group(0).replace(",", "").partition(".")
    words = number_words(int(whole))
    if frac:
        words += " point " + " ".join(_ONES[int(d)] for d in frac)
    return f" {words} "


def normalise(text: str) -> list[str]:
    """The words of ``text`` in lower case, without punctuation, numbers spelled out.

    Example:
        >>> normalise("I didn't know -- it's 3.5 km, OK?")
        ['i', 'didnt', 'know', 'its', 'three', 'point', 'five', 'km', 'okay']
    """
    text = text.lower().replace("%", " percent")
    text = re.sub(r"\d[\d,]*(\.\d+)?", _number, text)
    text = re.sub(r"['’`]", "", text)
    text = re.sub(r"[^\w\s]|_", " ", text)
    words: list[str] = []
    for word in text.split():
        words.extend(_SAME.get(word, word).split())
    return words


@dataclass(frozen=True)
class WordErrors:
    """Edit counts of a hypothesis against a reference of ``n_ref`` words."""

    substitutions: int
    deletions: int
    insertions: int
    n_ref: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Word error rate (can exceed 1 with many insertions); 0 for two empty texts."""
        return self.errors / self.n_ref if self.n_ref else float(self.errors > 0)

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.n_ref + other.n_ref,
        )


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Substitutions, deletions and insertions turning ``reference`` into ``hypothesis``.

    Add the results of several recordings to pool them (a WER over all their words).

    Example:
        >>> word_errors("the cat sat", "the bat sat down")
        WordErrors(substitutions=1, deletions=0, insertions=1, n_ref=3)
    """
    ref, hyp = normalise(reference), normalise(hypothesis)
    # cost[j] = (edits, subs, dels, ins) turning ref[:i] into hyp[:j]; one row at a time.
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, r in enumerate(ref, start=1):
        cur = [(i, 0, i, 0)]
        for j, h in enumerate(hyp, start=1):
            e, s, d, n = prev[j - 1]
            diag = (e, s, d, n) if r == h else (e + 1, s + 1, d, n)
            e, s, d, n = prev[j]
            up = (e + 1, s, d + 1, n)
            e, s, d, n = cur[j - 1]
            left = (e + 1, s, d, n + 1)
            cur.append(min(diag, up, left))
        prev = cur
    _, subs, dels, ins = prev[-1]
    return WordErrors(subs, dels, ins, len(ref))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after :func:`normalise`.

    Example:
        >>> wer("Hello there", "hello")
        0.5
    """
    return word_errors(reference, hypothesis).rate
