"""Rank fusion: merging ranked lists, and merging the parts of a split query.

* :func:`reciprocal_rank_fusion` merges ranked lists (one per modality or search kind).
* :func:`merge_parts` ranks scenes that match more parts of a split query first, the parts
  taking turns among scenes that match as many.

Example:
    >>> s = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=1)
    >>> sorted(s, key=s.get, reverse=True)
    ['b', 'a', 'c']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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
