"""The online estimates of a whole cluster as columns, kept current as the jobs report.

A decision over 10,000 jobs that asks each :class:`~tasks.sched.estimates.JobEstimates` for
its remaining work and its costs makes tens of thousands of Python calls. Here every job is a
row of numpy arrays, written when the job reports (``record_progress``, ``record_step``,
``record_gradient`` tell the table) rather than when a policy asks:

- ``work``: the remaining statistical progress (the patent's estimated training sets),
  recomputed by the estimator itself when the job reports progress;
- the **doubling ladder** of the row: the PU counts ``lo, 2 lo, 4 lo, ... , hi`` the doubling
  heuristic can visit, and at each the least seconds per unit of progress over the batch sizes
  the job accepts (``JobEstimates.best_cost``) with the batch that gives it;
- the step seconds behind those costs, per ladder count and batch size, so that a new gradient
  measurement (an epoch end) redoes only the predicted gains, for all such rows at once.

The values are the estimator's own, bit for bit: step times come from its speed fit, and the
gain and cost arithmetic is the same ``+ - * /`` in the same order, which numpy rounds exactly
as Python does. :meth:`EstimatesTable.views` returns the decision's views as a sequence of
:class:`~tasks.sched.policy.SchedJob` that any policy can read (made from the estimators on
first access); ``doubling-online`` reads the columns instead
(:func:`tasks.sched.doubling_bulk.allocate_table`).

Example:
    >>> import random
    >>> from tasks.sched.instances import random_estimates
    >>> table = EstimatesTable(random_estimates(random.Random(0), 3))
    >>> views = table.views(current=0)
    >>> [v.name for v in views], len(views)
    (['j0', 'j1', 'j2'], 3)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

from tasks.sched.estimates import JobEstimates
from tasks.sched.policy import SchedJob
from tasks.sched.step_grid import step_grid

__all__ = ["EstimateViews", "EstimatesTable", "ladder"]


def ladder(lo: int, hi: int) -> list[int]:
    """The PU counts the doubling heuristic can give a job: ``lo``, then doublings up to ``hi``.

    Example:
        >>> ladder(1, 6), ladder(3, 3)
        ([1, 2, 4, 6], [3])
    """
    out = [lo]
    while True:
        m = min(2 * out[-1], hi)
        if m <= out[-1]:
            return out
        out.append(m)


class EstimatesTable:
    """Rows of online estimates, one per job, in the order the jobs were added.

    Args:
        estimators: the jobs to start with (more come with :meth:`add`).
    """

    def __init__(self, estimators: Iterable[JobEstimates] = ()) -> None:
        self.estimators: list[JobEstimates] = []
        self.names: list[str] = []
        self._names: set[str] = set()
        self._by_name: np.ndarray | None = None
        self.version = 0  # bumped by every report: views of an older version are stale
        self._size, self._width, self._nb = 0, 1, 1
        self._alloc(16)
        # Rows whose ladder (speed fit, PU bounds or own batch) needs redoing (their gains
        # too: the ``regain`` column), and rows with a metric history, whose remaining work
        # is an Optimus curve fit.
        self._refit: set[JobEstimates] = set()
        self._stale_work: set[JobEstimates] = set()
        for est in estimators:
            self.add(est)

    def __len__(self) -> int:
        return self._size

    # -- storage ----------------------------------------------------------------------------
    def _alloc(self, rows: int) -> None:
        w, nb = self._width, self._nb
        self.work = np.zeros(rows)
        self.lo = np.ones(rows, dtype=np.int64)
        self.hi = np.ones(rows, dtype=np.int64)
        self.restart = np.zeros(rows)
        self.levels = np.ones(rows, dtype=np.int64)
        self.pus = np.ones((rows, w), dtype=np.int64)
        self.cost = np.full((rows, w), math.inf)
        self.batch = np.zeros((rows, w), dtype=np.int64)
        self.own = np.zeros(rows, dtype=bool)  # no accepted sizes: the job's own batch
        self._batch_now = np.zeros(rows, dtype=np.int64)  # the batch each job runs now
        self._sqr, self._var, self._init = np.ones(rows), np.zeros(rows), np.ones(rows)
        self._sizes = np.zeros((rows, nb), dtype=np.int64)
        self._steps = np.full((rows, w, nb), math.inf)
        self._totals = np.ones((rows, w, nb))
        self.per_pu = np.zeros(rows, dtype=bool)  # the total batch grows with the PUs
        self.regain = np.zeros(rows, dtype=bool)  # a new gradient measurement since refresh

    def _resize(self, rows: int, width: int, nb: int) -> None:
        """Grow the arrays to ``rows`` rows, ``width`` ladder counts and ``nb`` batch sizes."""
        old = {k: getattr(self, k) for k in _COLUMNS}
        n, w0, nb0 = self._size, self._width, self._nb
        self._width, self._nb = width, nb
        self._alloc(rows)
        for key, arr in old.items():
            new = getattr(self, key)
            if arr.ndim == 1:
                new[:n] = arr[:n]
            elif key == "_sizes":
                new[:n, :nb0] = arr[:n]
            elif arr.ndim == 2:
                new[:n, :w0] = arr[:n]
                if key == "pus":  # padding repeats the top count
                    new[:n, w0:] = arr[:n, w0 - 1 : w0]
            else:
                new[:n, :w0, :nb0] = arr[:n]

    def add(self, est: JobEstimates) -> None:
        """Make ``est`` the last row; its reports update the row from now on."""
        if est._table is not None:
            raise ValueError(f"job {est.spec.name!r} is already in a table")
        if self._size == len(self.work):
            self._resize(2 * self._size, self._width, self._nb)
        r = self._size
        self._size += 1
        est._table, est._row = self, r
        self.estimators.append(est)
        self.names.append(est.spec.name)
        self._names.add(est.spec.name)
        self._by_name = None
        spec = est.spec
        self.lo[r] = spec.min_pus
        self.hi[r] = max(spec.min_pus, est.max_pus())
        self.restart[r] = spec.restart_s
        self._init[r] = spec.init_batch_size
        self._batch_now[r] = est.batch
        self._set_grad(est)
        self._refit.add(est)
        self._on_progress(est)

    def remove(self, gone: Iterable[JobEstimates]) -> None:
        """Drop the rows of ``gone`` (finished jobs); the others keep their order."""
        drop = {id(e) for e in gone if e._table is self}
        if not drop:
            return
        keep = [r for r, e in enumerate(self.estimators) if id(e) not in drop]
        for e in self.estimators:
            if id(e) in drop:
                e._table, e._row = None, -1
                self._refit.discard(e)
                self._stale_work.discard(e)
        idx = np.array(keep, dtype=np.int64)
        for key in _COLUMNS:
            arr = getattr(self, key)
            arr[: len(keep)] = arr[idx]
        self.estimators = [self.estimators[r] for r in keep]
        self.names = [self.names[r] for r in keep]
        self._names = set(self.names)
        for r, e in enumerate(self.estimators):
            e._row = r
        self._size = len(keep)
        self._by_name = None
        self.version += 1

    @property
    def unique(self) -> bool:
        """Every row has its own name (the policies require it)."""
        return len(self._names) == self._size

    @property
    def by_name(self) -> np.ndarray:
        """The rows in name order: ties between proposals go to the smaller name."""
        if self._by_name is None:
            self._by_name = np.array(
                sorted(range(self._size), key=self.names.__getitem__), dtype=np.int64
            )
        return self._by_name

    # -- what the estimators report ---------------------------------------------------------
    def _set_grad(self, est: JobEstimates) -> None:
        sqr, var = est.grad if est.grad is not None else (1.0, est.noise_prior)
        self._sqr[est._row], self._var[est._row] = sqr, var

    def _on_step(self, est: JobEstimates) -> None:
        self.version += 1
        hi = max(est.spec.min_pus, est.max_pus())
        if est._model is None or hi != self.hi[est._row]:
            self.hi[est._row] = hi
            self._refit.add(est)

    def _on_gradient(self, est: JobEstimates) -> None:
        self.version += 1
        self._set_grad(est)
        self.regain[est._row] = True

    def _on_batch(self, est: JobEstimates) -> None:
        self.version += 1
        self._batch_now[est._row] = est.batch
        if not est.spec.batch_sizes:
            self._refit.add(est)

    def _on_progress(self, est: JobEstimates) -> None:
        self.version += 1
        if est.history:
            self._stale_work.add(est)  # an Optimus curve fit: once per decision, not per report
        else:
            self.work[est._row] = est.remaining_progress()

    # -- a decision -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring every row up to date: speed refits, new gains, curve-fitted remaining work."""
        for est in self._refit:
            self._rebuild(est)
        rows = np.flatnonzero(self.regain[: self._size])
        if len(rows):
            self._regain_rows(rows)
            self.regain[rows] = False
        for est in self._stale_work:
            self.work[est._row] = est.remaining_progress()
        self._refit.clear()
        self._stale_work.clear()

    def _rebuild(self, est: JobEstimates) -> None:
        """The row's ladder and the step seconds at each count and batch size (after a refit)."""
        r, spec = est._row, est.spec
        counts = ladder(spec.min_pus, int(self.hi[r]))
        sizes = spec.batch_sizes or (est.batch,)
        if len(counts) > self._width or len(sizes) > self._nb:
            rows = len(self.work)
            self._resize(rows, max(self._width, len(counts)), max(self._nb, len(sizes)))
        steps = np.full((self._width, self._nb), math.inf)
        totals = np.full((self._width, self._nb), float(spec.init_batch_size))
        steps[: len(counts), : len(sizes)] = step_grid(est, counts, sizes)
        grid = (
            np.multiply.outer(counts, sizes)
            if spec.batch_per_pu
            else np.array([sizes] * len(counts))
        )
        totals[: len(counts), : len(sizes)] = grid
        self.levels[r] = len(counts)
        self.pus[r, : len(counts)] = counts
        self.pus[r, len(counts) :] = counts[-1]
        self._sizes[r, : len(sizes)] = sizes
        self._sizes[r, len(sizes) :] = 0
        self._steps[r], self._totals[r] = steps, totals
        self.own[r] = not spec.batch_sizes
        self.per_pu[r] = spec.batch_per_pu
        self.regain[r] = True

    def _regain_rows(self, rows: np.ndarray) -> None:
        """Least cost and its batch at each ladder count of ``rows``, from their gradient noise.

        ``JobEstimates.best_cost`` on arrays: ``gain = (var + sqr) / (var / (total / init) +
        sqr)`` (``predicted_gain``), cost = step / gain, the first least cost wins.
        """
        sqr = self._sqr[rows][:, None, None]
        var = self._var[rows][:, None, None]
        # A total that does not grow with the PUs has one gain per batch size, not per count.
        totals = self._totals[rows] if self.per_pu[rows].any() else self._totals[rows, :1]
        scale = totals / self._init[rows][:, None, None]
        with np.errstate(all="ignore"):
            gain = (var + sqr) / (var / scale + sqr)
            odd = np.isinf(var) | ~(var + sqr > 0)
            if odd.any():
                gain = np.where(np.isinf(var), scale, np.where(var + sqr > 0, gain, 1.0))
            cost = self._steps[rows] / gain
        cost[np.isnan(cost)] = math.inf  # never below the best, as in best_cost's loop
        pick = cost.argmin(axis=2)  # the first of equal least costs, as best_cost's loop
        least = cost.min(axis=2)
        batch = np.take_along_axis(self._sizes[rows], pick, axis=1)
        # Nothing runs there: best_cost then names the job's current batch.
        batch = np.where(np.isinf(least), self._batch_now[rows][:, None], batch)
        self.cost[rows] = least
        self.batch[rows] = batch

    def views(
        self, current: int | Sequence[int] = 0, attained: float | Sequence[float] = 0.0
    ) -> EstimateViews:
        """The decision's views of every row (``current``/``attained``: one value or per row).

        The columns are brought up to date by the policy that reads them (:meth:`refresh`):
        a policy that reads the views instead pays nothing for them.

        Example:
            >>> EstimatesTable().views()[:]
            []
        """
        return EstimateViews(self, current, attained)


