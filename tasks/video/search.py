"""Hybrid scene search over the LanceDB store (the patent's retrieval and query splitting).

For one query (or query part) three candidate lists are fetched from LanceDB: a vector
search on the fused scene vectors, a native full-text search on the descriptor text, and,
for each modality the query cues ("says", "on screen", colour words), a vector search on
that modality's vectors. Every candidate is rescored locally against all its vectors, the
lists are merged by reciprocal-rank fusion (cued lists weighted in), and each result says
which modalities matched. When even the best scene's similarity stays under
``split_below``, the query is split into parts (:func:`tasks.video.query.split_query`),
each part is searched the same way, and scenes that match more parts rank first.

The pure query logic is in :mod:`tasks.video.query`, and how a row's own text supports a
part (OCR trust, word coverage, the colour gate) in :mod:`tasks.video.text_match`.

Example:
    >>> searcher = SceneSearcher.open(Settings())  # doctest: +SKIP
    >>> searcher.search("someone says rocket launch", limit=3)[0]["scene"]  # doctest: +SKIP
    0
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tasks.video.encode import MODALITIES, Encoder
from tasks.video.query import (
    COLOUR_WORDS,
    PartMatch,
    QueryPart,
    analyse,
    check_query,
    content_words,
    edit_budget,
    merge_parts,
    reciprocal_rank_fusion,
    split_query,
)
from tasks.video.store import SceneStore, scene_key, vector_column
from tasks.video.text_match import (
    _TEXT_FIELDS,
    colour_gate,
    ocr_weight,
    text_coverage,
)

if TYPE_CHECKING:
    from tasks.settings import Settings

_ROW_COLUMNS = [
    "key",
    "video",
    "scene",
    "passage",
    "start",
    "end",
    "transcript",
    "ocr",
    "ocr_confidence",
    "tags",
    "caption",
]
_VECTOR_COLUMNS = ["vector", *(vector_column(m) for m in MODALITIES)]
_COLUMNS = [*_ROW_COLUMNS, "thumbnail", *_VECTOR_COLUMNS]
# Candidate lists of one query run side by side (LanceDB releases the GIL).
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scene-search")


@dataclass(frozen=True)
class SearchConfig:
    """Tuning of the hybrid search.

    Attributes:
        candidates: rows (scenes and passages) fetched per candidate list.
        split_below: split the query when the best similarity is under this.
        match_at: a modality matches a scene at this cosine similarity (OCR's weighted by
            its confidence); only the cued modalities count when the query has cues.
        modality_match_at: per-modality exceptions to ``match_at``.
        fts_weight: rank-fusion weight of the full-text list.
        rrf_k: the reciprocal-rank-fusion constant.
        hybrid: add the full-text and cued modality lists; off = fused vectors only.
        threshold: a scene is returned only when some modality matched it (by vector or by
            text) or its relevance (best of the fused and cued similarities) reaches this,
            so a query returns fewer than ``limit`` scenes rather than padding with scenes
            that matched nothing; 0 returns every candidate.
        text_coverage: a full-text hit counts as a match when it holds at least this share
            of the part's content words (stopwords never count; OCR words count by their
            confidence), so a text-heavy scene sharing one common word matches nothing.
        fuzzy: match near-miss spellings in the full-text search (:func:`edit_budget`).
    """

    candidates: int = 40
    split_below: float = 0.5
    # Calibrated, not picked: each is the 99.5th percentile of that signal's similarity
    # between a query (or part) and the scenes that are NOT its target, over the 70
    # queries of the development corpus (bench/calibrate_search.py), rounded up to 0.05:
    # transcript 0.335, OCR 0.290, tags 0.381, fused 0.343.
    match_at: float = 0.35
    modality_match_at: Mapping[str, float] = field(
        default_factory=lambda: {"ocr": 0.3, "tags": 0.4}
    )
    fts_weight: float = 1.0
    rrf_k: float = 60.0
    hybrid: bool = True
    threshold: float = 0.35
    text_coverage: float = 0.5
    fuzzy: bool = True


def _colours(words: list[str]) -> set[str]:
    return {w for w in words if w in COLOUR_WORDS}


@dataclass
class _Candidate:
    row: dict[str, Any]
    fused: float = 0.0
    # The fused vector against the cue-stripped content: "the word X on screen" would
    # otherwise match every scene whose descriptor has an "On-screen text" label.
    fused_content: float = 0.0
    per_modality: dict[str, float] = field(default_factory=dict)
    coverage: dict[str, float] = field(default_factory=dict)
    text_score: float = 0.0


@dataclass
class _Hit:
    """One scene's evidence for one query part: its scene and passage rows collapsed."""

    row: dict[str, Any]
    relevance: float
    modalities: tuple[str, ...]
    span: tuple[float, float] | None = None  # the matching passages' range, when a passage won


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


