"""What a new user waits for: a cold ``tessera search`` and a bad ``tessera ingest`` input.

Each command runs as a fresh process, exactly as typed in a shell, alternating with the
baseline ``tessera --version`` (Python start-up plus the CLI's own imports) so that the
machine's load hits both alike. Prints median wall seconds, the ratio to the baseline, and
the targets of the first-contact issue: a cold search under 10 s on an idle machine, a bad
ingest input answered in under 3 s.

Example:
    $ uv run python bench/bench_first_contact.py            # 5 rounds
    $ uv run python bench/bench_first_contact.py --rounds 9
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tasks.settings import Settings, apply_offline_env, project_dir

TARGETS_S = {"search (cold)": 10.0, "ingest (bad input)": 3.0}


def _store(folder: Path) -> str:
    """A small scene store written in-process (the thing a cold search opens)."""
    from tasks.video.encode import Encoder
    from tasks.video.records import Scene
    from tasks.video.store import SceneStore

    encoder = Encoder.load(Settings().embedding_model)
    texts = [
        ("The rocket launch is scheduled for tomorrow.", "", ["red", "red screen"]),
        ("", "EXIT GATE", ["blue", "blue screen"]),
        ("Please bring your umbrella.", "WELCOME", ["white", "white screen"]),
    ]
    scenes = [
        Scene("bench.mp4", "b0", i, 5.0 * i, 5.0 * i + 5, transcript=t, ocr=o, tags=g)
        for i, (t, o, g) in enumerate(texts)
    ]
    uri = str(folder / "lancedb")
    store = SceneStore.open(uri)
    store.write_video("bench.mp4", "b0", scenes, encoder.encode_scenes(scenes))
    store.finish_batch()
    return uri


def _time(args: list[str], env: dict[str, str], expect: int) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        env=env,
        cwd=project_dir(),
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - t0
    if done.returncode != expect:
        raise SystemExit(f"{args}: exit {done.returncode}, expected {expect}: {done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    apply_offline_env()
    tmp = Path(tempfile.mkdtemp(prefix="bench-first-"))
    try:
        uri = _store(tmp)
        env = {**os.environ, "TESSERA_DATA_DIR": str(tmp / "data")}
        commands = {
            "baseline: --version": (["--version"], 0),
            "search (cold)": (["search", "a red screen", "--db", uri, "--json"], 0),
            "ingest (bad input)": (["ingest", "README.md", "missing.mp4"], 1),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, (args, expect) in commands.items():
                times[name].append(_time(args, env, expect))
        base = statistics.median(times["baseline: --version"])
        load = os.getloadavg()[0]
        print(f"{rounds} rounds, load average {load:.1f} on {os.cpu_count()} cores")
        print(f"{'command':<22}{'median s':>10}{'best s':>9}{'x baseline':>12}{'target':>10}")
        for name, values in times.items():
            med = statistics.median(values)
            target = TARGETS_S.get(name)
            verdict = (
                "" if target is None else f"< {target:.0f} s {'ok' if med < target else 'MISSED'}"
            )
            print(f"{name:<22}{med:>10.2f}{min(values):>9.2f}{med / base:>12.1f}{verdict:>14}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
