"""Search through the web API vs the CLI's warm search, side by side on one store.

Both run as real separate processes over the same LanceDB store, models loaded before
timing:

* ``cli``: ``tessera search - --json`` (stdin mode: one query per line, the model stays
  loaded), timed from writing the line to reading the answer line;
* ``api``: ``tessera ui`` under uvicorn, timed around ``GET /api/search`` with a kept-alive
  HTTP connection;
* ``in-process``: :meth:`SceneSearcher.search` in this process (the floor).

The three take turns query by query, so a busy moment of the machine hits all of them.

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
from typing import Any

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


class CliPath:
    """``tessera search -`` kept running: one query per stdin line, one JSON line back."""

    def __init__(self, uri: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "search", "-", "--json", "-k", "5", "--db", uri],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )

    def __call__(self, query: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(query + "\n")
        self.proc.stdin.flush()
        if not self.proc.stdout.readline():
            raise RuntimeError("tessera search - exited")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


class ApiPath:
    """``tessera ui`` under uvicorn, asked ``GET /api/search`` on a kept-alive connection."""

    def __init__(self, uri: str) -> None:
        import httpx

        port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "ui", "--port", str(port), "--db", uri],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        deadline = time.monotonic() + 180
        while True:
            try:
                if self.client.get("/api/videos").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("tessera ui did not start")
            time.sleep(0.5)

    def __call__(self, query: str) -> None:
        self.client.get("/api/search", params={"q": query, "limit": 5}).raise_for_status()

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


class InProcessPath:
    """:meth:`SceneSearcher.search` in this process (no transport at all)."""

    def __init__(self, uri: str, settings: Settings) -> None:
        from tasks.video.search import SceneSearcher

        self.searcher = SceneSearcher.open(settings, uri)

    def __call__(self, query: str) -> None:
        self.searcher.search(query, 5)

    def close(self) -> None:
        pass


def time_paths(paths: dict[str, Any], queries: list[str]) -> dict[str, list[float]]:
    """Seconds per query per path; the paths take turns query by query, so that the
    machine's changing load falls on all of them alike. Three warm-up queries each."""
    for query in queries[:3]:
        for run in paths.values():
            run(query)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for query in queries:
        for name, run in paths.items():
            start = time.perf_counter()
            run(query)
            times[name].append(time.perf_counter() - start)
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
        paths: dict[str, Any] = {}
        try:
            # The model loads in each process first (the API's in the background: the
            # first warm-up query waits for it), then nothing but queries is timed.
            paths["in-process"] = InProcessPath(uri, settings)
            paths["cli"] = CliPath(uri)
            paths["api"] = ApiPath(uri)
            results = time_paths(paths, queries)
        finally:
            for path in paths.values():
                path.close()
    cli_p50 = pct(results["cli"], 0.5)
    print(f"{'path':<12}{'p50 ms':>9}{'p90 ms':>9}{'p50/cli':>9}   ({len(queries)} queries)")
    for name, times in results.items():
        p50 = pct(times, 0.5)
        print(f"{name:<12}{p50:9.1f}{pct(times, 0.9):9.1f}{p50 / cli_p50:8.2f}x")


if __name__ == "__main__":
    main()
