"""Start, stop and watch jobs' ranks on Dask PU workers.

A job on ``k`` PUs is ``k`` Dask tasks (:func:`tasks.training.rank.run_rank`), each pinned to
one placement worker (``workers=[addr]``, no stealing) and holding its ``PU=1`` resource.
The tasks are ``fire_and_forget``: they live on the scheduler, not in the process that
launched them, so the outer iteration returns while the job keeps training. Task keys are
derived from ``(job, generation, rank)``, so any later process can find them again.

Stopping is a Dask ``Event`` per job launch; rank 0 reads it and all ranks stop together
(see :mod:`tasks.training.rank`). A worker that dies makes its peers raise within the
collective timeout; a job whose ranks vanished without reporting (for example its only
rank's worker was killed) is found by :func:`reap_lost` and queued again.

Example:
    >>> rank_keys("ns", 7, "digits", generation=2, world_size=2)
    ['tessera-train-ns-7-digits-g2-r0', 'tessera-train-ns-7-digits-g2-r1']
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasks.training.group import stop_event_name, store_namespace
from tasks.training.rank import RankContext, run_rank
from tasks.training.store import Job, JobStore

# Scheduler task states of a rank that is alive or about to start.
LIVE_TASK_STATES = ("released", "waiting", "queued", "processing", "memory")


def absolute_url(url: str) -> str:
    """Make a relative SQLite URL absolute, so ranks on workers in other folders agree."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        path = url[len(prefix) :]
        if path and path != ":memory:":
            return prefix + str(Path(path).resolve())
    return url


def checkpoint_dir(root: Path, job: Job) -> Path:
    """A job's checkpoint folder (by id, so a reused name never inherits weights)."""
    return Path(root).resolve() / f"job-{job.id:06d}"


def rank_key_prefix(namespace: str, job_id: int, name: str, generation: int) -> str:
    """Common prefix of a launch's rank keys (store namespace and id keep it unique)."""
    return f"tessera-train-{namespace}-{job_id}-{name}-g{generation}-r"


def rank_keys(
    namespace: str, job_id: int, name: str, generation: int, world_size: int
) -> list[str]:
    """Dask keys of a launch's ranks."""
    prefix = rank_key_prefix(namespace, job_id, name, generation)
    return [f"{prefix}{r}" for r in range(world_size)]


def namespace_of(store: JobStore) -> str:
    """The namespace of a store's Dask objects (keys, events, variables)."""
    return store_namespace(absolute_url(store.url))


def launch(
    client: Any,
    store: JobStore,
    job: Job,
    workers: Sequence[str],
    *,
    checkpoint_root: Path,
    timeout_s: float = 60.0,
    threads: int = 1,
    sample_every_s: float = 1.0,
    max_steps: int | None = None,
    trusted_network: bool = False,
) -> int | None:
    """Start a queued job on ``workers`` (one rank each); returns the new generation.

    Returns ``None`` (and starts nothing) if the job was no longer queued.
    """
    from distributed import fire_and_forget

    generation = store.start(job.id, job.generation, len(workers), workers)
    if generation is None:
        return None
    url = absolute_url(store.url)
    ckpt = str(checkpoint_dir(checkpoint_root, job))
    keys = rank_keys(store_namespace(url), job.id, job.name, generation, len(workers))
    for rank, (worker, key) in enumerate(zip(workers, keys, strict=True)):
        ctx = RankContext(
            job_id=job.id,
            name=job.name,
            generation=generation,
            rank=rank,
            world_size=len(workers),
            spec=job.spec,
            store_url=url,
            checkpoint_dir=ckpt,
            timeout_s=timeout_s,
            threads=threads,
            sample_every_s=sample_every_s,
            max_steps=max_steps,
            trusted_network=trusted_network,
        )
        future = client.submit(
            run_rank,
            ctx,
            key=key,
            workers=[worker],
            allow_other_workers=False,
            resources={"PU": 1},
            pure=False,
            retries=0,
        )
        fire_and_forget(future)
    return generation


def request_stop(client: Any, store: JobStore, job: Job) -> None:
    """Ask a running job's ranks to stop at the next step boundary."""
    from distributed import Event

    Event(stop_event_name(namespace_of(store), job.id, job.generation), client=client).set()


def wait_until_settled(
    store: JobStore, job_ids: Sequence[int], timeout_s: float = 120.0, poll_s: float = 0.2
) -> list[int]:
    """Wait until none of ``job_ids`` is running or stopping; returns those still busy."""
    deadline = time.monotonic() + timeout_s
    busy = list(job_ids)
    while busy:
        busy = [j for j in busy if store.get(j).state in ("running", "stopping")]
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(poll_s)
    return busy


def task_states(client: Any, keys: Sequence[str]) -> dict[str, str | None]:
    """Scheduler state of each key (``None``: the scheduler forgot it or never had it)."""

    def _states(dask_scheduler: Any, keys: Sequence[str]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for k in keys:
            ts = dask_scheduler.tasks.get(k)
            out[k] = None if ts is None else str(ts.state)
        return out

    return dict(client.run_on_scheduler(_states, keys=list(keys)))


def cancel_ranks(client: Any, store: JobStore, job: Job) -> None:
    """Drop a launch's leftover rank tasks from the scheduler (e.g. pinned to a dead worker).

    ``fire_and_forget`` tasks belong to the scheduler's ``fire-and-forget`` client, so they
    are released in its name.
    """
    prefix = rank_key_prefix(namespace_of(store), job.id, job.name, job.generation)

    def _release(dask_scheduler: Any, prefix: str) -> None:
        present = [k for k in dask_scheduler.tasks if isinstance(k, str) and k.startswith(prefix)]
        if present:
            dask_scheduler.client_releases_keys(keys=present, client="fire-and-forget")

    client.run_on_scheduler(_release, prefix=prefix)


def reap_lost(client: Any, store: JobStore) -> list[str]:
    """Queue again the running jobs whose ranks are gone; returns their names.

    A rank whose worker died waits on the scheduler with no worker (it is pinned to the
    dead one) or erred; a job whose ranks all left the scheduler while it is still marked
    running lost them without a word (rank 0 reports before it returns). Surviving peers
    normally report a loss themselves; this catches the cases where nobody could.
    """
    lost = []
    for job in store.jobs(("running", "stopping")):
        if job.pus == 0:
            continue
        states = task_states(
            client, rank_keys(namespace_of(store), job.id, job.name, job.generation, job.pus)
        )
        stuck = [k for k, s in states.items() if s in ("no-worker", "erred")]
        vanished = all(s is None for s in states.values())
        if not stuck and not vanished:
            continue
        reason = ", ".join(f"{k}={s}" for k, s in states.items() if s not in LIVE_TASK_STATES)
        if store.transition(
            job.id,
            "queued",
            expect=("running", "stopping"),
            generation=job.generation,
            pus=0,
            workers=[],
            error=f"requeued: ranks lost ({reason})",
        ):
            cancel_ranks(client, store, job)
            lost.append(job.name)
    return lost
