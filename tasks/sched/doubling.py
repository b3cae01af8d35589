"""The doubling heuristic of US20200159589A1, faithful to the claims.

One decision for J jobs on C PUs, with ``T_j(n)`` the job's remaining time on ``n`` PUs:

1. **First PUs.** Jobs are taken in priority order and each gets its minimum PU count (one PU
   for most jobs) while it fits. The claims leave this order open; ours is: higher
   ``priority`` first, then shortest remaining time at the minimum (``T_j(min)``), then
   earlier arrival, then name. A job whose minimum does not fit the PUs left is skipped and the
   next, smaller one may still start (backfilling). A job that cannot run at its minimum
   (``T = inf``) gets nothing.
2. **Doublings.** Every started job ``j`` on ``n`` PUs proposes the doubling ``n -> m`` with
   ``m = min(2n, max_pus)``, scored by its time improvement per added PU
   ``(T_j(n) - T_j(m)) / (m - n)`` (which is ``(T(n) - T(2n)) / n`` for a full doubling).
   The best proposal is taken if it fits in the free PUs; one that does not fit is dropped for
   good, because free PUs only shrink. The taken job proposes its next doubling. The phase
   ends when no proposal is left: none fits or none improves (``T(m) >= T(n)``).
3. **Leftover PUs.** The claims only double, so the reference leaves PUs that no full
   doubling fits idle (``leftover="idle"``, the default). That keeps "more PUs never lengthen
   the plan" true on every random instance we tried (30,000). With ``leftover="partial"``
   they go, by the same score, to partial doublings: each job proposes the count in
   ``n+1 .. n + min(n, free, max_pus - n)`` with the least remaining time, while one improves
   (phase 2 ends with fewer free PUs than the smallest improving doubling needs, so the scan is
   short). That uses the PUs but breaks the property on about 0.2% of random instances: a
   partial step taken with C PUs can beat the full doubling that fits with C + 1.

Ties go to the smaller job name, so a decision is deterministic. Proposals live in a heap and
each pop either commits at least one PU or drops a proposal for good, so a decision costs
``O((J + C) log J)`` evaluations and heap operations.

The score and the time function are parameters, which is how the improved policies of
:mod:`tasks.sched.doubling_variants` reuse this code while ``doubling`` stays the reference.

Example:
    >>> jobs = [SchedJob("a", 0.0, lambda n: 100.0 / n), SchedJob("b", 0.0, lambda n: 60.0 / n)]
    >>> plan = plan_doubling(jobs, 4)
    >>> plan.pus
    {'b': 2, 'a': 2}
    >>> [str(s) for s in plan.steps]
    ['first b 0->1', 'first a 0->1', 'double a 1->2 (+50/PU)', 'double b 1->2 (+30/PU)']
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tasks.sched.policy import Assignment, SchedJob

__all__ = [
    "DoublingPlan",
    "DoublingPolicy",
    "DoublingStep",
    "ScoreFn",
    "TimeFn",
    "per_pu_gain",
    "plan_doubling",
    "rate_gain",
    "total_time",
]

TimeFn = Callable[[SchedJob, int], float]
"""``(job, n) -> remaining seconds on n PUs`` (``inf`` where it cannot run)."""

ScoreFn = Callable[[SchedJob, int, int, float, float], float]
"""``(job, n, m, T(n), T(m)) -> score``; the largest score is served first."""


def per_pu_gain(job: SchedJob, n: int, m: int, t_n: float, t_m: float) -> float:
    """The claims' score: remaining-time improvement per added PU.

    Example:
        >>> per_pu_gain(SchedJob("a", 0.0, lambda n: 1.0), 2, 4, 100.0, 60.0)
        20.0
    """
    return (t_n - t_m) / (m - n)


def rate_gain(job: SchedJob, n: int, m: int, t_n: float, t_m: float) -> float:
    """Completion rate added per PU by going from ``n`` to ``m`` PUs.

    Example:
        >>> rate_gain(SchedJob("a", 0.0, lambda n: 1.0), 1, 2, 10.0, 5.0)  # 1/5 - 1/10
        0.1
    """
    if t_m <= 0:
        return math.inf
    return (1.0 / t_m - 1.0 / t_n) / (m - n)


def job_time(job: SchedJob, n: int) -> float:
    """The job's own remaining-time function (the default :data:`TimeFn`)."""
    return job.remaining_time(n)


@dataclass(frozen=True)
class DoublingStep:
    """One provisional assignment the heuristic made, for explanations and tests."""

    kind: Literal["first", "double", "leftover"]
    job: str
    before: int
    after: int
    gain_per_pu: float = 0.0

    def __str__(self) -> str:
        text = f"{self.kind} {self.job} {self.before}->{self.after}"
        return text if self.kind == "first" else f"{text} (+{self.gain_per_pu:g}/PU)"


@dataclass
class DoublingPlan:
    """The outcome of one decision: PUs per job (started jobs only) and how it got there."""

    pus: dict[str, int]
    steps: list[DoublingStep] = field(default_factory=list)
    free: int = 0


