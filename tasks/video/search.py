"""Hybrid scene search over the LanceDB store (the patent's retrieval and query splitting).

For one query (or query part) three candidate lists are fetched from LanceDB: a vector
search on the fused scene vectors, a native full-text search on the descriptor text, and,
for each modality the query cues ("says", "on screen", colour words), a vector search on
that modality's vectors. Every candidate is rescored locally against all its vectors, the
lists are merged by reciprocal-rank fusion (cued lists weighted in), and each result says
which modalities matched. When even the best scene's similarity stays under
``split_below``, the query is split into parts (:func:`tasks.video.query.split_query`),
each part is searched the same way, and scenes that match more parts rank first.

Example:
    >>> searcher = SceneSearcher.open(Settings())  # doctest: +SKIP
    >>> searcher.search("someone says rocket launch", limit=3)[0]["scene"]  # doctest: +SKIP
    0
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tasks.video.encode import MODALITIES, Encoder
from tasks.video.query import (
    PartMatch,
    QueryPart,
    analyse,
    check_query,
    fts_text,
    merge_parts,
    reciprocal_rank_fusion,
    split_query,
)
from tasks.video.store import SceneStore, vector_column

if TYPE_CHECKING:
    from tasks.settings import Settings

_ROW_COLUMNS = ["key", "video", "scene", "start", "end", "transcript", "ocr", "tags", "caption"]
_VECTOR_COLUMNS = ["vector", *(vector_column(m) for m in MODALITIES)]
_COLUMNS = [*_ROW_COLUMNS, "thumbnail", *_VECTOR_COLUMNS]
# Candidate lists of one query run side by side (LanceDB releases the GIL).
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scene-search")


@dataclass(frozen=True)
class SearchConfig:
    """Tuning of the hybrid search.

    Attributes:
        candidates: rows fetched per candidate list (at least ``limit``).
        split_below: split the query when the best similarity is under this.
        match_at: a modality (or a query part) matches a scene at this cosine similarity.
        fts_weight: rank-fusion weight of the full-text list.
        rrf_k: the reciprocal-rank-fusion constant.
        hybrid: add the full-text and cued modality lists; off = fused vectors only.
        threshold: a scene is returned only when some modality matched it or its relevance
            (best of the fused and cued similarities) reaches this, so a query returns fewer
            than ``limit`` scenes rather than padding with scenes that matched nothing;
            0 returns every candidate.
    """

    candidates: int = 30
    split_below: float = 0.5
    match_at: float = 0.3
    fts_weight: float = 1.0
    rrf_k: float = 60.0
    hybrid: bool = True
    threshold: float = 0.3


@dataclass
class _Candidate:
    row: dict[str, Any]
    fused: float = 0.0
    per_modality: dict[str, float] | None = None
    text_hit: bool = False


def _rows(query: Any) -> list[dict[str, Any]]:
    """Result rows with the vector columns as numpy arrays (not lists of Python floats)."""
    table = query.to_arrow()
    if len(table) == 0:  # no hit (e.g. no query word in any descriptor): reshape would fail
        return []
    vectors = {}
    for name in _VECTOR_COLUMNS:
        col = table.column(name).combine_chunks()
        vectors[name] = np.asarray(col.values, dtype=np.float32).reshape(len(table), -1)
    rows: list[dict[str, Any]] = table.drop_columns(_VECTOR_COLUMNS).to_pylist()
    for i, row in enumerate(rows):
        for name, matrix in vectors.items():
            row[name] = matrix[i]
    return rows


def _unit(v: Any) -> npt.NDArray[np.float32]:
    return np.asarray(v, dtype=np.float32)


class SceneSearcher:
    """Searches one scene store with one encoder; load once, query many times.

    Args:
        store: the scene store to read.
        encoder: the same sentence-transformers model the scenes were encoded with.
        config: search tuning.
    """

    def __init__(
        self, store: SceneStore, encoder: Encoder, config: SearchConfig | None = None
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.config = config or SearchConfig()
        self._indexed = store.has_vector_index()

    @classmethod
    def open(
        cls, settings: Settings, uri: str | None = None, config: SearchConfig | None = None
    ) -> SceneSearcher:
        """A searcher over ``uri`` (default ``settings.lancedb_uri``), model loaded.

        Example:
            >>> SceneSearcher.open(Settings(), "data/lancedb")  # doctest: +SKIP
        """
        store = SceneStore.open(
            uri or settings.lancedb_uri, storage_options=settings.lancedb_storage_options
        )
        return cls(store, Encoder.load(settings.embedding_model), config)

    # -- one part -------------------------------------------------------------------------

    def _ann(self, vec: Any, column: str, where: str | None) -> list[dict[str, Any]]:
        query = self.store.table.search(vec, vector_column_name=column).distance_type("cosine")
        if column == "vector" and self._indexed:
            # The IVF-PQ index is approximate: probe more lists and re-rank exactly.
            query = query.nprobes(24).refine_factor(4)
        if where:
            query = query.where(where)
        rows: list[dict[str, Any]] = (
            query.select([*_COLUMNS, "_distance"]).limit(self.config.candidates).to_list()
        )
        return rows

    def _fts(self, words: str) -> list[dict[str, Any]]:
        query = self.store.table.search(words, query_type="fts")
        return _rows(query.select([*_COLUMNS, "_score"]).limit(self.config.candidates))

    def _search_part(self, part: QueryPart) -> tuple[list[tuple[str, float]], dict[str, Any]]:
        """Rank the scenes for one part: ``([(key, score)], {key: details})``.

        The full-text query starts before the query is encoded and the vector queries run
        side by side: LanceDB releases the GIL, so the lists cost about the slowest one.
        """
        words = fts_text(part.content)
        hybrid = self.config.hybrid
        fts = (
            _POOL.submit(self._fts, words)
            if words and hybrid and self.store.has_text_index()
            else None
        )
        texts = [part.text] if part.content == part.text else [part.text, part.content]
        vecs = self.encoder.encode_queries(texts)
        qvec, cvec = vecs[0], vecs[-1]
        anns = [_POOL.submit(self._ann, qvec, "vector", None)]
        # A flat scan per cued modality is cheap on small tables; on indexed (large) ones the
        # cued modality ranks the fused and full-text candidates instead.
        for modality in part.modalities if hybrid and not self._indexed else []:
            where = f"{modality} != ''" if modality != "tags" else "array_length(tags) > 0"
            anns.append(_POOL.submit(self._ann, cvec, vector_column(modality), where))
        found: dict[str, _Candidate] = {}
        for future in anns:
            for row in future.result():
                found.setdefault(row["key"], _Candidate(row))
        text_hits: list[str] = []
        for row in fts.result() if fts is not None else []:
            found.setdefault(row["key"], _Candidate(row)).text_hit = True
            text_hits.append(row["key"])
        if not found:
            return [], {}
        keys = list(found)
        fused = np.stack([_unit(found[k].row["vector"]) for k in keys]) @ qvec
        per_mod = {
            m: np.stack([_unit(found[k].row[vector_column(m)]) for k in keys]) @ cvec
            for m in MODALITIES
        }
        for i, k in enumerate(keys):
            found[k].fused = float(fused[i])
            found[k].per_modality = {m: float(per_mod[m][i]) for m in MODALITIES}
        lists = [[keys[i] for i in np.argsort(-fused, kind="stable")]]
        weights = [1.0]
        if text_hits:
            lists.append(text_hits)
            weights.append(self.config.fts_weight)
        for m in part.modalities if self.config.hybrid else []:
            lists.append([keys[i] for i in np.argsort(-per_mod[m], kind="stable")])
            weights.append(part.weights[m])
        scores = reciprocal_rank_fusion(lists, weights, k=self.config.rrf_k)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked, found

    def _modalities(self, cand: _Candidate, part: QueryPart) -> tuple[str, ...]:
        per = cand.per_modality or {}
        hits = {m for m, s in per.items() if s >= self.config.match_at}
        if cand.text_hit:
            words = {w.lower() for w in fts_text(part.content).split()}
            for m in ("transcript", "ocr", "caption"):
                if words & {w.lower() for w in fts_text(str(cand.row.get(m) or "")).split()}:
                    hits.add(m)
        return tuple(sorted(hits))

    def _relevance(self, cand: _Candidate, part: QueryPart) -> float:
        cued = [(cand.per_modality or {}).get(m, 0.0) for m in part.modalities]
        return max([cand.fused, *cued])

    # -- whole query ----------------------------------------------------------------------

    def search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """The best ``limit`` scenes for ``query``, best first, as JSON-able dicts.

        Raises:
            EmptyQueryError: the query has no words.

        Example:
            >>> [r["scene"] for r in searcher.search("the word EXIT", limit=2)]  # doctest: +SKIP
            [1, 3]
        """
        text = check_query(query)
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if self.store.table is None or self.store.count() == 0:
            return []
        whole = analyse(text)
        ranked, found = self._search_part(whole)
        best = max((self._relevance(c, whole) for c in found.values()), default=0.0)
        parts = split_query(text) if best < self.config.split_below else [text]
        if len(parts) < 2:
            kept = [(k, s, self._modalities(found[k], whole)) for k, s in ranked]
            # The relevance threshold: unmatched scenes are not results, however few remain.
            kept = [
                (k, s, mods)
                for k, s, mods in kept
                if mods or self._relevance(found[k], whole) >= self.config.threshold
            ]
            return [self._result(found[k], s, {text: mods}) for k, s, mods in kept[:limit]]
        per_part: dict[str, dict[str, PartMatch]] = {}
        rows: dict[str, _Candidate] = {}
        for text_part in parts:
            part = analyse(text_part)
            part_ranked, part_found = self._search_part(part)
            matches: dict[str, PartMatch] = {}
            for key, score in part_ranked:
                cand = part_found[key]
                mods = self._modalities(cand, part)
                if mods or self._relevance(cand, part) >= self.config.match_at:
                    matches[key] = PartMatch(score, mods)
                    rows.setdefault(key, cand)
            per_part[text_part] = matches
        merged = merge_parts(per_part)
        return [self._result(rows[h.key], h.score, h.matched) for h in merged[:limit]]

    @staticmethod
    def _result(
        cand: _Candidate, score: float, matched: dict[str, tuple[str, ...]]
    ) -> dict[str, Any]:
        row = cand.row
        return {
            "video": row["video"],
            "scene": int(row["scene"]),
            "start": round(float(row["start"]), 3),
            "end": round(float(row["end"]), 3),
            "score": round(float(score), 6),
            "thumbnail": row.get("thumbnail"),
            "transcript": row.get("transcript") or "",
            "ocr": row.get("ocr") or "",
            "tags": list(row.get("tags") or []),
            "matched": [{"part": p, "modalities": list(m)} for p, m in matched.items()],
        }


def search_scenes(
    query: str, settings: Settings, limit: int = 10, uri: str | None = None
) -> list[dict[str, Any]]:
    """One-shot search (loads the model; use :class:`SceneSearcher` for many queries).

    Example:
        >>> search_scenes("a red screen", Settings(), limit=1)  # doctest: +SKIP
    """
    return SceneSearcher.open(settings, uri).search(query, limit)
