"""The doubling heuristic on online estimates, with the bulk of a decision vectorised.

:func:`~tasks.sched.doubling.plan_doubling` reaches a job's remaining time through one
callable per job (``SchedJob.best_time_at``), so a 10,000-job decision makes ~25,000 Python
calls before its heap loop starts: the time at every job's minimum, then at its first
doubling. When every view comes from a :class:`~tasks.sched.estimates.JobEstimates`, this
module reads the estimator's cached best costs directly, does the arithmetic of phase 1 and
of the first proposals (times, restart charges, scores) on numpy arrays, and only the heap
loop, which touches the few thousand jobs that double again, stays per job.

The result is the same allocation, bit for bit: numpy's float64 ``+ - * /`` round exactly as
Python's, each expression is evaluated in the order ``plan_doubling`` evaluates it, and the
heap holds the same tuples in the same order. Anything the bulk path does not cover (a view
that is not an estimator's, a score other than the claims' or the rate, partial leftovers,
minimums that do not all fit) returns ``None`` and the caller runs ``plan_doubling``.
``tests/sched/test_doubling_bulk.py`` checks the equality on random instances.

Example:
    >>> import random
    >>> from tasks.sched.instances import random_estimates
    >>> views = [e.sched_job(1) for e in random_estimates(random.Random(0), 3)]
    >>> plan = plan_bulk(views, 8, charges=None, rate=True)
    >>> sorted(plan)  # doctest: +SKIP
    ['j0', 'j1', 'j2']
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np

from tasks.sched.estimates import JobEstimates
from tasks.sched.estimates_table import EstimateViews
from tasks.sched.policy import Assignment, SchedJob

__all__ = ["allocate_table", "estimators_of", "plan_bulk"]

_BEST_TIME = JobEstimates._best_time


def estimators_of(jobs: Sequence[SchedJob]) -> list[JobEstimates] | None:
    """The estimator behind every view, or ``None`` if any job's time is not an estimator's.

    Example:
        >>> estimators_of([SchedJob("a", 0.0, lambda n: 1.0)]) is None
        True
    """
    fns = [j.best_time_at for j in jobs]
    ests = [
        getattr(f, "__self__", None) if getattr(f, "__func__", None) is _BEST_TIME else None
        for f in fns
    ]
    if not ests or None in ests:
        return None
    return ests  # type: ignore[return-value]


def plan_bulk(
    jobs: Sequence[SchedJob],
    capacity: int,
    *,
    charges: Sequence[float] | float | None,
    rate: bool,
) -> dict[str, tuple[int, int]] | None:
    """``plan_doubling(jobs, capacity, job_times=best times, ...)`` with its batch sizes.

    Args:
        jobs: views made by :meth:`JobEstimates.sched_job` for this decision.
        capacity: PUs available.
        charges: restart charge per job, one for all, or ``None`` / ``0`` for none.
        rate: the rate score (``rate_gain``); otherwise the claims' (``per_pu_gain``).

    Returns:
        ``{name: (pus, batch)}`` in the order ``plan_doubling`` returns its PUs, or ``None``
        where the bulk path does not apply (the caller then runs the general one).
    """
    count = len(jobs)
    if capacity < 0 or count == 0:
        return None
    ests = estimators_of(jobs)
    if ests is None:
        return None
    names = [j.name for j in jobs]
    lo_l = [j.min_pus for j in jobs]
    hi_l = [j.max_pus for j in jobs]
    total_min = sum(lo_l)
    # The bulk path covers the case where every minimum fits (no first-PU ordering), and views
    # whose bounds are their estimator's (so no count on the ladder falls outside them).
    if total_min > capacity or len(set(names)) != count:
        return None
    if lo_l != [e._lo for e in ests] or hi_l != [e._hi for e in ests]:
        return None
    if charges is None or isinstance(charges, int | float):
        ch_l = [float(charges)] * count if charges else []
    else:
        ch_l = list(charges) if any(charges) else []
    charge = bool(ch_l)

    work = np.array([e._work for e in ests], dtype=float)
    lo = np.array(lo_l, dtype=np.int64)
    hi = np.array(hi_l, dtype=np.int64)
    # The cached (cost, batch) at each job's minimum; best_cost fills a missing one.
    best = [(e._best.get(n) or e.best_cost(n)) for e, n in zip(ests, lo_l, strict=True)]
    c_lo = np.array([f[0] for f in best], dtype=float)
    t_min = work * c_lo
    if charge:
        cur_l = [j.current_pus for j in jobs]
        ch = np.array(ch_l, dtype=float)
        cur = np.array(cur_l, dtype=np.int64)
        t_min = np.where(lo != cur, t_min + ch, t_min)

    # Phase 1: every job that can run starts at its minimum (they all fit).
    runs = t_min < math.inf
    started = np.flatnonzero(runs)
    free = capacity - (total_min if len(started) == count else int(lo[started].sum()))

    # Phase 2's first proposals: one doubling per started job, capped at its maximum.
    n_s = lo[started]
    m_s = np.minimum(2 * n_s, hi[started])
    up = m_s > n_s
    idx, m_s, n_s = started[up], m_s[up], n_s[up]
    m_l = m_s.tolist()
    # Each job has at most one proposal in the heap: its (cost, batch) waits in ``pending``.
    pending: list[tuple[float, int] | None] = [None] * count
    for i, m in zip(idx.tolist(), m_l, strict=True):
        e = ests[i]
        pending[i] = e._best.get(m) or e.best_cost(m)
    c_m = np.array([pending[i][0] for i in idx.tolist()], dtype=float)
    t_m = work[idx] * c_m
    if charge:
        t_m = np.where(m_s != cur[idx], t_m + ch[idx], t_m)
    t_n = t_min[idx]
    keep = t_m < t_n
    idx, m_s, n_s, t_m, t_n = idx[keep], m_s[keep], n_s[keep], t_m[keep], t_n[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        if rate:
            key = np.where(t_m > 0, (1.0 / t_n - 1.0 / t_m) / (m_s - n_s), -math.inf)
        else:
            key = (t_m - t_n) / (m_s - n_s)
    idx_l = idx.tolist()
    heap = list(
        zip(key.tolist(), [names[i] for i in idx_l], idx_l, m_s.tolist(), t_m.tolist(), strict=True)
    )
    heapq.heapify(heap)

    # The heap loop, as plan_doubling runs it, on plain lists.
    n = lo_l[:]  # only started jobs are read
    t = t_min.tolist()
    work_l = work.tolist()
    cur_pus = cur_l if charge else []
    pop, push = heapq.heappop, heapq.heappush
    while heap and free > 0:
        _, _, i, m, tm = pop(heap)
        c = n[i]
        if m - c > free:
            continue  # never fits again: free PUs only shrink
        free -= m - c
        best[i] = pending[i]
        n[i] = c = m
        t[i] = t_cur = tm
        m = 2 * c
        if m > hi_l[i]:
            m = hi_l[i]
        if m > c:
            e = ests[i]
            f = pending[i] = e._best.get(m) or e.best_cost(m)
            tm = work_l[i] * f[0]
            if charge and m != cur_pus[i]:
                tm += ch_l[i]
            if tm < t_cur:
                if rate:
                    sc = (1.0 / tm - 1.0 / t_cur) / (m - c) if tm > 0 else math.inf
                else:
                    sc = (t_cur - tm) / (m - c)
                push(heap, (-sc, names[i], i, m, tm))

    # The batch of each job's final count is the one its cached best cost there names.
    return {names[i]: (n[i], best[i][1]) for i in started.tolist()}


def allocate_table(
    views: EstimateViews,
    capacity: int,
    *,
    restart_s: float,
    restart_factor: float,
    rate: bool,
) -> dict[str, Assignment] | None:
    """The doubling-online decision on an :class:`EstimatesTable`'s columns, no heap.

    ``plan_bulk``'s plan (the same allocation as ``plan_doubling``), computed on the table's
    ladders: every job's whole chain of doublings ``lo -> 2 lo -> ... -> hi`` is scored at
    once (times, restart charges, scores), cut at its first doubling that does not improve.
    The heap serves a chain's doublings in order and the best head first, so it serves them
    sorted by the running maximum of each chain's heap keys (a doubling that scores better
    than its predecessor follows it at once), then name, then position in the chain. The
    doublings are taken in that order while they fit; after the first that does not, the few
    that still could are replayed one by one (a dropped doubling ends its job's chain).

    Args:
        views: the decision's views of the table (``EstimatesTable.views``).
        capacity: PUs available.
        restart_s: restart charge of every job (seconds).
        restart_factor: plus this many times each job's own restart cost.
        rate: the rate score (``rate_gain``); otherwise the claims' (``per_pu_gain``).

    Returns:
        ``{name: Assignment(pus, batch)}`` in the order ``plan_doubling`` returns it, or
        ``None`` where this path does not apply (minimums that do not all fit, stale views,
        duplicate names): the caller then runs the general one.

    Example:
        >>> import random
        >>> from tasks.sched.estimates_table import EstimatesTable
        >>> from tasks.sched.instances import random_estimates
        >>> views = EstimatesTable(random_estimates(random.Random(0), 3)).views(current=1)
        >>> plan = allocate_table(views, 8, restart_s=0.0, restart_factor=0.0, rate=True)
        >>> sum(a.pus for a in plan.values()) <= 8
        True
    """
    table = views.table
    count = len(table)
    if capacity < 0 or count == 0 or not views.current or not table.unique:
        return None
    lo = table.lo[:count]
    total_min = int(lo.sum())
    if total_min > capacity:
        return None
    table.refresh()  # speed refits, new gains and curve fits since the last decision
    lad, levels = table.pus[:count], table.levels[:count]
    times = table.work[:count, None] * table.cost[:count]
    charges = restart_s + restart_factor * table.restart[:count] if restart_factor else None
    charge = bool(restart_s) if charges is None else bool(charges.any())
    if charge:
        cur = np.array(views.current_pus, dtype=np.int64)
        ch = np.full(count, float(restart_s)) if charges is None else charges
        times = np.where(lad != cur[:, None], times + ch[:, None], times)

    # Phase 1: every job that can run starts at its minimum (they all fit).
    runs = times[:, 0] < math.inf
    started = np.flatnonzero(runs)
    free = capacity - (total_min if len(started) == count else int(lo[started].sum()))

    # Phase 2: each job's chain of doublings k -> k + 1, while they improve.
    t_n, t_m = times[:, :-1], times[:, 1:]
    size = lad[:, 1:] - lad[:, :-1]
    exists = np.arange(1, lad.shape[1]) < levels[:, None]
    with np.errstate(all="ignore"):
        chain = np.logical_and.accumulate(exists & (t_m < t_n) & runs[:, None], axis=1)
        if rate:
            key = np.where(t_m > 0, (1.0 / t_n - 1.0 / t_m) / size, -math.inf)
        else:
            key = (t_m - t_n) / size
    # The doublings in name order, then chain order: the order ties are served in.
    by_name = table.by_name
    named, ks = np.nonzero(chain[by_name])
    rows = by_name[named]
    if np.isnan(key[rows, ks]).any():
        return None  # keys a heap cannot order: leave them to plan_doubling
    served = np.maximum.accumulate(key, axis=1)[rows, ks]
    order = served.argsort()
    ordered = served[order]
    if (ordered[1:] == ordered[:-1]).any():
        order = served.argsort(kind="stable")  # equal keys: name, then chain order
    rows, ks = rows[order], ks[order]
    sizes = size[rows, ks]
    taken = np.zeros(count, dtype=np.int64)
    if free > 0 and len(rows):
        filled = np.cumsum(sizes)
        fit = int(np.searchsorted(filled, free, side="right"))
        taken += np.bincount(rows[:fit], minlength=count)
        left = free - (int(filled[fit - 1]) if fit else 0)
        if left > 0 and fit < len(rows):
            _replay(rows[fit:], ks[fit:], sizes[fit:], left, taken, lad.shape[1])

    if not len(started):
        return {}
    final = taken[started]
    pus = lad[started, final]
    batch = np.where(table.own[:count][started], -1, table.batch[started, final])
    # One Assignment per (PUs, batch) pair: 10,000 jobs share a few dozen.
    span = int(batch.max()) + 2
    codes, which = np.unique(pus * span + (batch + 1), return_inverse=True)
    shared = [Assignment(c // span, c % span - 1 if c % span else None) for c in codes.tolist()]
    names = table.names if len(started) == count else [table.names[i] for i in started.tolist()]
    return dict(zip(names, [shared[k] for k in which.tolist()], strict=True))


def _replay(
    rows: np.ndarray, ks: np.ndarray, sizes: np.ndarray, free: int, taken: np.ndarray, width: int
) -> None:
    """Serve the doublings after the first that did not fit, one by one, into ``taken``.

    A doubling larger than ``free`` never fits again (free PUs only shrink) and ends its
    job's chain, so only the smaller ones before their chain's first larger one are replayed.
    """
    big = sizes > free
    first_big = np.full(len(taken), width, dtype=np.int64)
    np.minimum.at(first_big, rows[big], ks[big])
    maybe = ~big & (ks < first_big[rows])
    dropped: set[int] = set()
    for r, s in zip(rows[maybe].tolist(), sizes[maybe].tolist(), strict=True):
        if r in dropped:
            continue
        if s > free:
            dropped.add(r)
            continue
        free -= s
        taken[r] += 1
        if free == 0:
            return
