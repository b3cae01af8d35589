"""What a job is, for the estimates: its spec, its batch split, its statistical efficiency.

Split from :mod:`tasks.sched.estimates` (which re-exports all three) to keep that module to
the estimates themselves.

Example:
    >>> batch_split(2048, 1, 128, 512, 4096)
    (512, 3)
    >>> predicted_gain(128, 128, sqr=1.0, var=5.0)
    1.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TrainingSpec", "batch_split", "predicted_gain"]

_EPS = 1e-8


@dataclass(frozen=True)
class TrainingSpec:
    """What the user submitted: fixed for the job's life.

    Attributes:
        name: unique job name.
        arrival_s: submission time.
        max_epochs: epoch budget.
        examples_per_epoch: training examples in one epoch.
        init_batch_size: the total batch the efficiency gain is relative to (gain 1).
        batch_size: the total batch the job starts with (per PU when ``batch_per_pu``).
        batch_sizes: total batch sizes a batch-choosing policy may pick (``()``: none).
        min_local_bsz: smallest per-PU batch.
        max_local_bsz: largest per-PU batch in memory (``None``: unbounded, no accumulation).
        max_batch_size: largest total batch (``None``: unbounded).
        batch_per_pu: the batch is per PU, so the total grows with the PUs (Tessera's jobs).
        min_pus: fewest PUs.
        max_pus: most PUs.
        requested_pus: PUs the user asked for (fixed-size baselines).
        priority: larger runs first.
        pus_per_node: PUs per node (PUs are packed onto the fewest nodes).
        cores_per_node: cores that CPU PU workers of a node share (``None``: devices).
        restart_s: seconds a restart costs the job (stop, checkpoint, relaunch).
        accumulate: a total batch whose per-PU share exceeds ``max_local_bsz`` runs with
            gradient accumulation (AdaptDL's rule); ``False``: it cannot run.
        metric_increasing: the per-epoch metric grows (accuracy) rather than falls (loss).
        target: stop at this metric; ``None`` stops where the curve flattens or at the budget.
    """

    name: str
    arrival_s: float
    max_epochs: float
    examples_per_epoch: float
    init_batch_size: int
    batch_size: int = 0
    batch_sizes: tuple[int, ...] = ()
    min_local_bsz: int = 1
    max_local_bsz: int | None = None
    max_batch_size: int | None = None
    batch_per_pu: bool = False
    min_pus: int = 1
    max_pus: int = 1 << 30
    requested_pus: int = 1
    priority: int = 0
    pus_per_node: int = 4
    cores_per_node: int | None = None
    restart_s: float = 0.0
    accumulate: bool = True
    metric_increasing: bool = False
    target: float | None = None


def batch_split(
    batch: int, n: int, init_batch: int, max_local: int | None, max_batch: int | None
) -> tuple[int, int]:
    """Per-PU (atomic) batch and accumulation steps for a total batch on ``n`` PUs.

    AdaptDL's rule, as the Pollux simulator applies it: ``ceil(B / n)`` per PU, accumulation
    when that exceeds the memory limit (and at least one step on 1 PU above the initial
    batch), the atomic batch capped so the total stays within the largest batch.

    Example:
        >>> batch_split(2048, 1, 128, 512, 4096)
        (512, 3)
    """
    local = math.ceil(batch / n - _EPS)
    accum = 0 if max_local is None else math.ceil(local / max_local - _EPS) - 1
    if n == 1 and batch > init_batch and max_local is not None:
        accum = max(1, accum)
    atomic = math.ceil(local / (accum + 1) - _EPS)
    if max_batch is not None:
        atomic = min(atomic, int(max_batch / (n * (accum + 1))))
    return atomic, accum


def predicted_gain(batch: float, init_batch: float, sqr: float, var: float) -> float:
    """Progress per step at ``batch`` relative to the initial batch, from gradient statistics.

    ``var = inf`` is perfect scaling (the gain is the batch ratio).

    Example:
        >>> predicted_gain(256, 128, sqr=1.0, var=1.0)  # (1 + 1) / (1/2 + 1)
        1.3333333333333333
    """
    scale = batch / init_batch
    if math.isinf(var):
        return scale
    return (var + sqr) / (var / scale + sqr) if var + sqr > 0 else 1.0