def _first_order_key(job: SchedJob, t_min: float) -> tuple[int, float, float, str]:
    return (-job.priority, t_min, job.arrival_s, job.name)


def plan_doubling(
    jobs: Sequence[SchedJob],
    capacity: int,
    *,
    time_of: TimeFn = job_time,
    score: ScoreFn = per_pu_gain,
    leftover: Literal["partial", "idle"] = "idle",
    record_steps: bool = True,
    job_times: Sequence[Callable[[int], float]] | None = None,
    restart_charge: float | Sequence[float] = 0.0,
) -> DoublingPlan:
    """Run the doubling heuristic once.

    Args:
        jobs: the jobs waiting or running; names must be unique.
        capacity: PUs available in total.
        time_of: remaining time of a job on ``n`` PUs.
        score: ranks proposals ``n -> m`` (default: improvement per added PU).
        leftover: what to do with PUs no full doubling fits (see the module docstring).
        record_steps: keep the list of steps (turn off for very large decisions).
        job_times: one ``n -> seconds`` function per job, in the order of ``jobs``; replaces
            ``time_of`` (callers that bind per-job functions once save a call per evaluation).
        restart_charge: seconds added to a job's time at any count other than its
            ``current_pus`` (a waiting job's first start included), one value for all jobs or
            one per job: PUs move only when the move gains more than a restart loses.

    Returns:
        The PUs of every job that got any, in the order they started (input order when every
        job fits and no steps are recorded), and the steps taken.

    Raises:
        ValueError: negative capacity or duplicate job names.

    Example:
        >>> plan_doubling([SchedJob("a", 0.0, lambda n: 10.0 / n, max_pus=3)], 8).pus
        {'a': 3}
    """
    if capacity < 0:
        raise ValueError(f"capacity must be >= 0, got {capacity}")
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):  # one set in C; the loop below only names the culprit
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"jobs: job name {name!r} appears twice; names must be unique")
            seen.add(name)

    steps: list[DoublingStep] = []
    free = capacity
    count = len(jobs)
    # Hot loop: bind each job's time function and bounds once; the default score is inlined.
    fns: Sequence[Callable[[int], float]]
    if job_times is not None:
        if len(job_times) != count:
            raise ValueError(f"job_times: {len(job_times)} functions for {count} jobs")
        fns = job_times
    elif time_of is job_time:
        fns = [j.remaining_time for j in jobs]
    else:
        fns = [functools.partial(time_of, j) for j in jobs]
    max_pus = [j.max_pus for j in jobs]
    # The two scores the registered policies use are inlined (a call per proposal otherwise).
    claims_score = score is per_pu_gain
    rate_score = score is rate_gain
    charges: Sequence[float]
    if isinstance(restart_charge, int | float):
        charges = [float(restart_charge)] * count if restart_charge else []
    else:
        if len(restart_charge) != count:
            raise ValueError(f"restart_charge: {len(restart_charge)} values for {count} jobs")
        charges = restart_charge if any(restart_charge) else []
    charge = bool(charges)
    current = [j.current_pus for j in jobs] if charge else []
    n = [0] * count
    t = [math.inf] * count
    started: list[int] = []
    # A job "can run" at its minimum when its time there is finite (NaN counts as cannot).

    # Phase 1: first PUs, by priority then shortest remaining time then arrival then name.
    mins = [j.min_pus for j in jobs]
    t_min = [f(lo) for f, lo in zip(fns, mins, strict=True)]
    if charge:
        t_min = [
            v + ch if lo != c else v
            for v, lo, c, ch in zip(t_min, mins, current, charges, strict=True)
        ]
    total_min = sum(mins)
    if not record_steps and total_min <= capacity:
        # Every job that can run starts, so the order changes nothing: skip the sort.
        started = [i for i in range(count) if t_min[i] < math.inf]
        for i in started:
            n[i], t[i] = mins[i], t_min[i]
        free -= total_min if len(started) == count else sum(mins[i] for i in started)
    else:
        order = sorted(range(count), key=lambda i: _first_order_key(jobs[i], t_min[i]))
        for i in order:
            if free == 0:
                break
            lo = mins[i]
            if lo > free or not t_min[i] < math.inf:
                continue
            n[i], t[i] = lo, t_min[i]
            free -= lo
            started.append(i)
            if record_steps:
                steps.append(DoublingStep("first", names[i], 0, lo))

    # Phase 2: full doublings, best score first.
    push, pop = heapq.heappush, heapq.heappop
    # The first proposal of every started job, built with comprehensions (the bulk of a large
    # decision; a plain loop was a third slower).
    targets = [(i, 2 * n[i] if 2 * n[i] <= max_pus[i] else max_pus[i]) for i in started]
    proposals = [(i, m, fns[i](m)) for i, m in targets if m > n[i]]
    if charge:
        proposals = [(i, m, v + charges[i] if m != current[i] else v) for i, m, v in proposals]
    heap: list[tuple[float, str, int, int, float]]
    if claims_score:
        heap = [
            ((t_m - t[i]) / (m - n[i]), names[i], i, m, t_m)
            for i, m, t_m in proposals
            if t_m < t[i]
        ]
    elif rate_score:
        heap = [
            ((1.0 / t[i] - 1.0 / t_m) / (m - n[i]) if t_m > 0 else -math.inf, names[i], i, m, t_m)
            for i, m, t_m in proposals
            if t_m < t[i]
        ]
    else:
        heap = [
            (-score(jobs[i], n[i], m, t[i], t_m), names[i], i, m, t_m)
            for i, m, t_m in proposals
            if t_m < t[i]
        ]
    heapq.heapify(heap)
    while heap and free > 0:
        _, _, i, m, t_m = pop(heap)
        cur = n[i]
        if m - cur > free:
            continue  # never fits again: free PUs only shrink
        if record_steps:
            steps.append(DoublingStep("double", names[i], cur, m, (t[i] - t_m) / (m - cur)))
        free -= m - cur
        n[i] = cur = m
        t[i] = t_cur = t_m
        m = 2 * cur
        if m > max_pus[i]:
            m = max_pus[i]
        if m > cur:
            t_m = fns[i](m)
            if charge and m != current[i]:
                t_m += charges[i]
            if t_m < t_cur:
                if claims_score:
                    sc = (t_cur - t_m) / (m - cur)
                elif rate_score:
                    sc = (1.0 / t_m - 1.0 / t_cur) / (m - cur) if t_m > 0 else math.inf
                else:
                    sc = score(jobs[i], cur, m, t_cur, t_m)
                push(heap, (-sc, names[i], i, m, t_m))

    # Phase 3: leftover PUs as partial doublings, re-proposed lazily as free PUs shrink.
    def propose_partial(i: int, limit: int) -> None:
        cur = n[i]
        # A partial doubling goes to the best count it may reach: remaining time is not
        # monotone in n (per-PU batch rounding, a ring spilling onto another node).
        m, t_m = cur, math.inf
        for k in range(cur + 1, min(2 * cur, max_pus[i], cur + limit) + 1):
            t_k = fns[i](k)
            if charge and k != current[i]:
                t_k += charges[i]
            if t_k < t_m:
                m, t_m = k, t_k
        if t_m < t[i]:
            sc = score(jobs[i], cur, m, t[i], t_m)
            heapq.heappush(heap, (-sc, names[i], i, m, t_m))

    if leftover == "partial" and free > 0:
        heap.clear()
        for i in started:
            propose_partial(i, free)
        while heap and free > 0:
            _, _, i, m, t_m = heapq.heappop(heap)
            if m - n[i] > free:
                propose_partial(i, free)
                continue
            if record_steps:
                gain = (t[i] - t_m) / (m - n[i])
                steps.append(DoublingStep("leftover", names[i], n[i], m, gain))
            free -= m - n[i]
            n[i], t[i] = m, t_m
            propose_partial(i, free)

    return DoublingPlan({names[i]: n[i] for i in started}, steps, free)


