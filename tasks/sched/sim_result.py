"""What a simulation reports: per-job results, the allocation timeline, headline numbers.

Split from :mod:`tasks.sched.simulator` (which re-exports both classes).

Example:
    >>> SimResult("fifo", "w", []).summary()["jobs"]
    0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tasks.sched.online import Information

__all__ = ["JobResult", "SimResult"]


@dataclass
class JobResult:
    """Outcome of one job: ``completion_s`` and ``jct_s`` are ``None`` if it never finished."""

    name: str
    application: str
    arrival_s: float
    completion_s: float | None
    jct_s: float | None
    restarts: int
    gpu_s: float


@dataclass
class SimResult:
    """Everything one simulation reports.

    Attributes:
        timeline: one ``(time_s, {job: GPUs})`` per policy call.
    """

    policy: str
    workload: str
    jobs: list[JobResult]
    timeline: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    capacity: int = 64
    information: Information = "oracle"

    @property
    def jcts(self) -> np.ndarray:
        return np.array([j.jct_s for j in self.jobs if j.jct_s is not None], dtype=float)

    @property
    def mean_jct_s(self) -> float:
        return float(self.jcts.mean()) if len(self.jcts) else math.nan

    @property
    def p50_jct_s(self) -> float:
        return float(np.percentile(self.jcts, 50)) if len(self.jcts) else math.nan

    @property
    def p99_jct_s(self) -> float:
        return float(np.percentile(self.jcts, 99)) if len(self.jcts) else math.nan

    @property
    def makespan_s(self) -> float:
        done = [j.completion_s for j in self.jobs if j.completion_s is not None]
        return max(done) - min(j.arrival_s for j in self.jobs) if done else math.nan

    @property
    def restarts(self) -> int:
        return sum(j.restarts for j in self.jobs)

    @property
    def unfinished(self) -> int:
        return sum(j.jct_s is None for j in self.jobs)

    @property
    def unfinished_names(self) -> list[str]:
        """Jobs still running or waiting when the simulation stopped (``max_time_s``)."""
        return [j.name for j in self.jobs if j.jct_s is None]

    @property
    def gpu_utilisation(self) -> float:
        """Mean share of GPUs allocated over the policy calls that had jobs."""
        used = [sum(a.values()) for _, a in self.timeline if a]
        return float(np.mean(used)) / self.capacity if used else 0.0

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a JSON-ready dict."""
        return {
            "policy": self.policy,
            "information": self.information,
            "workload": self.workload,
            "jobs": len(self.jobs),
            "unfinished": self.unfinished,
            "unfinished_jobs": self.unfinished_names,
            "mean_jct_s": self.mean_jct_s,
            "p50_jct_s": self.p50_jct_s,
            "p99_jct_s": self.p99_jct_s,
            "makespan_s": self.makespan_s,
            "gpu_utilisation": self.gpu_utilisation,
            "restarts": self.restarts,
        }

    def to_dict(self) -> dict[str, Any]:
        """Summary, per-job results and the allocation timeline."""
        return {
            **self.summary(),
            "per_job": [vars(j) for j in self.jobs],
            "timeline": [{"time_s": t, "gpus": a} for t, a in self.timeline],
        }
