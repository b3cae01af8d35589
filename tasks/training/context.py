"""What one rank of a training job is given and what it returns (plain data for Dask).

Example:
    >>> from tasks.training.spec import JobSpec
    >>> ctx = RankContext(job_id=1, name="a", generation=1, rank=0, world_size=2,
    ...                   spec=JobSpec(name="a"), store_url="sqlite://", checkpoint_dir="ckpt")
    >>> RankResult(status="stopped", rank=ctx.rank).samples
    []
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tasks.training.spec import JobSpec
from tasks.training.store import Sample

__all__ = ["JobCodeError", "RankContext", "RankResult"]


@dataclass(frozen=True)
class RankContext:
    """Everything one rank needs; plain data so Dask can ship it.

    Attributes:
        job_id / name / generation: the job and its launch number (names Dask objects).
        rank / world_size: this rank and the number of ranks (PUs).
        spec: the job spec.
        store_url: job store URL (every rank opens its own connection).
        checkpoint_dir: the job's checkpoint folder (shared by all ranks' hosts).
        timeout_s: collective timeout; bounds how long ranks wait on a dead peer.
        startup_timeout_s: how long ranks wait for each other to start (a fresh worker
            process imports torch first, which can take many seconds on a busy host).
        threads: torch intra-op threads of this rank.
        sample_every_s: how often rank 0 writes a progress sample.
        max_steps: stop after this many steps of this launch (benchmarks); ``None``: no cap.
        trusted_network: allow the rendezvous (plain TCP) off loopback.
    """

    job_id: int
    name: str
    generation: int
    rank: int
    world_size: int
    spec: JobSpec
    store_url: str
    checkpoint_dir: str
    timeout_s: float = 60.0
    startup_timeout_s: float = 300.0
    threads: int = 1
    sample_every_s: float = 1.0
    max_steps: int | None = None
    trusted_network: bool = False


@dataclass
class RankResult:
    """What a rank returns: how it ended, where the job is, and its progress samples."""

    status: str  # completed | stopped | failed | lost
    rank: int
    step: int = 0
    epoch: int = 0
    position: int = 0
    metric: float | None = None
    error: str | None = None
    samples: list[Sample] = field(default_factory=list)
    first_step_at: float | None = None


class JobCodeError(Exception):
    """The workload's own code raised: the job fails, it is not retried."""