def total_time(jobs: Sequence[SchedJob], pus: dict[str, int], time_of: TimeFn = job_time) -> float:
    """Sum of the jobs' remaining times under an allocation (``inf`` if any job gets none).

    This is the objective the heuristic approximates and :mod:`tasks.sched.optimum` minimises.

    Example:
        >>> total_time([SchedJob("a", 0.0, lambda n: 8.0 / n)], {"a": 2})
        4.0
    """
    return math.fsum(time_of(j, pus[j.name]) if pus.get(j.name, 0) > 0 else math.inf for j in jobs)


class DoublingPolicy:
    """The claims-faithful doubling heuristic behind the :class:`~tasks.sched.policy.Policy` API.

    Example:
        >>> DoublingPolicy().allocate([SchedJob("a", 0.0, lambda n: 8.0 / n)], 4)
        {'a': Assignment(pus=4, batch_size=None)}
    """

    name = "doubling"
    information = "oracle"  # the simulator gives it the true remaining time

    def __init__(
        self,
        *,
        leftover: Literal["partial", "idle"] = "idle",
        time_of: TimeFn = job_time,
        score: ScoreFn = per_pu_gain,
        name: str | None = None,
    ) -> None:
        self.leftover = leftover
        self.time_of = time_of
        self.score = score
        if name is not None:
            self.name = name

    def plan(self, jobs: Sequence[SchedJob], capacity: int) -> DoublingPlan:
        """The full plan with its steps (``allocate`` returns only the PU counts)."""
        return plan_doubling(
            jobs, capacity, time_of=self.time_of, score=self.score, leftover=self.leftover
        )

    def allocate(self, jobs: Sequence[SchedJob], capacity: int) -> dict[str, Assignment]:
        plan = plan_doubling(
            jobs,
            capacity,
            time_of=self.time_of,
            score=self.score,
            leftover=self.leftover,
            record_steps=False,
        )
        # Assignments are immutable: share one per PU count (10,000 jobs, a dozen counts).
        shared: dict[int, Assignment] = {}
        return {
            name: shared.get(pus) or shared.setdefault(pus, Assignment(pus))
            for name, pus in plan.pus.items()
        }
