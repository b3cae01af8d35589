"""How a row's own text supports a query part: OCR trust, word coverage, the colour gate.

Pure functions of one store row (a scene or passage) and the folded content words of a
query part; :class:`tasks.video.search.SceneSearcher` applies them to every candidate.

* :func:`ocr_weight`: how far a row's on-screen text is trusted (its OCR confidence).
* :func:`text_coverage`: per descriptor field, the share of the words it holds, near-miss
  spellings included (the full-text match rule).
* :func:`colour_gate`: a colour asked for must be in the row's tags as a word.

Example:
    >>> colour_gate({"tags": ["red screen"]}, {"red"})
    1.0
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tasks.video.words import fold, near_match, words_of

__all__ = ["OCR_TRUSTED", "colour_gate", "ocr_weight", "text_coverage"]

_TEXT_FIELDS = ("transcript", "ocr", "tags", "caption")


OCR_TRUSTED = 0.9
"""OCR confidence from which on-screen text is trusted fully: a clean read scores 0.9-1.0
(RapidOCR, tesseract alike), and more confidence there says nothing about relevance."""


def ocr_weight(row: dict[str, Any]) -> float:
    """How far a row's on-screen text is trusted: its OCR confidence over :data:`OCR_TRUSTED`.

    A row with text but no confidence (written before confidences were kept, or by a
    reader that gives none) is trusted fully.

    Example:
        >>> ocr_weight({"ocr": "EXIT", "ocr_confidence": 0.45}), ocr_weight({"ocr": "EXIT"})
        (0.5, 1.0)
        >>> ocr_weight({"ocr": "EXIT", "ocr_confidence": 0.95})
        1.0
    """
    conf = float(row.get("ocr_confidence") or 0.0)
    return 1.0 if conf <= 0.0 else round(min(1.0, conf / OCR_TRUSTED), 6)


def text_coverage(row: dict[str, Any], words: list[str]) -> dict[str, float]:
    """Per descriptor field, the share of ``words`` it holds (near misses included).

    OCR words count by the row's :func:`ocr_weight`; the ``"all"`` entry is the share held
    by any field (each word by its best field).

    Example:
        >>> row = {"transcript": "it will rain", "ocr": "WELCOME", "ocr_confidence": 0.45}
        >>> text_coverage(row, ["welcome", "rain"])
        {'transcript': 0.5, 'ocr': 0.25, 'all': 0.75}
    """
    if not words:
        return {"all": 0.0}
    found: dict[str, frozenset[str]] = {}
    for name in _TEXT_FIELDS:
        value = row.get(name) or ""
        text = " ".join(value) if isinstance(value, list) else str(value)
        found[name] = _folded_words(text)
    weights = {name: ocr_weight(row) if name == "ocr" else 1.0 for name in _TEXT_FIELDS}
    per = dict.fromkeys(_TEXT_FIELDS, 0.0)
    total = 0.0
    for word in words:
        best = 0.0
        for name in _TEXT_FIELDS:
            if found[name] and near_match(word, found[name]):
                per[name] += weights[name]
                best = max(best, weights[name])
        total += best
    out = {name: round(v / len(words), 6) for name, v in per.items() if v > 0}
    out["all"] = round(total / len(words), 6)
    return out


@lru_cache(maxsize=8_192)
def _folded_words(text: str) -> frozenset[str]:
    # Cached: a candidate row's fields are scored again for every part of every query.
    return frozenset(fold(w) for w in words_of(text))


def colour_gate(row: dict[str, Any], colours: set[str]) -> float:
    """1 when the row's tags name one of ``colours`` (or none are asked for), else 0.

    The embedding model puts every colour name near every other ("red screen" and "blue
    screen" are 0.6 apart), so a colour asked for must be in the tags as a word.

    Example:
        >>> colour_gate({"tags": ["dark blue", "blue screen"]}, {"red"})
        0.0
        >>> colour_gate({"tags": ["gray"]}, {"grey"}), colour_gate({"tags": []}, set())
        (1.0, 1.0)
    """
    if not colours:
        return 1.0
    tags = {fold(w) for t in row.get("tags") or [] for w in words_of(t)}
    tags |= {"grey" for t in tags if t == "gray"} | {"gray" for t in tags if t == "grey"}
    return 1.0 if colours & tags else 0.0
