"""The outer loop of the nested scheduler: one Prefect flow run per outer iteration.

Design (the claims' nested loop):

* The **inner loop** is each job's training: ``k`` ranks on ``k`` Dask PU workers, launched
  ``fire_and_forget`` so they live on the Dask scheduler. Ranks write their progress, state
  changes and checkpoints into the job store and checkpoint folder themselves.
* The **outer loop** is this flow, run every ``reschedule_interval_s`` (a deployment with an
  interval schedule and a concurrency limit of one) or once by ``tessera reschedule``. Each
  run is stateless: it reads the store, decides, acts, records and returns within seconds
  while the jobs keep training. Nothing lives in the flow process between runs.

One iteration: requeue jobs whose ranks were lost -> refit each job's speed function and
remaining epochs from its samples -> run the policy (the doubling heuristic by default) over
running and queued jobs -> stop only the jobs whose PU count changed (they checkpoint and
return to the queue) -> place and launch new and changed jobs (unchanged jobs keep their
workers) -> record the allocation -> publish artifacts (allocation table, per-job progress,
a markdown summary).

Example:
    $ tessera reschedule            # one iteration against the recorded cluster
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE

from flows.runtime import run_settings, settings_for_runs
from tasks.settings import Settings
from tasks.training import launcher
from tasks.training.cluster import ClusterError, connect, cores_per_node, pu_workers
from tasks.training.estimate import sched_jobs
from tasks.training.store import Job, JobStore

# These tasks talk to the Dask scheduler and the job store, whose faults can pass. Repeating
# them is safe: every state change is conditional on the job's current state and launch.
SERVICE_RETRIES: dict[str, Any] = {"retries": 2, "retry_delay_seconds": [2, 10]}


def _host(address: str) -> str:
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


def decide(
    jobs: list[Job],
    store: JobStore,
    policy_name: str,
    workers: list[str],
    cores_per_node: int | None = None,
) -> dict[str, int]:
    """PUs per job from the policy, clamped to each job's range and to the capacity.

    ``cores_per_node``: cores CPU PU workers share per host (``None`` for GPU PUs); the
    speed functions then predict the slowdown of ranks that outnumber the cores.

    Raises:
        ValueError: the policy returned more PUs than exist (a policy bug; nothing is acted on).
    """
    from tasks.sched.registry import get_policy

    per_host: dict[str, int] = defaultdict(int)
    for w in workers:
        per_host[_host(w)] += 1
    pus_per_node = max(per_host.values(), default=1)
    views = sched_jobs(jobs, [store.samples(j.id) for j in jobs], pus_per_node, cores_per_node)
    allocation = get_policy(policy_name).allocate(views, len(workers))
    counts: dict[str, int] = {}
    for job in jobs:
        pus = allocation[job.name].pus if job.name in allocation else 0
        counts[job.name] = min(pus, job.spec.max_pus) if pus >= job.spec.min_pus else 0
    if sum(counts.values()) > len(workers):
        raise ValueError(
            f"policy {policy_name!r} allocated {sum(counts.values())} PUs but only "
            f"{len(workers)} exist"
        )
    return counts


def place_workers(
    counts: dict[str, int], running: dict[str, tuple[str, ...]], workers: list[str]
) -> dict[str, tuple[str, ...]]:
    """Worker addresses per job: unchanged running jobs keep theirs, others are packed.

    Example:
        >>> place_workers({"a": 1, "b": 2}, {"a": ("tcp://h:1",)},
        ...               ["tcp://h:1", "tcp://h:2", "tcp://h:3"])
        {'a': ('tcp://h:1',), 'b': ('tcp://h:2', 'tcp://h:3')}
    """
    from tasks.sched.placement import place

    free: dict[str, list[str]] = defaultdict(list)
    for w in workers:
        free[_host(w)].append(w)
    nodes = {h: len(ws) for h, ws in free.items()}
    previous = {
        name: tuple(_host(w) for w in ws)
        for name, ws in running.items()
        if ws and all(w in workers for w in ws)
    }
    hosts = place(counts, nodes, previous, rule="pack")
    result: dict[str, tuple[str, ...]] = {}
    for name, kept in running.items():
        if name in hosts and previous.get(name) == hosts[name]:
            result[name] = kept
            for w in kept:
                free[_host(w)].remove(w)
    for name, assigned in hosts.items():
        if name not in result:
            result[name] = tuple(free[h].pop(0) for h in assigned)
    return result


@task(name="requeue-lost-jobs", cache_policy=NO_CACHE, **SERVICE_RETRIES)
def requeue_lost(client: Any, store: JobStore) -> list[str]:
    """Queue again running jobs whose ranks vanished (dead workers)."""
    lost = launcher.reap_lost(client, store)
    if lost:
        get_run_logger().warning("requeued jobs with lost ranks: %s", ", ".join(lost))
    return lost


@task(name="stop-changed-jobs", cache_policy=NO_CACHE, **SERVICE_RETRIES)
def stop_changed(client: Any, store: JobStore, jobs: list[Job], timeout_s: float) -> list[str]:
    """Ask jobs to stop at a step boundary and wait until they checkpointed; returns the stuck."""
    for job in jobs:
        store.transition(job.id, "stopping", expect=("running",), generation=job.generation)
        launcher.request_stop(client, store, job)
    busy = launcher.wait_until_settled(store, [j.id for j in jobs], timeout_s)
    return [store.get(j).name for j in busy]


@task(name="launch-jobs", cache_policy=NO_CACHE, **SERVICE_RETRIES)
def launch_jobs(
    client: Any,
    store: JobStore,
    jobs: list[Job],
    placement: dict[str, tuple[str, ...]],
    settings: Settings,
    rank_timeout_s: float,
) -> list[str]:
    """Start the given queued jobs on their placed workers."""
    launched = []
    for job in jobs:
        # A previous launch pinned to a dead worker may still wait on the scheduler.
        if job.generation:
            launcher.cancel_ranks(client, store, job)
        generation = launcher.launch(
            client,
            store,
            job,
            placement[job.name],
            checkpoint_root=settings.checkpoint_root,
            timeout_s=rank_timeout_s,
            trusted_network=settings.trusted_network,
        )
        if generation is not None:
            launched.append(job.name)
    return launched


def _publish(store: JobStore, iteration: int, rows: list[dict[str, Any]], summary: str) -> None:
    create_table_artifact(
        key="training-allocation", table=rows, description=f"PU allocation, iteration {iteration}"
    )
    progress = []
    for job in store.jobs():
        progress.append(
            {
                "job": job.name,
                "state": job.state,
                "pus": job.pus,
                "epoch": f"{job.epoch}/{job.spec.epochs}",
                "metric": "" if job.metric is None else f"{job.metric:.4f}",
                "pu_s": f"{job.attained_pu_s:.1f}",
                "error": job.error or "",
            }
        )
    create_table_artifact(key="training-progress", table=progress, description="Per-job progress")
    for job in store.jobs(("queued", "running", "stopping")):
        create_progress_artifact(
            progress=min(100.0, 100.0 * job.epoch / max(1, job.spec.epochs)),
            key=f"job-{_artifact_key(job.name)}",
            description=f"{job.name}: epoch {job.epoch} of {job.spec.epochs}, {job.pus} PUs",
        )
    create_markdown_artifact(key="training-summary", markdown=summary + _chart(store))


def _artifact_key(name: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "job"


def _chart(store: JobStore) -> str:
    """The PU allocation over time as an inline SVG image in markdown (no file, no URL)."""
    from flows.web.chart import allocation_svg

    rows = [
        {"iteration": a.iteration, "at": a.at, "job": a.job, "pus": a.pus, "capacity": a.capacity}
        for a in store.allocations()
    ]
    svg = base64.b64encode(allocation_svg(rows).encode()).decode()
    return f"\n#### PU allocation over time\n\n![PU allocation](data:image/svg+xml;base64,{svg})\n"


NOTHING_SCHEDULED: dict[str, Any] = {
    "iteration": None,
    "allocation": {},
    "placement": {},
    "stopped": [],
    "launched": [],
    "lost": [],
    "capacity": 0,
}


def reschedule(settings: Settings | None = None, **parameters: Any) -> dict[str, Any]:
    """Run one outer iteration (:func:`reschedule_flow`) with these settings.

    Args:
        settings: where the job store, checkpoints and cluster are (never a flow parameter:
            they can hold credentials); the process's own if omitted.
        parameters: the flow's parameters (``policy``, ``stop_timeout_s``, ``rank_timeout_s``).

    Example:
        >>> reschedule(Settings(), policy="doubling")["allocation"]  # doctest: +SKIP
        {'digits-mlp': 2}
    """
    with settings_for_runs(settings):
        return reschedule_flow(**parameters)


@flow(name="reschedule", log_prints=False)
def reschedule_flow(
    policy: str = "doubling-online",
    stop_timeout_s: float = 120.0,
    rank_timeout_s: float = 60.0,
) -> dict[str, Any]:
    """One outer iteration: refit, decide, stop the changed jobs, launch, record.

    Settings come from :func:`flows.runtime.run_settings`. On a host with no training
    cluster the run completes with "no cluster: nothing to schedule".

    Args:
        policy: a policy name from :mod:`tasks.sched.registry` (the doubling heuristic).
        stop_timeout_s: how long to wait for stopped jobs to checkpoint.
        rank_timeout_s: rendezvous and collective timeout given to the ranks; bounds how long
            ranks wait on a dead peer.

    Returns:
        ``iteration``, ``allocation`` (job -> PUs), ``placement``, ``stopped``, ``launched``,
        ``lost`` and ``capacity``.
    """
    settings = run_settings()
    log = get_run_logger()
    try:
        client = connect(settings)
    except ClusterError as exc:
        log.info("no cluster: nothing to schedule (%s)", exc)
        create_markdown_artifact(
            key="training-summary", markdown=f"### No cluster: nothing to schedule\n\n{exc}\n"
        )
        return dict(NOTHING_SCHEDULED)
    store = JobStore(settings.job_store_url)
    try:
        lost = requeue_lost(client, store)
        workers = pu_workers(client)
        # A stop left over from an interrupted iteration must finish before deciding.
        stopping = store.jobs(("stopping",))
        if stopping:
            launcher.wait_until_settled(store, [j.id for j in stopping], stop_timeout_s)
        jobs = store.jobs(("queued", "running"))
        iteration = store.next_iteration()
        counts = (
            decide(jobs, store, policy, workers, cores_per_node(client)) if jobs and workers else {}
        )
        changed = [j for j in jobs if j.state == "running" and counts.get(j.name, 0) != j.pus]
        stuck = stop_changed(client, store, changed, stop_timeout_s) if changed else []
        if stuck:
            log.warning("jobs did not stop in %.0f s, left running: %s", stop_timeout_s, stuck)
        now = {j.name: j for j in store.jobs(("queued", "running"))}
        running = {n: j.workers for n, j in now.items() if j.state == "running"}
        for name in stuck:  # still holding their workers: keep them as they are
            if name in now:
                counts[name] = now[name].pus
        counts = {n: c for n, c in counts.items() if n in now}
        if sum(counts.values()) > len(workers):
            # Stuck jobs hold PUs the policy gave away: drop the new launches that no
            # longer fit (they wait for the next iteration).
            for name in sorted(counts, key=lambda n: now[n].state == "running"):
                if sum(counts.values()) <= len(workers):
                    break
                if now[name].state == "queued":
                    counts[name] = 0
        placement = place_workers(counts, running, workers)
        to_launch = [j for n, j in now.items() if j.state == "queued" and counts.get(n, 0) > 0]
        launched = launch_jobs(client, store, to_launch, placement, settings, rank_timeout_s)
        store.record_allocation(
            iteration,
            [(now[n].id, c, placement.get(n, ())) for n, c in counts.items()],
            policy=policy,
            capacity=len(workers),
        )
        rows = [
            {
                "job": n,
                "pus": c,
                "workers": ", ".join(placement.get(n, ())),
                "action": "launched"
                if n in launched
                else ("kept" if c and now[n].state == "running" else "waiting"),
            }
            for n, c in counts.items()
        ]
        summary = (
            f"### Outer iteration {iteration}\n\n"
            f"- policy: `{policy}`, capacity: {len(workers)} PUs, "
            f"allocated: {sum(counts.values())}\n"
            f"- stopped (allocation changed): {', '.join(j.name for j in changed) or 'none'}\n"
            f"- launched: {', '.join(launched) or 'none'}\n"
            f"- requeued after lost ranks: {', '.join(lost) or 'none'}\n"
        )
        _publish(store, iteration, rows, summary)
        log.info(
            "iteration %d: %s", iteration, ", ".join(f"{n}={c}" for n, c in counts.items()) or "-"
        )
        return {
            "iteration": iteration,
            "allocation": counts,
            "placement": {n: list(w) for n, w in placement.items()},
            "stopped": [j.name for j in changed],
            "launched": launched,
            "lost": lost,
            "capacity": len(workers),
        }
    finally:
        client.close()
        store.close()


def reschedule_deployment(settings: Settings) -> Any:
    """The served deployment: one outer iteration every ``reschedule_interval_s``, one at a time.

    Example:
        >>> from tasks.settings import Settings
        >>> reschedule_deployment(Settings(reschedule_interval_s=60)).name
        'reschedule'
    """
    return reschedule_flow.to_deployment(
        name="reschedule",
        interval=settings.reschedule_interval_s,
        concurrency_limit=1,
        description="Outer iteration of the elastic training scheduler (doubling heuristic).",
    )
