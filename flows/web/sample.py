"""Sample content for the web UI: the browser tests, the screenshots and the UI benchmark.

:func:`ingest_here` describes, encodes and stores videos in this process, with the same stage
functions the ingest flow runs on Dask (no Prefect server, no cluster: a test or a script
needs one small video, not the orchestration). :func:`sample_jobs` fills a job store with
a few jobs and outer iterations, as the reschedule flow would record them.

Example:
    >>> store = ingest_here([Path("clip.mp4")], Settings(), encoder)  # doctest: +SKIP
    >>> sample_jobs("sqlite:////tmp/jobs.db")  # doctest: +SKIP
    ['digits-mlp', 'digits-cnn', 'seq-transformer']
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from unittest import mock

from tasks.settings import Settings
from tasks.video.encode import Encoder
from tasks.video.ingest import describe_file, probe_file
from tasks.video.store import SceneStore


def ingest_here(paths: Sequence[Path], settings: Settings, encoder: Encoder) -> SceneStore:
    """Ingest ``paths`` into ``settings.lancedb_uri`` in this process; the store written.

    Raises:
        RuntimeError: a file failed (its one-line reason).
    """
    store = SceneStore.open(settings.lancedb_uri, storage_options=settings.lancedb_storage_options)
    for path in paths:
        work = describe_file(probe_file(str(path)), settings, frozenset(store.stored_hashes()))
        if work.status == "unchanged":
            continue
        if work.status == "failed" or work.info is None:
            raise RuntimeError(work.error or f"{path}: not ingested")
        vectors = encoder.encode_scenes(work.scenes)
        store.write_video(str(work.info.path), work.info.content_hash, work.scenes, vectors)
    store.finish_batch()
    return store


def sample_jobs(url: str, start: float | None = None) -> list[str]:
    """Three jobs and five outer iterations, a minute apart, in a job store.

    The first iteration is at ``start`` (default: six minutes ago).

    The iterations are stamped with synthetic times so that the chart shows minutes of
    scheduling without waiting for them; everything else goes through :class:`JobStore`.
    """
    from tasks.training.spec import JobSpec
    from tasks.training.store import JobStore

    first = time.time() - 360 if start is None else start
    store = JobStore(url)
    try:
        specs = [
            JobSpec(name="digits-mlp", model="mlp", epochs=20, max_pus=4),
            JobSpec(name="digits-cnn", model="cnn", epochs=10, max_pus=4),
            JobSpec(name="seq-transformer", model="transformer", epochs=8, max_pus=2),
        ]
        ids = {s.name: store.submit(s).id for s in specs}
        # iteration -> PUs per job on a 4-PU cluster: one each first, then doubling.
        plan = [
            {"digits-mlp": 1, "digits-cnn": 1},
            {"digits-mlp": 2, "digits-cnn": 2},
            {"digits-mlp": 2, "digits-cnn": 1, "seq-transformer": 1},
            {"digits-mlp": 1, "digits-cnn": 1, "seq-transformer": 2},
            {"digits-cnn": 2, "seq-transformer": 2},
        ]
        for i, pus in enumerate(plan, start=1):
            with mock.patch("tasks.training.store.time.time", return_value=first + 60 * (i - 1)):
                store.record_allocation(
                    i,
                    [(ids[name], n, [f"pu-{k}" for k in range(n)]) for name, n in pus.items()],
                    policy="doubling",
                    capacity=4,
                )

        def launch(name: str, times: int, pus: int) -> int:
            # Relaunch as the reschedule flow does: stop, back to queued, start at a new size.
            gen = 0
            for _ in range(times):
                if gen:
                    store.transition(ids[name], "stopping", expect=("running",))
                    store.transition(ids[name], "queued", expect=("stopping",))
                gen = store.start(ids[name], gen, pus, [f"pu-{k}" for k in range(pus)]) or gen
            return gen

        launch("digits-mlp", 3, 1)
        store.transition(ids["digits-mlp"], "completed", expect=("running",), pus=0, epoch=20)
        store.update_progress(ids["digits-mlp"], 3, epoch=20, position=0, metric=0.962)
        gen = launch("digits-cnn", 4, 2)
        store.update_progress(ids["digits-cnn"], gen, epoch=6, position=0, metric=0.941)
        gen = launch("seq-transformer", 2, 2)
        store.update_progress(ids["seq-transformer"], gen, epoch=3, position=0, metric=0.712)
    finally:
        store.close()
    return [s.name for s in specs]