def _first_per_scene(keys: list[str]) -> list[str]:
    """Row keys ranked best first -> scene keys at their best row's rank."""
    return list(dict.fromkeys(scene_key(k) for k in keys))


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

    def _fts(self, words: list[str]) -> list[dict[str, Any]]:
        """Full-text hits for the folded content ``words``: exact words, then near misses.

        Exact matches are boosted over fuzzy ones, so "hiring" still ranks the HIRING slide
        above a HIKING one while "hirng" finds both. The index lower-cases what it stores
        but not fuzzy terms, hence the folded words.
        """
        from lancedb import query as lq

        # Pydantic dataclasses: mypy sees every field as required, LanceDB does not.
        MatchQuery: Any = lq.MatchQuery
        Occur, BooleanQuery = lq.Occur, lq.BooleanQuery

        clauses: list[tuple[Any, Any]] = [
            (Occur.SHOULD, MatchQuery(" ".join(words), "text", boost=2.0))
        ]
        if self.config.fuzzy:
            for word in words:
                if edit_budget(word):
                    clauses.append(
                        (Occur.SHOULD, MatchQuery(word, "text", fuzziness=edit_budget(word)))
                    )
        query = clauses[0][1] if len(clauses) == 1 else BooleanQuery(clauses)
        search = self.store.table.search(query, query_type="fts")
        return _rows(search.select([*_COLUMNS, "_score"]).limit(self.config.candidates))

    def _encode(self, texts: list[str], memo: dict[str, Any]) -> list[Any]:
        """Query vectors of ``texts``, encoding only those not yet in ``memo``."""
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
        if missing:
            memo.update(zip(missing, self.encoder.encode_queries(missing), strict=True))
        return [memo[t] for t in texts]

    @staticmethod
    def _part_texts(part: QueryPart) -> list[str]:
        """What :meth:`_search_part` encodes for ``part``: text, content, colourless rest."""
        texts = [part.text] if part.content == part.text else [part.text, part.content]
        words = content_words(part.content)
        colours = _colours(words)
        rest = " ".join(w for w in words if w not in colours) if colours else ""
        return [*texts, rest] if rest else texts

    def _search_part(
        self, part: QueryPart, memo: dict[str, Any] | None = None
    ) -> tuple[list[tuple[str, float]], dict[str, _Hit]]:
        """Rank the scenes for one part: ``([(scene key, score)], {scene key: hit})``.

        Scene and passage rows compete in every candidate list; each list then keeps a
        scene at its best row's rank, so a scene's passages never push other scenes down.
        The full-text query starts before the query is encoded and the vector queries run
        side by side: LanceDB releases the GIL, so the lists cost about the slowest one.
        """
        words = content_words(part.content)
        hybrid = self.config.hybrid
        fts = (
            _POOL.submit(self._fts, words)
            if words and hybrid and self.store.has_text_index()
            else None
        )
        texts = [part.text] if part.content == part.text else [part.text, part.content]
        colours = _colours(words)
        rest = " ".join(w for w in words if w not in colours) if colours else ""
        vecs = self._encode(self._part_texts(part), {} if memo is None else memo)
        qvec, cvec = vecs[0], vecs[len(texts) - 1]
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
        for row in fts.result() if fts is not None else []:
            cand = found.setdefault(row["key"], _Candidate(row))
            cand.text_score = float(row.get("_score") or 0.0)
        if not found:
            return [], {}
        keys = list(found)
        fused_matrix = np.stack([_unit(found[k].row["vector"]) for k in keys])
        fused, fused_content = fused_matrix @ qvec, fused_matrix @ cvec
        per_mod = {
            m: np.stack([_unit(found[k].row[vector_column(m)]) for k in keys]) @ cvec
            for m in MODALITIES
        }
        # Junk OCR (low confidence) must not outrank real matches: its similarity counts
        # only as far as the text is trusted.
        per_mod["ocr"] = per_mod["ocr"] * np.array([ocr_weight(found[k].row) for k in keys])
        gates = np.array([colour_gate(found[k].row, colours) for k in keys])
        # A scene without the colour asked for can still match the rest of the description
        # ("a close-up photo of an orange flower" -> "photo") by its tags, never the colour.
        tags_rest = (
            np.stack([_unit(found[k].row[vector_column("tags")]) for k in keys]) @ vecs[-1]
            if rest
            else np.zeros(len(keys), np.float32)
        )
        per_mod["tags"] = np.where(gates > 0, per_mod["tags"], tags_rest)
        if colours and set(words) <= colours:
            # Nothing but colours asked for: the fused vector is as colour-blind as the tags'.
            fused_content = fused_content * gates
        for i, k in enumerate(keys):
            cand = found[k]
            cand.fused = float(fused[i])
            cand.fused_content = float(fused_content[i])
            cand.per_modality = {m: float(per_mod[m][i]) for m in MODALITIES}
            cand.coverage = text_coverage(cand.row, words)
        lists = [_first_per_scene([keys[i] for i in np.argsort(-fused, kind="stable")])]
        weights = [1.0]
        # A full-text hit ranks by BM25 times the share of the part it holds, and one that
        # holds too little (a common OCR word) is no hit at all.
        text_hits = sorted(
            (k for k in keys if self._text_hit(found[k])),
            key=lambda k: (-found[k].text_score * found[k].coverage["all"], k),
        )
        if text_hits:
            lists.append(_first_per_scene(text_hits))
            weights.append(self.config.fts_weight)
        for m in part.modalities if hybrid else []:
            order = np.argsort(-per_mod[m], kind="stable")
            lists.append(_first_per_scene([keys[i] for i in order]))
            weights.append(part.weights[m])
        scores = reciprocal_rank_fusion(lists, weights, k=self.config.rrf_k)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        groups: dict[str, list[_Candidate]] = {}
        for k in keys:
            groups.setdefault(scene_key(k), []).append(found[k])
        hits = {key: self._collapse(rows, part) for key, rows in groups.items()}
        return ranked, hits

    def _text_hit(self, cand: _Candidate) -> bool:
        return cand.text_score > 0 and cand.coverage.get("all", 0.0) >= self.config.text_coverage

    def _modalities(self, cand: _Candidate, part: QueryPart) -> set[str]:
        """The modalities by which ``cand`` matches ``part``, by vector or by text.

        With cues, only the cued modalities count: "the word EXIT on screen" is not matched
        by a tag string that happens to say "screen".
        """
        allowed = set(part.modalities) or set(MODALITIES)
        hits = {m for m, s in cand.per_modality.items() if m in allowed and s >= self._bar(m)}
        if self._text_hit(cand):
            hits |= {m for m in _TEXT_FIELDS if cand.coverage.get(m, 0.0) > 0}
        return hits

    def _bar(self, modality: str) -> float:
        return self.config.modality_match_at.get(modality, self.config.match_at)

    def _relevance(self, cand: _Candidate, part: QueryPart) -> float:
        cued = [cand.per_modality.get(m, 0.0) for m in part.modalities]
        return max([cand.fused_content, *cued])

    def _collapse(self, rows: list[_Candidate], part: QueryPart) -> _Hit:
        """One scene's rows -> its evidence, shown as the scene or as one of its passages.

        A passage stands for its scene when speech is what matched: its transcript is
        closer to the query than the whole scene's and than its own other descriptors, and
        it is at least as relevant as the scene. Otherwise (on-screen text, tags, or a scene
        row the candidates lack a passage of) the whole scene is the answer. The range
        returned for a passage runs over every passage of the scene whose speech matches
        the query too, so a topic told in three passages is returned whole.
        """
        mods: set[str] = set()
        for cand in rows:
            mods |= self._modalities(cand, part)
        relevance = max(self._relevance(c, part) for c in rows)
        scene = next((c for c in rows if int(c.row.get("passage", -1)) < 0), None)
        passages = [c for c in rows if int(c.row.get("passage", -1)) >= 0]
        chosen = scene
        if passages:
            best = max(passages, key=lambda c: (c.per_modality["transcript"], c.fused))
            said = best.per_modality["transcript"]
            other = max(v for m, v in best.per_modality.items() if m != "transcript")
            if scene is None or (
                said > scene.per_modality["transcript"]
                and said >= other
                and self._relevance(best, part) >= self._relevance(scene, part)
            ):
                chosen = best
        assert chosen is not None  # rows is never empty
        if chosen is scene:
            return _Hit(chosen.row, relevance, tuple(sorted(mods)))
        bar = min(self._bar("transcript"), chosen.per_modality["transcript"])
        matching = [c.row for c in passages if c.per_modality["transcript"] >= bar]
        span = (min(r["start"] for r in matching), max(r["end"] for r in matching))
        return _Hit(chosen.row, relevance, tuple(sorted(mods)), span)

    def _top_matches_all(
        self,
        ranked: list[tuple[str, float]],
        found: dict[str, _Hit],
        parts: list[str],
        memo: dict[str, Any],
    ) -> bool:
        """Whether the whole query's best scene matches every part of it on its own.

        A strong whole-query match is kept unsplit only then: "colour bars and the word
        DANGER" matches colour bars strongly, but no single scene has both, so it is split
        and the DANGER slide is found too. Scored on the row's stored vectors (one encoder
        call for all parts, no further table query).
        """
        if len(parts) < 2 or not ranked:
            return True
        row = found[ranked[0][0]].row
        analysed = [analyse(p) for p in parts]
        vecs = self._encode([p.content for p in analysed], memo)
        for part, cvec in zip(analysed, vecs, strict=True):
            cand = _Candidate(row)
            cand.fused_content = float(_unit(row["vector"]) @ cvec)
            cand.per_modality = {m: float(_unit(row[vector_column(m)]) @ cvec) for m in MODALITIES}
            words = content_words(part.content)
            cand.per_modality["ocr"] *= ocr_weight(row)
            gate = colour_gate(row, _colours(words))
            cand.per_modality["tags"] *= gate
            if _colours(words) and set(words) <= _colours(words):
                cand.fused_content *= gate
            cand.coverage = text_coverage(row, words)
            cand.text_score = 1.0  # the row holds the words: the coverage rule decides
            hit = _Hit(row, self._relevance(cand, part), tuple(self._modalities(cand, part)))
            if not self._accepts(hit):
                return False
        return True

    def _accepts(self, hit: _Hit) -> bool:
        return bool(hit.modalities) or hit.relevance >= self.config.threshold

    # -- whole query ----------------------------------------------------------------------

    def search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """The best ``limit`` scenes for ``query``, best first, as JSON-able dicts.

        A result is a scene, or the passage of a long scene that the query is about (its
        ``start``/``end`` are then the passage's and ``passage`` its index, else ``None``).

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
        parts = split_query(text)
        # One encoder call for the whole query and every part it may be split into: a
        # batch of short texts costs about one text, and a split query needed four calls.
        memo: dict[str, Any] = {}
        analysed = [whole, *(analyse(p) for p in parts)] if len(parts) > 1 else [whole]
        self._encode([t for a in analysed for t in self._part_texts(a)], memo)
        ranked, found = self._search_part(whole, memo)
        best = max((h.relevance for h in found.values()), default=0.0)
        if best >= self.config.split_below and self._top_matches_all(ranked, found, parts, memo):
            parts = [text]
        if len(parts) < 2:
            # The relevance threshold: unmatched scenes are not results, however few remain.
            kept = [(k, s) for k, s in ranked if self._accepts(found[k])]
            return [self._result(found[k], s, {text: found[k].modalities}) for k, s in kept[:limit]]
        per_part: dict[str, dict[str, PartMatch]] = {}
        rows: dict[str, _Hit] = {}
        for text_part in parts:
            part = analyse(text_part)
            part_ranked, part_found = self._search_part(part, memo)
            matches: dict[str, PartMatch] = {}
            for key, score in part_ranked:
                hit = part_found[key]
                if self._accepts(hit):
                    matches[key] = PartMatch(score, hit.modalities)
                    rows.setdefault(key, hit)
            per_part[text_part] = matches
        merged = merge_parts(per_part)
        return [self._result(rows[h.key], h.score, h.matched) for h in merged[:limit]]

    @staticmethod
    def _result(hit: _Hit, score: float, matched: dict[str, tuple[str, ...]]) -> dict[str, Any]:
        row = hit.row
        passage = int(row.get("passage", -1))
        start, end = hit.span or (row["start"], row["end"])
        return {
            "video": row["video"],
            "scene": int(row["scene"]),
            "passage": passage if passage >= 0 else None,
            "start": round(float(start), 3),
            "end": round(float(end), 3),
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
