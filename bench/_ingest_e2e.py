"""``tessera ingest FOLDER`` as a user meets it: cold end to end, steady state, peak memory.

Each configuration (a local Dask worker layout and whether models are preloaded, chosen by
``TESSERA_*`` settings in the environment) is measured twice per round, as fresh processes,
alternating with the other configurations so that the machine's load hits all alike:

* **cold**: ``python -m flows.cli ingest CORPUS --db NEW`` exactly as typed in a shell
  (interpreter start, imports, Prefect API, Dask cluster, model loads, every file, exit);
* **steady**: a child process that starts the same Prefect API and cluster, ingests two
  short warm-up clips (every worker has loaded its models and run a task), then times
  :func:`flows.ingest.ingest` on the corpus into a new store: video seconds per wall second
  once the models are loaded.

For each run the peak memory of the whole process tree (the sum of the RSS of every
process under it, sampled every 0.1 s, so shared pages count once per process; a fork that
has not exec'd yet is not counted, see :func:`tree_rss`) and its CPU
seconds (``RUSAGE_CHILDREN``: every descendant that exited) are kept; CPU seconds hardly
move with the load, wall seconds do. The load average is printed with every number.

Example:
    $ uv run python bench/bench_ingest.py --cold                 # before vs after, 1 round
    $ uv run python bench/bench_ingest.py --cold --rounds 2 --corpus data/corpus/media
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.settings import project_dir

CONFIGS: dict[str, dict[str, str]] = {
    # What `tessera ingest` did before: 2 worker processes of 1 thread, each loading every
    # model on its first file, the cluster started inside the flow after the Prefect server.
    "before (2 procs x 1 thread, lazy)": {
        "TESSERA_LOCAL_WORKERS": "2",
        "TESSERA_LOCAL_THREADS": "1",
        "TESSERA_PRELOAD_MODELS": "false",
    },
    # The defaults now: threads of the ingest process, models loaded during server start.
    "after (in-process 2 threads, preload)": {
        "TESSERA_LOCAL_WORKERS": "0",
        "TESSERA_LOCAL_THREADS": "2",
        "TESSERA_PRELOAD_MODELS": "true",
    },
}

EXTRA_CONFIGS: dict[str, dict[str, str]] = {
    # The middle ground, for --layouts: one worker process (the flow process stays light).
    "1 proc x 2 threads, preload": {
        "TESSERA_LOCAL_WORKERS": "1",
        "TESSERA_LOCAL_THREADS": "2",
        "TESSERA_PRELOAD_MODELS": "true",
    },
}

MODEL_CONFIGS: dict[str, dict[str, str]] = {
    # --models: the default layout with each speech model, to choose the default by speed.
    f"now, whisper {model}": {
        **CONFIGS["after (in-process 2 threads, preload)"],
        "TESSERA_WHISPER_MODEL": model,
    }
    for model in ("base", "tiny.en")
}


@dataclass
class Run:
    """One measured process tree."""

    wall_s: float
    peak_gib: float
    cpu_s: float
    load: float
    output: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def tree_rss(tree: list[Any]) -> int:
    """Summed RSS of ``tree`` (psutil processes), each memory counted once.

    A child with its parent's command line is a fork (or vfork) that has not exec'd yet,
    e.g. on its way to ffmpeg or tesseract: its RSS is the parent's own pages, shared, so
    it is left out; without that, every subprocess start counted the ingest process twice.
    """
    import psutil

    total = 0
    for p in tree:
        with contextlib.suppress(psutil.Error):
            parent = p.parent()
            if parent is not None and p.ppid() != 1 and p.cmdline() == parent.cmdline():
                continue
            total += p.memory_info().rss
    return int(total)


def run_tree(args: list[str], env: dict[str, str], timeout_s: float = 1800) -> Run:
    """Run ``args``; sample the tree's summed RSS; return wall, peak, CPU seconds, load."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args,
        env=env,
        cwd=project_dir(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    root = psutil.Process(proc.pid)
    peak = 0
    chunks: list[str] = []
    # Output is read on a thread so that a full pipe never stalls the child.
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    while proc.poll() is None and time.perf_counter() - t0 < timeout_s:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        peak = max(peak, tree_rss(tree))
        time.sleep(0.1)
    proc.wait(timeout=max(1.0, timeout_s - (time.perf_counter() - t0)))
    wall = time.perf_counter() - t0
    reader.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = "".join(chunks)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} exited {proc.returncode}:\n{out[-3000:]}")
    load = (load + os.getloadavg()[0]) / 2
    return Run(wall, peak / 2**30, cpu, load, out)


