"""Calibrate the search's match thresholds on the development corpus (not by hand).

For every query of ``data/corpus/queries.toml`` (each part of a split query on its own),
every candidate scene is scored by each signal the search thresholds: the similarity of
the query's content to each modality's vector (only the cued modalities when the query
has cues) and to the fused scene vector. Scenes that are not a target of the query form
the null distribution; a threshold is its 99.5th percentile rounded up to 0.05, so a
query about something absent matches a scene by chance about once in 200 pairs. The
script prints each signal's null percentiles, the suggested threshold and the share of
target pairs that reach it; ``SearchConfig``'s defaults are these numbers.

Example:
    $ uv run --frozen python bench/bench_retrieval.py --db /tmp/corpus-db --no-steady
    $ uv run --frozen python bench/calibrate_search.py --db /tmp/corpus-db
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from tasks.settings import Settings, apply_offline_env
from tasks.video.corpus import load_queries
from tasks.video.corpus_metrics import _hit
from tasks.video.encode import MODALITIES
from tasks.video.query import analyse, split_query
from tasks.video.search import SceneSearcher, SearchConfig

PERCENTILE = 99.5


def signal_samples(searcher: SceneSearcher) -> dict[str, tuple[list[float], list[float]]]:
    """``{signal: (target similarities, non-target similarities)}`` over every query part."""
    captured: list[tuple[list[Any], Any]] = []
    collapse = searcher._collapse

    def keep(rows: list[Any], part: Any) -> Any:
        captured.append((rows, part))
        return collapse(rows, part)

    searcher._collapse = keep  # type: ignore[method-assign]
    out: dict[str, tuple[list[float], list[float]]] = {s: ([], []) for s in [*MODALITIES, "fused"]}
    for query in load_queries():
        texts = split_query(query["text"]) if query["kind"] == "split" else [query["text"]]
        for text in texts:
            captured.clear()
            part = analyse(text)
            searcher._search_part(part)
            allowed = set(part.modalities) or set(MODALITIES)
            for rows, _ in captured:
                span = (
                    Path(rows[0].row["video"]).name,
                    min(c.row["start"] for c in rows),
                    max(c.row["end"] for c in rows),
                )
                side = 0 if any(_hit(span, t) for t in query["targets"]) else 1
                for m in allowed:
                    out[m][side].append(max(c.per_modality[m] for c in rows))
                out["fused"][side].append(max(c.fused_content for c in rows))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the ingested corpus store")
    args = parser.parse_args()
    apply_offline_env()
    # Every scene a candidate, nothing cut by a threshold: the whole null distribution.
    config = SearchConfig(candidates=1000, threshold=0.0)
    searcher = SceneSearcher.open(Settings(), str(args.db), config)
    print(f"{'signal':<11}{'pairs':>7}{'p95':>7}{'p99':>7}{'p99.5':>7}{'max':>7}  threshold")
    for signal, (pos, neg) in signal_samples(searcher).items():
        if not neg or max(neg) <= 0:
            print(f"{signal:<11}{len(neg):>7}  (no data)")
            continue
        null = np.asarray(neg)
        cut = float(np.percentile(null, PERCENTILE))
        threshold = math.ceil(cut * 20 - 1e-9) / 20
        reach = float(np.mean(np.asarray(pos) >= threshold)) if pos else float("nan")
        p95, p99, top = np.percentile(null, [95, 99, 100])
        print(
            f"{signal:<11}{len(neg):>7}{p95:>7.3f}{p99:>7.3f}{cut:>7.3f}{top:>7.3f}"
            f"  {threshold:.2f} (targets reaching it by this signal alone: {reach:.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
