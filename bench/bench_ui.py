"""Search through the web API vs the CLI's warm search, side by side on one store.

Both run as real separate processes over the same LanceDB store, models loaded before
timing:

* ``cli``: ``tessera search - --json`` (stdin mode: one query per line, the model stays
  loaded), timed from writing the line to reading the answer line;
* ``api``: ``tessera ui`` under uvicorn, timed around ``GET /api/search`` with a kept-alive
  HTTP connection;
* ``in-process``: :meth:`SceneSearcher.search` in this process (the floor).

The store holds the hand-written catalogue scenes repeated under many video names (real
encoder vectors), so its size is set without ingesting hours of video.

Example:
    $ uv run --frozen python bench/bench_ui.py             # 1,200 rows, 60 queries
    $ uv run --frozen python bench/bench_ui.py --rows 12000 --queries 200
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tasks.settings import Settings, apply_offline_env

QUERIES = [
    "the word EXIT",
    "someone says the rocket launch is tomorrow",
    "a red screen",
    "pizza menu",
    "kitchen closed for cleaning",
    "two people talking",
    "bring an umbrella because of rain",
    "a bright white screen that says welcome",
    "umbrella and the word EXIT",
    "a dark blue screen",
    "someone mentions the kitchen",
    "olive screen with a menu",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_store(uri: str, rows: int, settings: Settings) -> None:
    """Write the catalogue scenes ``rows / 6`` times, as that many videos."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tasks.video.encode import Encoder
    from tasks.video.store import SceneStore
    from tests.video_search.conftest import catalogue_scenes

    encoder = Encoder.load(settings.embedding_model)
    base = catalogue_scenes()
    vectors = encoder.encode_scenes(base)
    store = SceneStore.open(uri)
    for i in range(max(1, rows // len(base))):
        scenes = catalogue_scenes(f"/videos/v{i:05d}.mp4", f"{i:08x}")
        store.write_video(scenes[0].video, f"{i:08x}", scenes, vectors)
    store.finish_batch()


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank), in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_cli(uri: str, queries: list[str]) -> list[float]:
    """Seconds per query through ``tessera search -`` (warm: the process stays up)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "search", "-", "--json", "--limit", "5", "--db", uri],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        times = []
        for i, query in enumerate(queries[:3] + queries):
            start = time.perf_counter()
            proc.stdin.write(query + "\n")
            proc.stdin.flush()
            proc.stdout.readline()
            if i >= 3:  # the first three warm up caches and the thread pool
                times.append(time.perf_counter() - start)
        return times
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def time_api(uri: str, queries: list[str]) -> list[float]:
    """Seconds per query through ``GET /api/search`` of a running ``tessera ui``."""
    import httpx

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "ui", "--port", str(port), "--db", uri],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if client.get("/api/videos").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("tessera ui did not start")
                time.sleep(0.5)
            times = []
            for i, query in enumerate(queries[:3] + queries):
                start = time.perf_counter()
                r = client.get("/api/search", params={"q": query, "limit": 5})
                r.raise_for_status()
                if i >= 3:
                    times.append(time.perf_counter() - start)
            return times
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def time_in_process(uri: str, queries: list[str], settings: Settings) -> list[float]:
    """Seconds per :meth:`SceneSearcher.search` call in this process."""
    from tasks.video.search import SceneSearcher

    searcher = SceneSearcher.open(settings, uri)
    for query in queries[:3]:
        searcher.search(query, 5)
    times = []
    for query in queries:
        start = time.perf_counter()
        searcher.search(query, 5)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Build the store, time the three paths, print p50/p90 and the API/CLI ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1200, help="scene rows in the store")
    parser.add_argument("--queries", type=int, default=60, help="timed queries per path")
    args = parser.parse_args()
    apply_offline_env()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    settings = Settings()
    queries = [QUERIES[i % len(QUERIES)] for i in range(args.queries)]
    with tempfile.TemporaryDirectory(prefix="tessera-bench-ui-") as tmp:
        uri = str(Path(tmp) / "lancedb")
        t0 = time.perf_counter()
        build_store(uri, args.rows, settings)
        print(f"store: {args.rows} rows written in {time.perf_counter() - t0:.1f} s")
        results = {
            "in-process": time_in_process(uri, queries, settings),
            "cli": time_cli(uri, queries),
            "api": time_api(uri, queries),
        }
    cli_p50 = pct(results["cli"], 0.5)
    print(f"{'path':<12}{'p50 ms':>9}{'p90 ms':>9}{'p50/cli':>9}   ({len(queries)} queries)")
    for name, times in results.items():
        p50 = pct(times, 0.5)
        print(f"{name:<12}{p50:9.1f}{pct(times, 0.9):9.1f}{p50 / cli_p50:8.2f}x")


if __name__ == "__main__":
    main()