def steady_child(corpus: str, db: str, warmups: list[str]) -> None:
    """In a child process: warm everything up on ``warmups``, then time ``corpus``.

    Prints one JSON line: ``video_s``, ``wall_s``, ``models_s`` (warm-up included).
    """
    from flows.ingest import ingest
    from flows.ingest_cluster import warm_cluster
    from flows.runtime import prefect_api
    from tasks.settings import apply_offline_env, get_settings

    apply_offline_env()
    # The cluster is kept across the two runs whatever the layout: only the steady state
    # is measured here, so models must already be loaded on every worker.
    settings = get_settings().model_copy(update={"preload_models": True})
    t0 = time.perf_counter()
    with warm_cluster(settings), prefect_api(settings):
        warm = settings.model_copy(update={"lancedb_uri": db + "-warmup"})
        ingest(warmups, settings=warm)
        models_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        reports = ingest([corpus], settings=settings.model_copy(update={"lancedb_uri": db}))
        wall = time.perf_counter() - t1
    bad = [r.error for r in reports if r.error]
    if bad:
        raise SystemExit(f"steady run failed: {bad[:2]}")
    video = sum(r.video_s for r in reports)
    print(json.dumps({"video_s": video, "wall_s": wall, "models_s": models_s}))


def sample_corpus(folder: Path) -> Path:
    """Ten narrated sample videos, 300 s in all (a stand-in when no corpus is given)."""
    from tasks.video.samples import long_scenes, make_sample_video

    folder.mkdir(parents=True, exist_ok=True)
    for i, seconds in enumerate((18, 24, 30, 36, 42, 24, 30, 36, 30, 30)):
        scenes = long_scenes(seconds)
        make_sample_video(folder / f"clip{i:02d}.mp4", scenes[i % 5 :] + scenes[: i % 5])
    return folder


def corpus_seconds(corpus: Path) -> tuple[int, float]:
    """How many videos the corpus has and their total duration."""
    from tasks.video.discover import discover_videos
    from tasks.video.probe import probe_video

    videos = discover_videos([str(corpus)]).videos
    return len(videos), sum(probe_video(v).duration_s for v in videos)


def run_e2e(
    corpus: Path, tmp: Path, rounds: int, layouts: bool = False, models: bool = False
) -> None:
    """Measure every configuration ``rounds`` times, alternating; print the table.

    ``layouts`` adds :data:`EXTRA_CONFIGS`; ``models`` measures :data:`MODEL_CONFIGS` instead.
    """
    from tasks.video.samples import long_scenes, make_sample_video

    configs = MODEL_CONFIGS if models else {**CONFIGS, **(EXTRA_CONFIGS if layouts else {})}

    n_files, video_s = corpus_seconds(corpus)
    warmups = []
    for i in range(2):
        warmups.append(str(tmp / f"warmup{i}.mp4"))
        make_sample_video(Path(warmups[-1]), long_scenes(12)[i : i + 1])
    print(f"corpus: {corpus}, {n_files} videos, {video_s:.0f} s of video; {os.cpu_count()} cpus")
    results: dict[str, list[tuple[Run, Run]]] = {name: [] for name in configs}
    names = list(configs)
    for r in range(rounds):
        for name in names[::-1] if r % 2 == 0 else names:
            env = {**os.environ, **configs[name], "PYTHONPATH": str(project_dir())}
            db = str(tmp / f"db-{len(results[name])}-{names.index(name)}")
            cold = run_tree(
                [sys.executable, "-m", "flows.cli", "ingest", str(corpus), "--db", db + "-cold"],
                env,
            )
            if f"ingested {n_files} of {n_files}" not in cold.output:
                raise RuntimeError(f"{name}: cold ingest incomplete:\n{cold.output[-2000:]}")
            args = [sys.executable, str(Path(__file__).with_name("bench_ingest.py"))]
            steady = run_tree([*args, "--steady-child", str(corpus), db + "-steady", *warmups], env)
            steady.extra = json.loads(steady.output.strip().splitlines()[-1])
            results[name].append((cold, steady))
            print(
                f"round {r + 1} {name}: cold {cold.wall_s:.1f} s "
                f"({video_s / cold.wall_s:.1f}x, {cold.peak_gib:.2f} GiB, {cold.cpu_s:.0f} "
                f"CPU s, load {cold.load:.1f}); steady {steady.extra['wall_s']:.1f} s "
                f"({steady.extra['video_s'] / steady.extra['wall_s']:.1f}x, "
                f"{steady.peak_gib:.2f} GiB, load {steady.load:.1f})",
                flush=True,
            )
    print()
    head = f"{'configuration':<40}{'cold s':>8}{'cold x':>8}{'steady x':>10}"
    print(head + f"{'peak GiB':>10}{'cold CPU s':>12}{'load':>6}")
    for name, runs in results.items():
        cold_wall = statistics.median(c.wall_s for c, _ in runs)
        steady_x = statistics.median(s.extra["video_s"] / s.extra["wall_s"] for _, s in runs)
        peak = max(max(c.peak_gib, s.peak_gib) for c, s in runs)
        cpu = statistics.median(c.cpu_s for c, _ in runs)
        load = statistics.mean(c.load for c, _ in runs)
        print(
            f"{name:<40}{cold_wall:>8.1f}{video_s / cold_wall:>8.1f}{steady_x:>10.1f}"
            f"{peak:>10.2f}{cpu:>12.0f}{load:>6.1f}"
        )
    print("targets: cold >= 5x real time, steady >= 10x, peak process-tree memory < 3 GiB")