# Arrays with one entry (row) per job, moved together when rows are dropped.
_COLUMNS = (
    "work",
    "lo",
    "hi",
    "restart",
    "levels",
    "pus",
    "cost",
    "batch",
    "own",
    "_batch_now",
    "_sqr",
    "_var",
    "_init",
    "_sizes",
    "_steps",
    "_totals",
    "per_pu",
    "regain",
)


class EstimateViews(Sequence[SchedJob]):
    """One decision's :class:`SchedJob` views of a table's rows, made on first access.

    A policy that reads the table's columns (``doubling-online``) never makes them; any other
    gets each estimator's view, as ``JobEstimates.sched_job(current, attained)`` returns it.
    Valid for the decision it was made for, like the estimators' own views.
    """

    def __init__(
        self,
        table: EstimatesTable,
        current: int | Sequence[int],
        attained: float | Sequence[float],
    ) -> None:
        size = len(table)
        self.table = table
        self.version = table.version
        self.current_pus: list[int] = (
            [current] * size if isinstance(current, int) else list(current)
        )
        self.attained: list[float] = (
            [float(attained)] * size if isinstance(attained, int | float) else list(attained)
        )
        if len(self.current_pus) != size or len(self.attained) != size:
            raise ValueError(f"views: {size} rows but {len(self.current_pus)} current PU counts")
        self._views: list[SchedJob] | None = None

    @property
    def current(self) -> bool:
        """No job has reported since the views were made (the columns still describe them)."""
        return self.version == self.table.version

    def _all(self) -> list[SchedJob]:
        if self._views is None:
            self._views = [
                est.sched_job(c, a)
                for est, c, a in zip(
                    self.table.estimators, self.current_pus, self.attained, strict=True
                )
            ]
        return self._views

    def __len__(self) -> int:
        return len(self.current_pus)

    @overload
    def __getitem__(self, index: int) -> SchedJob: ...
    @overload
    def __getitem__(self, index: slice) -> list[SchedJob]: ...
    def __getitem__(self, index: int | slice) -> SchedJob | list[SchedJob]:
        return self._all()[index]

    def __iter__(self) -> Iterator[SchedJob]:
        return iter(self._all())
