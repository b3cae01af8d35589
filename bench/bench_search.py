"""Search latency at 1k / 10k / 100k synthetic scene rows, next to a raw LanceDB query.

For each size one table is written through :class:`SceneStore` (synthetic descriptor text
drawn from a vocabulary, random unit vectors), then the same queries run as

* ``raw``: ``table.search(vector).limit(k)`` with a precomputed query vector (LanceDB alone),
* ``vector``: :class:`SceneSearcher` with full-text and cue lists off (model encode included),
* ``hybrid``: the full search (vector + full-text + cued modality lists + fusion).

The model is loaded before timing. Prints p50/p99 in milliseconds and the ratio to raw.

Example:
    $ uv run python bench/bench_search.py            # 1k, 10k, 100k; 60 queries each
    $ uv run python bench/bench_search.py --full     # 300 queries each, plus 200k rows
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from tasks.settings import Settings, apply_offline_env
from tasks.video.encode import MODALITIES, Encoder, SceneVectors
from tasks.video.records import Scene
from tasks.video.search import SceneSearcher, SearchConfig
from tasks.video.store import SceneStore

WORDS = [
    "rocket",
    "launch",
    "morning",
    "umbrella",
    "rain",
    "kitchen",
    "cleaning",
    "train",
    "platform",
    "museum",
    "dinosaur",
    "garden",
    "football",
    "office",
    "lights",
    "weather",
    "exit",
    "gate",
    "welcome",
    "pizza",
    "menu",
    "stadium",
    "coffee",
    "meeting",
    "budget",
    "travel",
    "airport",
    "river",
    "mountain",
    "concert",
    "guitar",
    "lecture",
    "robot",
    "engine",
]
COLOURS = ["red", "blue", "green", "white", "black", "yellow", "olive", "gray", "purple", "orange"]
QUERIES = [
    "someone says the rocket launch is tomorrow",
    "the word EXIT on screen",
    "a red screen",
    "kitchen cleaning and the word PIZZA",
    "umbrella rain",
    "two people at the airport",
]


def synthetic(n: int, dim: int, seed: int, video: str) -> tuple[list[Scene], list[SceneVectors]]:
    rng = np.random.default_rng(seed)
    scenes, vectors = [], []
    for i in range(n):
        words = rng.choice(WORDS, size=12)
        scenes.append(
            Scene(
                video=video,
                video_hash=f"{seed:08x}",
                index=i,
                start_s=5.0 * i,
                end_s=5.0 * i + 5.0,
                transcript=" ".join(words[:8]),
                ocr=" ".join(w.upper() for w in words[8:10]),
                tags=[str(rng.choice(COLOURS)), "bright"],
            )
        )
    mats = rng.standard_normal((len(MODALITIES) + 1, n, dim)).astype(np.float32)
    mats /= np.linalg.norm(mats, axis=-1, keepdims=True)
    for i in range(n):
        vectors.append(
            SceneVectors(
                fused=mats[0, i], modalities={m: mats[j + 1, i] for j, m in enumerate(MODALITIES)}
            )
        )
    return scenes, vectors


def build(uri: str, rows: int, dim: int) -> SceneStore:
    store = SceneStore.open(uri)
    chunk = 10_000
    for c in range(0, rows, chunk):
        n = min(chunk, rows - c)
        scenes, vectors = synthetic(n, dim, seed=c // chunk + 1, video=f"/synthetic/{c}.mp4")
        store.write_video(scenes[0].video, scenes[0].video_hash, scenes, vectors)
    store.finish_batch()
    return store


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="more queries and a 200k table")
    parser.add_argument("--limit", type=int, default=10)
    args = parser.parse_args()
    apply_offline_env()
    settings = Settings()
    sizes = [1_000, 10_000, 100_000] + ([200_000] if args.full else [])
    repeats = 50 if args.full else 10
    encoder = Encoder.load(settings.embedding_model)
    encoder.encode_query("warm up")
    root = Path(tempfile.mkdtemp(prefix="tessera-bench-search-"))
    print(f"rows     mode     p50 ms   p99 ms   p50/raw   ({len(QUERIES) * repeats} queries)")
    try:
        for rows in sizes:
            t0 = time.perf_counter()
            store = build(str(root / f"db{rows}"), rows, encoder.dim)
            build_s = time.perf_counter() - t0
            hybrid = SceneSearcher(store, encoder)
            vector = SceneSearcher(store, encoder, SearchConfig(hybrid=False))
            qvecs = {q: encoder.encode_query(q) for q in QUERIES}
            table = store.table
            timings: dict[str, list[float]] = {"raw": [], "vector": [], "hybrid": []}
            for q in QUERIES:  # warm caches and index readers
                hybrid.search(q, args.limit)
            for _ in range(repeats):
                for q in QUERIES:
                    t = time.perf_counter()
                    table.search(qvecs[q], vector_column_name="vector").distance_type(
                        "cosine"
                    ).limit(args.limit).to_list()
                    timings["raw"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    vector.search(q, args.limit)
                    timings["vector"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    hybrid.search(q, args.limit)
                    timings["hybrid"].append(time.perf_counter() - t)
            raw50 = pct(timings["raw"], 50)
            for mode, samples in timings.items():
                print(
                    f"{rows:<8} {mode:<8} {pct(samples, 50):7.1f}  {pct(samples, 99):7.1f}"
                    f"   {pct(samples, 50) / raw50:6.2f}x"
                )
            print(f"{rows:<8} (table written and indexed in {build_s:.1f} s)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
