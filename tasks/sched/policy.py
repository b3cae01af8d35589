"""The interface every scheduling policy implements.

A policy sees the jobs that are waiting or running and the number of PUs, and returns how
many PUs each job gets for the next interval (optionally with a batch size). The same
interface serves the trace simulator, the optimality study and the live reschedule flow,
so a policy is written once.

Example:
    >>> class OnePu:
    ...     name = "one-pu"
    ...     def allocate(self, jobs, capacity):
    ...         return {j.name: Assignment(1) for j in jobs[:capacity]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

RemainingTime = Callable[[int], float]


@dataclass(frozen=True)
class SchedJob:
    """What a policy knows about one job at a decision point.

    Attributes:
        name: unique job name.
        arrival_s: submission time (seconds on the caller's clock).
        remaining_time: estimated seconds to finish on ``n`` PUs, from the job's remaining
            epochs and its training speed function; ``math.inf`` where ``n`` cannot run it.
        min_pus: fewest PUs the job may run on.
        max_pus: most PUs the job may use.
        requested_pus: PUs the user asked for (fixed-size baselines use it).
        current_pus: PUs held now (0 when waiting); restart-aware policies use it.
        attained_pu_s: PU-seconds executed so far (least-attained-service policies).
        priority: larger runs first where a policy must order jobs.
        remaining_time_at: optional ``(n, batch_size) -> seconds`` for policies that also
            choose the batch size; ``batch_sizes`` lists the sizes it accepts.
        restart_s: seconds a restart costs this job (stop, checkpoint, relaunch), where known;
            restart-aware policies may scale their charge by it.
        best_time_at: optional ``n -> seconds``: the least remaining time on ``n`` PUs over
            ``batch_sizes``, for jobs that answer it faster than one ``remaining_time_at``
            call per size (online estimates cache it); ``best_batch_at`` gives the size.
            Batch-choosing policies use them when present.
    """

    name: str
    arrival_s: float
    remaining_time: RemainingTime
    min_pus: int = 1
    max_pus: int = 1 << 30
    requested_pus: int = 1
    current_pus: int = 0
    attained_pu_s: float = 0.0
    priority: int = 0
    remaining_time_at: Callable[[int, int], float] | None = None
    batch_sizes: tuple[int, ...] = field(default=())
    restart_s: float = 0.0
    best_time_at: Callable[[int], float] | None = None
    best_batch_at: Callable[[int], int] | None = None


@dataclass(frozen=True)
class Assignment:
    """PUs (and optionally a total batch size) a policy gives one job."""

    pus: int
    batch_size: int | None = None


Allocation = Mapping[str, Assignment]


@runtime_checkable
class Policy(Protocol):
    """A scheduling policy: jobs and capacity in, PUs per job out.

    Jobs missing from the result get no PUs. The total never exceeds ``capacity``.
    """

    name: str

    def allocate(self, jobs: Sequence[SchedJob], capacity: int) -> Allocation: ...
