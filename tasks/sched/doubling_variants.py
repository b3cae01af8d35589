"""Improved members of the doubling family, each a named policy beside the reference.

The claims-faithful ``doubling`` trails on the Pollux workloads (see ``docs/sched-core.md``
for the measurements): its score, remaining time saved per added PU, hands PUs to the jobs
with the most work left (a doubling of an ImageNet job saves hours, one of a BERT job
minutes), so short and medium jobs run on one PU for a long time and the mean completion time
suffers. Three changes, each usable alone, all reusing :func:`~tasks.sched.doubling.plan_doubling`:

- **rate score** (``srtf``): rank a doubling ``n -> m`` by the completion rate it adds per PU,
  ``(1/T(m) - 1/T(n)) / (m - n) = (T(n) - T(m)) / (T(n) T(m) (m - n))``: the claims' gain
  weighted by how close the job is to finishing (shortest-remaining-first). Maximising the sum
  of the rates ``1/T_j`` is what minimises the mean completion time in a fluid model.
- **goodput** (``goodput``): a job's time on ``n`` PUs is its best over the batch sizes it
  accepts, ``min_b T(n, b)`` (``SchedJob.remaining_time_at``, which counts the iterations a
  batch size needs, so statistical efficiency is included); the chosen batch size goes out
  with the PUs.
- **restart-aware** (``restart_s``): any count other than the job's current one costs a
  restart, ``T'(n) = T(n) + restart_s`` (plus the same for a job that has not started), so
  PUs move only when the doubling gains more than the restart loses.

Example:
    >>> from tasks.sched.policy import SchedJob
    >>> jobs = [SchedJob("long", 0.0, lambda n: 1000.0 / n),
    ...         SchedJob("short", 0.0, lambda n: 10.0 / n)]
    >>> sorted((k, v.pus) for k, v in DoublingVariant(score="claims").allocate(jobs, 3).items())
    [('long', 2), ('short', 1)]
    >>> sorted((k, v.pus) for k, v in DoublingVariant(score="rate").allocate(jobs, 3).items())
    [('long', 1), ('short', 2)]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Literal

from tasks.sched.doubling import per_pu_gain, plan_doubling, rate_gain
from tasks.sched.doubling_bulk import allocate_table, plan_bulk
from tasks.sched.estimates_table import EstimateViews
from tasks.sched.online import Information
from tasks.sched.placement import PlacementRule
from tasks.sched.policy import Assignment, SchedJob

__all__ = ["DoublingVariant", "rate_gain", "srpt_gain"]


def srpt_gain(job: SchedJob, n: int, m: int, t_n: float, t_m: float) -> float:
    """Time saved per PU divided by the square of the time left now (the traces README's
    quick variant): ``(T(n) - T(m)) / ((m - n) T(n)^2)``.

    Example:
        >>> srpt_gain(SchedJob("a", 0.0, lambda n: 1.0), 1, 2, 10.0, 5.0)
        0.05
    """
    return (t_n - t_m) / ((m - n) * t_n * t_n) if t_n > 0 else math.inf


class DoublingVariant:
    """The doubling heuristic with a choice of score, batch-size choice and restart cost.

    Args:
        score: ``"claims"`` (time saved per PU), ``"rate"`` (completion rate added per PU) or
            ``"srpt"`` (time saved per PU over the square of the time left).
        goodput: also pick each job's batch size among ``SchedJob.batch_sizes``.
        restart_s: seconds a change of PU count costs the job; 0 ignores restarts.
        restart_factor: also charge this many times the job's own restart cost
            (``SchedJob.restart_s``), so one policy fits a cluster whose restarts take 30 s
            and one whose restarts take a second.
        leftover: passed to :func:`~tasks.sched.doubling.plan_doubling`.
        placement: how the simulator places the PUs (``"pack"`` or ``"spread"``).
        information: ``"online"`` plans from estimates fitted to the jobs' own observations
            (:mod:`tasks.sched.estimates`); ``"oracle"`` from the trace's true values.
        name: registry name.
    """

    placement: PlacementRule = "pack"
    information: Information = "oracle"

    def __init__(
        self,
        *,
        score: Literal["claims", "rate", "srpt"] = "rate",
        goodput: bool = False,
        restart_s: float = 0.0,
        restart_factor: float = 0.0,
        leftover: Literal["partial", "idle"] = "idle",
        placement: PlacementRule = "pack",
        information: Information = "oracle",
        name: str = "doubling-variant",
    ) -> None:
        self.placement = placement
        self.information = information
        self.score = {"claims": per_pu_gain, "rate": rate_gain, "srpt": srpt_gain}[score]
        self.goodput = goodput
        self.restart_s = restart_s
        self.restart_factor = restart_factor
        self.leftover = leftover
        self.name = name

    def allocate(self, jobs: Sequence[SchedJob], capacity: int) -> dict[str, Assignment]:
        fast = self.goodput and self.leftover == "idle" and self.score in (rate_gain, per_pu_gain)
        if fast and isinstance(jobs, EstimateViews):
            # The views of an estimates table: the plan on its columns (no per-job calls).
            table = allocate_table(
                jobs,
                capacity,
                restart_s=self.restart_s,
                restart_factor=self.restart_factor,
                rate=self.score is rate_gain,
            )
            if table is not None:
                return table
        charges: list[float] | float = (
            [self.restart_s + self.restart_factor * job.restart_s for job in jobs]
            if self.restart_factor
            else self.restart_s
        )
        if fast:
            # Views of online estimates: the same plan with its bulk vectorised (~2x faster
            # on 10,000 jobs); None where that path does not apply.
            bulk = plan_bulk(jobs, capacity, charges=charges, rate=self.score is rate_gain)
            if bulk is not None:
                shared_bulk: dict[tuple[int, int], Assignment] = {}
                return {
                    name: shared_bulk.get(key) or shared_bulk.setdefault(key, Assignment(*key))
                    for name, key in bulk.items()
                }
        best_batch: dict[tuple[str, int], int] = {}

        def min_over_batches(job: SchedJob, n: int) -> float:
            assert job.remaining_time_at is not None
            best, best_t = 0, math.inf
            for b in job.batch_sizes:
                t = job.remaining_time_at(n, b)
                if t < best_t:
                    best, best_t = b, t
            if best:
                best_batch[job.name, n] = best
            return best_t

        # One time function per job, bound once: a 10,000-job decision makes ~26,000 calls.
        times: list[Callable[[int], float]]
        if not self.goodput:
            times = [job.remaining_time for job in jobs]
        else:
            times = [
                job.best_time_at
                if job.best_time_at is not None
                else functools.partial(min_over_batches, job)
                if job.remaining_time_at is not None and job.batch_sizes
                else job.remaining_time
                for job in jobs
            ]

        plan = plan_doubling(
            jobs,
            capacity,
            job_times=times,
            score=self.score,
            leftover=self.leftover,
            record_steps=False,
            restart_charge=charges,
        )
        by_name = {job.name: job for job in jobs} if self.goodput else {}
        # Assignments are immutable: share one per (PUs, batch) (10,000 jobs, a few dozen).
        shared: dict[tuple[int, int | None], Assignment] = {}
        out = {}
        for name, pus in plan.pus.items():
            batch = None
            if self.goodput:
                best_at = by_name[name].best_batch_at
                batch = best_at(pus) if best_at is not None else best_batch.get((name, pus))
            key = (pus, batch)
            out[name] = shared.get(key) or shared.setdefault(key, Assignment(pus, batch))
        return out
