"""Exhaustive optimum of the doubling heuristic's objective, for small instances.

Minimises the total remaining time ``sum_j T_j(n_j)`` over every integer allocation with
``min_pus <= n_j <= max_pus`` and ``sum_j n_j <= C``; every job must run, so it needs
``sum_j min_pus <= C``. The search enumerates all allocations (depth-first, one job per level,
pruned by the PUs the later jobs still need at their minimum), which is exact and for six jobs
on sixteen PUs visits at most ``C(22, 6) = 74,613`` leaves. ``OptimumPolicy`` exposes it under
the policy interface (name ``optimum``) for the optimality study; it is far too slow for
real clusters.

Example:
    >>> jobs = [SchedJob("a", 0.0, lambda n: 100.0 / n), SchedJob("b", 0.0, lambda n: 60.0 / n)]
    >>> best = optimum(jobs, 4)
    >>> best.pus, round(best.total, 1)
    ({'a': 2, 'b': 2}, 80.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tasks.sched.policy import Assignment, SchedJob

__all__ = ["Optimum", "OptimumPolicy", "optimum"]

MAX_LEAVES = 5_000_000


@dataclass(frozen=True)
class Optimum:
    """The best allocation found and its total remaining time."""

    pus: dict[str, int]
    total: float


def _doubled(c: int, job: SchedJob) -> bool:
    q, r = divmod(c, job.min_pus)
    return c == job.max_pus or (r == 0 and q & (q - 1) == 0)


def optimum(jobs: Sequence[SchedJob], capacity: int, *, powers_of_two: bool = False) -> Optimum:
    """Exact minimum of the total remaining time.

    Args:
        jobs: the jobs; all must get at least their minimum.
        capacity: PUs available.
        powers_of_two: only consider counts that are the minimum times a power of two (the
            counts the doubling phase can reach), to separate the cost of doubling from the
            cost of greediness.

    Raises:
        ValueError: the minimums do not fit, or the instance is too large to enumerate.

    Example:
        >>> optimum([SchedJob("a", 0.0, lambda n: 9.0 / n, max_pus=3)], 8).pus
        {'a': 3}
    """
    need = sum(j.min_pus for j in jobs)
    if need > capacity:
        raise ValueError(
            f"optimum: jobs need {need} PUs at their minimum but only {capacity} exist"
        )

    choices: list[list[tuple[int, float]]] = []
    for job in jobs:
        top = min(job.max_pus, capacity - (need - job.min_pus))
        counts = [c for c in range(job.min_pus, top + 1) if not powers_of_two or _doubled(c, job)]
        choices.append([(c, job.remaining_time(c)) for c in counts])
    # Allocations with sum <= C (stars and bars): a bound on the leaves the search visits.
    if math.comb(capacity - need + len(jobs), len(jobs)) > MAX_LEAVES:
        raise ValueError(f"optimum: instance too large ({len(jobs)} jobs, {capacity} PUs)")

    # Suffix minima of the minimum PU counts, for pruning.
    rest_min = [0] * (len(jobs) + 1)
    for k in range(len(jobs) - 1, -1, -1):
        rest_min[k] = rest_min[k + 1] + jobs[k].min_pus
    # Suffix lower bounds of the time still to add: each job's best time anywhere.
    rest_best = [0.0] * (len(jobs) + 1)
    for k in range(len(jobs) - 1, -1, -1):
        rest_best[k] = rest_best[k + 1] + min((t for _, t in choices[k]), default=math.inf)

    best_total = math.inf
    best_pick: list[int] = []
    pick: list[int] = []

    def search(k: int, free: int, acc: float) -> None:
        nonlocal best_total, best_pick
        if acc + rest_best[k] >= best_total:
            return
        if k == len(jobs):
            best_total, best_pick = acc, pick.copy()
            return
        for c, t in choices[k]:
            if c > free - rest_min[k + 1]:
                break
            pick.append(c)
            search(k + 1, free - c, acc + t)
            pick.pop()

    search(0, capacity, 0.0)
    if not best_pick and jobs:
        return Optimum({}, math.inf)
    return Optimum({j.name: c for j, c in zip(jobs, best_pick, strict=True)}, best_total)


class OptimumPolicy:
    """The exhaustive optimum behind the policy interface (small instances only)."""

    name = "optimum"

    def allocate(self, jobs: Sequence[SchedJob], capacity: int) -> dict[str, Assignment]:
        best = optimum(jobs, capacity)
        return {name: Assignment(pus) for name, pus in best.pus.items()}
