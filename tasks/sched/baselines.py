"""Baseline policies behind the :class:`~tasks.sched.policy.Policy` interface.

- :class:`FifoPolicy`: static FIFO; each job runs on the PUs it requested, strictly in
  arrival order (no backfill, so a running job is never preempted).
- :class:`OptimusOraclePolicy`: Optimus with an oracle for the remaining work: one PU per
  job in the order given, then one PU at a time to the job whose remaining time drops most.
- :class:`TiresiasPolicy`: discretised two-queue least-attained-service; a job is demoted
  for good once it has used 16 PU-hours; FIFO inside a queue; a job runs on its requested
  PUs when they fit (later jobs may fill the gaps); no starvation rule.

All three place PUs by the reference ``spread`` rule, as the published baselines did.

Example:
    >>> from tasks.sched.policy import SchedJob
    >>> jobs = [SchedJob("a", 0.0, lambda n: 100.0 / n, max_pus=4)]
    >>> OptimusOraclePolicy().allocate(jobs, 3)["a"].pus
    3
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from tasks.sched.placement import PlacementRule
from tasks.sched.policy import Allocation, Assignment, SchedJob

TIRESIAS_THRESHOLD_PU_S = 16 * 3600.0


class FifoPolicy:
    """Static FIFO with the requested PU count.

    Example:
        >>> from tasks.sched.policy import SchedJob
        >>> jobs = [SchedJob(n, t, lambda k: 1.0, requested_pus=p)
        ...         for n, t, p in (("a", 0, 3), ("b", 1, 2), ("c", 2, 1))]
        >>> sorted(FifoPolicy().allocate(jobs, 4))
        ['a']
    """

    name = "fifo"
    placement: PlacementRule = "spread"
    information = "online"  # needs only arrival order and requested PUs

    def allocate(self, jobs: Sequence[SchedJob], capacity: int) -> Allocation:
        free = capacity
        result: dict[str, Assignment] = {}
        for job in sorted(jobs, key=lambda j: j.arrival_s):
            want = max(job.min_pus, min(job.requested_pus, job.max_pus))
            if want > free:
                break
            result[job.name] = Assignment(want)
            free -= want
        return result


class OptimusOraclePolicy:
    """Greedy +1 PU by the largest drop in remaining time (Optimus with true remaining work).

    Jobs are taken in the order given (the simulator gives arrival order). Ties go to the
    earlier job. The result lists jobs by ascending PU count, the order in which the
    reference placed them.

    Example:
        >>> from tasks.sched.policy import SchedJob
        >>> jobs = [SchedJob("long", 0.0, lambda n: 1000.0 / n, max_pus=8),
        ...         SchedJob("short", 1.0, lambda n: 10.0 / n, max_pus=8)]
        >>> {k: v.pus for k, v in OptimusOraclePolicy().allocate(jobs, 4).items()}
        {'short': 1, 'long': 3}
    """

    name = "optimus"
    placement: PlacementRule = "spread"
    information = "oracle"  # true remaining iterations and measured step times

    def allocate(self, jobs: Sequence[SchedJob], capacity: int) -> Allocation:
        free = capacity
        pus: dict[str, int] = {}
        heap: list[tuple[float, int]] = []

        def push(i: int) -> None:
            job, n = jobs[i], pus[jobs[i].name]
            if n + 1 > job.max_pus:
                return
            gain = job.remaining_time(n) - job.remaining_time(n + 1)
            if gain > 0:
                heapq.heappush(heap, (-gain, i))

        for i, job in enumerate(jobs):
            if free < 1:
                pus[job.name] = 0
                continue
            pus[job.name] = 1
            free -= 1
            push(i)
        while free > 0 and heap:
            _, i = heapq.heappop(heap)
            pus[jobs[i].name] += 1
            free -= 1
            push(i)
        order = sorted(range(len(jobs)), key=lambda i: pus[jobs[i].name])
        return {jobs[i].name: Assignment(pus[jobs[i].name]) for i in order if pus[jobs[i].name]}


class TiresiasPolicy:
    """Discretised two-queue LAS (Tiresias) with the requested PU count.

    Stateful: it remembers each job's queue between calls. A job is demoted once its
    attained PU-seconds reach ``threshold_pu_s``, and never promoted back.

    Example:
        >>> from tasks.sched.policy import SchedJob
        >>> policy = TiresiasPolicy(threshold_pu_s=100.0)
        >>> old = SchedJob("old", 0.0, lambda n: 1.0, requested_pus=2, attained_pu_s=200.0)
        >>> new = SchedJob("new", 5.0, lambda n: 1.0, requested_pus=2)
        >>> list(policy.allocate([old, new], 2))
        ['new']
    """

    name = "tiresias"
    placement: PlacementRule = "spread"
    information = "online"  # needs only requested PUs and attained service

    def __init__(self, threshold_pu_s: float = TIRESIAS_THRESHOLD_PU_S) -> None:
        self.threshold_pu_s = threshold_pu_s
        self._queues: tuple[list[str], list[str]] = ([], [])

    def allocate(self, jobs: Sequence[SchedJob], capacity: int) -> Allocation:
        by_name = {job.name: job for job in jobs}
        high, low = (
            [n for n in self._queues[0] if n in by_name],
            [n for n in self._queues[1] if n in by_name],
        )
        known = set(high) | set(low)
        high.extend(job.name for job in jobs if job.name not in known)
        for job in jobs:
            if job.name in high and job.attained_pu_s >= self.threshold_pu_s:
                high.remove(job.name)
                low.append(job.name)
        self._queues = (high, low)
        free = capacity
        result: dict[str, Assignment] = {}
        for name in (*high, *low):
            want = by_name[name].requested_pus
            if want <= free:
                result[name] = Assignment(want)
                free -= want
        return result
