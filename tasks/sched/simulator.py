"""Replay a Pollux workload under a scheduling policy, by the reference simulator's rules.

Rules (see ``docs/sched-sim.md`` for the interpretations): 16 nodes of 4 GPUs; every 60
simulated seconds the jobs advance, then the policy is called with the jobs that have
arrived and not finished; a job whose node assignment changes (its first start included)
loses 30 seconds with its GPUs counted as used; a job advances its statistical progress by
gain / (seconds per optimiser step) per second, moving epoch by epoch; its completion time
is interpolated inside the interval (rounded to whole seconds, as the reference did).

Example:
    >>> apps = load_apps(find_traces_dir())  # doctest: +SKIP
    >>> jobs = read_workload("workload-1.csv")  # doctest: +SKIP
    >>> result = simulate(jobs, get_policy("optimus"), apps)  # doctest: +SKIP
    >>> round(result.mean_jct_s)  # doctest: +SKIP
    4100
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tasks.sched.apps import AppModel, Placement, apps_by_name, packed_placement
from tasks.sched.estimates import JobEstimates
from tasks.sched.estimates_table import EstimatesTable
from tasks.sched.online import (
    Information,
    OnlineConfig,
    information_of,
    job_estimates,
    observe,
)
from tasks.sched.placement import PlacementRule, node_counts, place
from tasks.sched.policy import Policy, SchedJob
from tasks.sched.sim_result import JobResult, SimResult
from tasks.sched.traces import WorkloadJob

__all__ = ["JobResult", "SimConfig", "SimResult", "simulate"]


@dataclass(frozen=True)
class SimConfig:
    """Cluster and timing of a simulation.

    Attributes:
        num_nodes: nodes in the cluster.
        gpus_per_node: GPUs per node.
        interval_s: seconds between policy calls.
        restart_s: seconds lost each time a job's assignment changes.
        placement: placement rule; ``None`` uses the policy's ``placement`` attribute
            (``"pack"`` when it has none).
        max_time_s: give up (leaving jobs unfinished) after this much simulated time.
        information: what the policy sees: ``"oracle"`` (true remaining iterations, measured
            step times of every placement) or ``"online"`` (estimates fitted to the job's own
            observations, :mod:`tasks.sched.estimates`); ``None`` uses the policy's
            ``information`` attribute (``"oracle"`` when it has none).
        online: how online estimates are formed (prior, exploration cap, observation noise).
        seed: seed of the observation noise.
    """

    num_nodes: int = 16
    gpus_per_node: int = 4
    interval_s: int = 60
    restart_s: int = 30
    placement: PlacementRule | None = None
    max_time_s: float = 60 * 86400.0
    information: Information | None = None
    online: OnlineConfig = field(default_factory=OnlineConfig)
    seed: int = 0

    @property
    def capacity(self) -> int:
        return self.num_nodes * self.gpus_per_node


class _Job:
    """Mutable state of one simulated job."""

    __slots__ = (
        "accum",
        "app",
        "assignment",
        "atomic",
        "attained",
        "batch",
        "completion",
        "epoch",
        "est",
        "placement",
        "progress",
        "rescale",
        "restarts",
        "spec",
    )

    def __init__(self, spec: WorkloadJob, app: AppModel) -> None:
        self.spec = spec
        self.app = app
        self.batch = min(max(spec.batch_size, app.init_batch_size), app.max_batch_size)
        self.assignment: tuple[str, ...] = ()
        self.placement: Placement = ()
        self.atomic = 0
        self.accum = 0
        self.progress = 0.0
        self.epoch = 0
        self.rescale = 0.0
        self.completion: float | None = None
        self.restarts: int | None = None
        self.attained = 0.0
        self.est: JobEstimates | None = None

    def advance(self, start: float, seconds: float) -> None:
        """Run ``seconds`` of wall time starting at ``start`` on the current assignment."""
        if not self.assignment:
            return
        app, n = self.app, len(self.assignment)
        delay = min(self.rescale, seconds)
        self.rescale -= delay
        self.attained += delay * n
        now, seconds = start + delay, seconds - delay
        while seconds > 0 and self.completion is None:
            step, sync = app.step_time(self.placement, self.atomic)
            batch = n * self.atomic * (self.accum + 1)
            goodput = app.efficiency_gain(batch, self.epoch) / (step + (step - sync) * self.accum)
            target = app.progress_at(self.epoch + 1)
            if self.progress + goodput * seconds < target:
                self.progress += goodput * seconds
                self.attained += seconds * n
                return
            # The epoch ends inside the interval; the reference rounds to whole seconds.
            delta = min(float(round((target - self.progress) / goodput)), seconds)
            self.epoch += 1
            self.progress = target
            now += delta
            seconds -= delta
            self.attained += delta * n
            if self.epoch >= app.max_epochs:
                self.completion = now

    def reassign(self, assignment: tuple[str, ...], restart_s: float) -> None:
        self.assignment = assignment
        if not assignment:
            self.placement = ()
            return
        self.placement = node_counts(assignment)
        self.atomic, self.accum = self._split(len(assignment))
        self.rescale = restart_s
        self.restarts = 0 if self.restarts is None else self.restarts + 1

    def set_batch(self, batch: int) -> None:
        app = self.app
        batch = min(max(batch, app.init_batch_size), app.max_batch_size)
        if batch != self.batch:
            self.batch = batch
            if self.assignment:
                self.atomic, self.accum = self._split(len(self.assignment))

    def _split(self, n: int) -> tuple[int, int]:
        # More GPUs than the batch can feed at the smallest per-GPU batch: the job runs a
        # larger batch (up to the largest validated one), as an adaptive-batch job would.
        app = self.app
        batch = min(max(self.batch, n * app.min_local_bsz), app.max_batch_size)
        return app.batch_split(batch, n)


class _Predictor:
    """Cached predicted seconds per optimiser step with n GPUs packed 4 to a node."""

    def __init__(self, per_node: int) -> None:
        self.per_node = per_node
        self._cache: dict[tuple[str, int, int], float] = {}

    def step(self, app: AppModel, batch: int, n: int) -> float:
        key = (app.name, batch, n)
        value = self._cache.get(key)
        if value is None:
            value = app.optimizer_step(packed_placement(n, self.per_node), batch)[0]
            self._cache[key] = value
        return value


def _sched_job(job: _Job, predictor: _Predictor, restart_s: float) -> SchedJob:
    app, epoch, batch = job.app, job.epoch, job.batch
    max_pus = app.max_gpus(batch)
    remaining = app.remaining_iterations(batch, epoch)

    def remaining_time(n: int) -> float:
        if n < 1 or n > max_pus:
            return math.inf
        return remaining * predictor.step(app, batch, n)

    # Batch-choosing policies get the true remaining iterations *including* the rest of the
    # current epoch. The published oracle (``remaining_time``, kept as is for Optimus's
    # fidelity) leaves the current epoch out, so in a job's last epoch every batch size looks
    # one iteration from done and the smallest batch on one GPU wins: for BERT (2 epochs)
    # that is half the job. See docs/sched-core.md.
    p_lo, p_hi = app.progress_at(epoch), app.progress_at(epoch + 1)
    epoch_left = min(1.0, max(0.0, (p_hi - job.progress) / (p_hi - p_lo))) if p_hi > p_lo else 0.0

    def remaining_time_at(n: int, b: int) -> float:
        if n < 1 or n > app.max_gpus(b):
            return math.inf
        done_before = app.iterations(b, epoch - 1) if epoch > 0 else 0.0
        current = epoch_left * (app.iterations(b, epoch) - done_before)
        after = app.iterations(b, app.max_epochs - 1) - app.iterations(b, epoch)
        return max(current + after, 1.0) * predictor.step(app, b, n)

    return SchedJob(
        name=job.spec.name,
        arrival_s=job.spec.arrival_s,
        remaining_time=remaining_time,
        min_pus=1,
        max_pus=max_pus,
        requested_pus=job.spec.num_replicas,
        current_pus=len(job.assignment),
        attained_pu_s=job.attained,
        remaining_time_at=remaining_time_at,
        batch_sizes=app.batch_sizes,
        restart_s=restart_s,
    )


def simulate(
    workload: Sequence[WorkloadJob],
    policy: Policy,
    apps: Mapping[str, AppModel],
    config: SimConfig | None = None,
    workload_name: str = "",
    on_interval: Callable[[float, int, int], None] | None = None,
) -> SimResult:
    """Replay ``workload`` under ``policy``.

    Args:
        workload: the jobs (any order; they are taken in arrival order).
        policy: a fresh policy (stateful ones remember earlier calls).
        apps: application models by name.
        config: cluster and timing; defaults to the reference's.
        workload_name: label for the result.
        on_interval: called after each policy call with (time, finished jobs, all jobs).

    Returns:
        Per-job results and the allocation timeline.

    Raises:
        ValueError: the policy gave out more GPUs than exist or named an unknown job.

    Example:
        >>> from tasks.sched.baselines import FifoPolicy
        >>> simulate([], FifoPolicy(), {}).jobs
        []
    """
    config = config or SimConfig()
    rule: PlacementRule = config.placement or getattr(policy, "placement", None) or "pack"
    information = config.information or information_of(policy)
    online = information == "online"
    rng = random.Random(config.seed)
    nodes = {f"n{i}": config.gpus_per_node for i in range(config.num_nodes)}
    predictor = _Predictor(config.gpus_per_node)
    pending = [_Job(spec, apps_by_name(apps, spec.application)) for spec in workload]
    pending.sort(key=lambda j: j.spec.arrival_s)
    everyone = list(pending)
    pending.reverse()  # pop() from the end yields the earliest arrival
    active: list[_Job] = []
    timeline: list[tuple[float, dict[str, int]]] = []
    now, finished = 0.0, 0
    # Online: the active jobs' estimates as columns, rows in the order of ``active``.
    table = EstimatesTable()
    while (pending or active) and now < config.max_time_s:
        for job in active:
            job.advance(now, config.interval_s)
            if online and job.completion is None and job.est is not None:
                # What the job reports after the interval: its progress, one (noisy) step at
                # its placement and the gradient statistics of its epoch.
                observe(
                    job.est,
                    job.app,
                    job.placement,
                    job.atomic,
                    job.accum,
                    job.epoch,
                    job.progress,
                    rng,
                    config.online.step_noise,
                )
        now += config.interval_s
        still = [j for j in active if j.completion is None]
        finished += len(active) - len(still)
        if online and len(still) < len(active):
            table.remove(j.est for j in active if j.completion is not None and j.est is not None)
        active = still
        while pending and pending[-1].spec.arrival_s <= now:
            job = pending.pop()
            if online:
                job.est = job_estimates(
                    job.spec,
                    job.app,
                    job.batch,
                    config.online,
                    config.gpus_per_node,
                    config.restart_s,
                )
                table.add(job.est)
            active.append(job)
        if not active:
            continue
        views: Sequence[SchedJob] = (
            table.views([len(j.assignment) for j in active], [j.attained for j in active])
            if online
            else [_sched_job(j, predictor, config.restart_s) for j in active]
        )
        allocation = policy.allocate(views, config.capacity)
        by_name = {j.spec.name: j for j in active}
        unknown = [name for name in allocation if name not in by_name]
        if unknown:
            raise ValueError(f"policy {policy.name} allocated to unknown job {unknown[0]!r}")
        counts = {name: a.pus for name, a in allocation.items() if a.pus > 0}
        if sum(counts.values()) > config.capacity:
            raise ValueError(
                f"policy {policy.name} gave out {sum(counts.values())} GPUs of {config.capacity}"
            )
        previous = {j.spec.name: j.assignment for j in active if j.assignment}
        assignments = place(counts, nodes, previous, rule)
        for name, a in allocation.items():
            if a.batch_size is not None:
                job = by_name[name]
                job.set_batch(a.batch_size)
                if job.est is not None:
                    job.est.set_batch(job.batch)
        for job in active:
            new = assignments.get(job.spec.name, ())
            if new != job.assignment:
                job.reassign(new, config.restart_s)
        timeline.append((now, counts))
        if on_interval is not None:
            on_interval(now, finished, len(everyone))
    results = [
        JobResult(
            name=j.spec.name,
            application=j.spec.application,
            arrival_s=j.spec.arrival_s,
            completion_s=j.completion,
            jct_s=None if j.completion is None else j.completion - j.spec.arrival_s,
            restarts=j.restarts or 0,
            gpu_s=j.attained,
        )
        for j in everyone
    ]
    return SimResult(policy.name, workload_name, results, timeline, config.capacity, information)
