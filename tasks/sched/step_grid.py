"""A job's predicted step seconds on a grid of PU counts and batch sizes, in one numpy pass.

:meth:`JobEstimates.step_seconds <tasks.sched.estimates.JobEstimates.step_seconds>` and the
feasibility test of :meth:`JobEstimates.cost <tasks.sched.estimates.JobEstimates.cost>`, for
every pair of a ladder of PU counts and the batch sizes a job accepts: what an
:class:`~tasks.sched.estimates_table.EstimatesTable` row needs after each speed refit. The
simulator refits a job every few intervals, and 35-50 Python evaluations per refit made its
runs half again as long; here they are a few dozen array operations.

Bit for bit the estimator's numbers: the batch split (``batch_split``), the ring's volume and
hops, the core share and the accumulation are the same ``+ - * /``, ``ceil`` and truncation in
the same order and with the same brackets, which numpy rounds exactly as Python does.

Example:
    >>> from tasks.sched.estimates import JobEstimates, TrainingSpec
    >>> from tasks.sched.speed import SpeedParams
    >>> spec = TrainingSpec("a", 0.0, 1, 1000, 10, batch_sizes=(10, 20))
    >>> est = JobEstimates(spec, speed_prior=SpeedParams(0.0, 0.01, 0.0, 0.0, 0.0, 0.0))
    >>> step_grid(est, [1, 2], (10, 20)).tolist() == [
    ...     [est.step_seconds(n, b) for b in (10, 20)] for n in (1, 2)]
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tasks.sched.estimates import JobEstimates
from tasks.sched.training_spec import _EPS

__all__ = ["step_grid"]


def step_grid(est: JobEstimates, counts: Sequence[int], sizes: Sequence[int]) -> np.ndarray:
    """Seconds per step of ``est`` at each ``(count, size)``; ``inf`` where it cannot run.

    Args:
        est: the job's estimator (its speed function is refitted first if stale).
        counts: PU counts (rows of the result).
        sizes: total batch sizes, per PU when the spec's ``batch_per_pu`` (columns).

    Returns:
        A ``len(counts) x len(sizes)`` array: ``est.step_seconds(n, b)`` where
        ``est.cost(n, b)`` is finite, ``inf`` elsewhere.
    """
    with np.errstate(all="ignore"):  # cells that cannot run may divide by zero: inf there
        return _grid(est, counts, sizes)


def _grid(est: JobEstimates, counts: Sequence[int], sizes: Sequence[int]) -> np.ndarray:
    spec = est.spec
    p = est.model.params
    n = np.array(counts, dtype=np.int64)[:, None]
    b = np.array(sizes, dtype=np.int64)[None, :]
    n, b = np.broadcast_arrays(n, b)
    max_local, zeros = spec.max_local_bsz, np.zeros(n.shape, dtype=np.int64)
    # Feasibility, as JobEstimates.cost tests it.
    if spec.batch_per_pu:
        ok = b * n <= spec.examples_per_epoch
        if max_local is not None:
            ok &= b <= max_local
        atomic, accum = b, zeros
    else:
        ok = n * spec.min_local_bsz <= b
        if not spec.accumulate and max_local is not None:
            ok &= -(-b // n) <= max_local
        if not spec.accumulate:
            atomic, accum = -(-b // n), zeros
        else:
            atomic, accum = _batch_split(b, n, spec.init_batch_size, max_local, spec.max_batch_size)
    # SpeedModel.step_seconds and sync_seconds on packed nodes, with the core share.
    ppn, cores = spec.pus_per_node, spec.cores_per_node
    nodes = np.maximum(1, -(-n // ppn))
    share = np.maximum(1.0, np.minimum(n, ppn) / cores) if cores else np.ones(n.shape)
    volume, hops = 2.0 * (n - 1) / n, 2.0 * (n - 1)
    one = nodes <= 1
    link = np.where(
        one, volume * p.g_intra + hops * p.l_intra, volume * p.g_inter + hops * p.l_inter
    )
    # sync_seconds sums all four terms; the other link's two are exact zeros.
    sync_in = np.where(
        one, volume * p.g_intra + hops * p.l_intra, 0.0 * p.g_intra + 0.0 * p.l_intra
    )
    sync_sum = np.where(
        one, sync_in + 0.0 * p.g_inter + 0.0 * p.l_inter, sync_in + volume * p.g_inter
    )
    sync_sum = np.where(one, sync_sum, sync_sum + hops * p.l_inter)
    multi = n > 1
    t = p.c0 + p.c1 * atomic
    t = np.where(multi, (t + p.c_dist) + link, t)
    step = t * share
    sync = share * np.where(multi, sync_sum, 0.0)
    step = np.where(accum != 0, step + (step - sync) * accum, step)
    return np.where(ok & np.isfinite(step), step, math.inf)


def _batch_split(
    batch: np.ndarray, n: np.ndarray, init: int, max_local: int | None, max_batch: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~tasks.sched.training_spec.batch_split` on arrays (AdaptDL's rule)."""
    local = np.ceil(batch / n - _EPS)
    if max_local is None:
        accum = np.zeros(batch.shape)
    else:
        accum = np.ceil(local / max_local - _EPS) - 1
        accum = np.where((n == 1) & (batch > init), np.maximum(1, accum), accum)
    atomic = np.ceil(local / (accum + 1) - _EPS)
    if max_batch is not None:
        atomic = np.minimum(atomic, np.trunc(max_batch / (n * (accum + 1))))
    return atomic.astype(np.int64), accum.astype(np.int64)
