"""One torch.distributed rank of a training job, from start to how it ends.

A job on ``k`` PUs runs as ``k`` calls of :func:`run_rank`, one per Dask worker. The ranks
rendezvous through a ``TCPStore`` that rank 0 opens on its own host with a port the OS
picks (published through a Dask ``Variable``), join a gloo (CPU) or NCCL (GPU) process
group, wrap the model in ``DistributedDataParallel`` (ring all-reduce of gradients) and
train on a resumable, deterministic data order (:mod:`tasks.training.group` holds the
rendezvous, :mod:`tasks.training.loop` the training loop; this module decides how a rank ends):

* Learning rate: ``spec.scaled_lr(world_size)`` (linear for SGD, square root for Adam).
* Stop: all ranks stop together at a step boundary; rank 0 checkpoints and requeues the job.
* Faults: a peer that dies makes the next collective raise (or time out after
  ``timeout_s``); the surviving ranks return the job to ``queued`` (it resumes from its last
  checkpoint). An exception in the workload's own code marks the job ``failed``.
* The job store is retried (a lock or a dropped connection backs off, see
  :mod:`tasks.training.schema`); a store still unreachable after its retries is a lost
  rank, never a failed job, since nothing is wrong with the job itself.

Example:
    Normally the launcher submits this on Dask workers; ``world_size=1`` also runs inline::

        ctx = RankContext(job_id=1, name="a", generation=1, rank=0, world_size=1,
                          spec=JobSpec(name="a"), store_url="sqlite:///jobs.db",
                          checkpoint_dir="ckpt")
        run_rank(ctx)
"""

from __future__ import annotations

import logging
import traceback

from tasks.training.context import JobCodeError, RankContext, RankResult
from tasks.training.group import join_process_group, leave_process_group
from tasks.training.store import JobStore, StoreUnavailable

__all__ = ["JobCodeError", "RankContext", "RankResult", "run_rank"]

logger = logging.getLogger(__name__)

_LOST_MARKERS = (
    "connection",
    "gloo",
    "timed out",
    "timeout",
    "peer",
    "broken pipe",
    "nccl",
    "socket",
    "rendezvous",
)


def _is_lost(exc: BaseException) -> bool:
    import torch.distributed as dist

    if isinstance(exc, getattr(dist, "DistError", ()) | StoreUnavailable):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(m in text for m in _LOST_MARKERS)


def _mark_failed(
    ctx: RankContext, store: JobStore, result: RankResult, cause: BaseException
) -> None:
    """Record the job as failed with its error and free its PUs (any rank may do it first)."""
    result.status, result.error = "failed", f"{type(cause).__name__}: {cause}"
    _record(
        ctx,
        store,
        "failed",
        expect=("running", "stopping", "queued"),
        error=result.error,
    )


def _record(
    ctx: RankContext, store: JobStore, to: str, *, expect: tuple[str, ...], error: str
) -> None:
    """Move the job to ``to`` and free its PUs; a store down past its retries is only logged.

    Raising here would lose the rank's result too; the launcher still gets it this way.
    """
    try:
        store.transition(
            ctx.job_id, to, expect=expect, generation=ctx.generation, error=error, pus=0, workers=[]
        )
    except StoreUnavailable as exc:
        logger.error("job %s rank %d: cannot record %s: %s", ctx.name, ctx.rank, to, exc)


def run_rank(ctx: RankContext) -> RankResult:
    """Run one rank of a job until it completes, is stopped, fails or loses a peer.

    Rank 0 also reports progress samples and state changes into the job store, so the
    job's state lives in the store and checkpoints, not in any process's memory.
    """
    import torch

    from tasks.training.checkpoint import CheckpointError

    torch.set_num_threads(max(1, ctx.threads))
    store = JobStore(ctx.store_url)
    result = RankResult(status="lost", rank=ctx.rank)
    try:
        try:
            # Slow first imports and data loading happen before the rendezvous, so they
            # never count against the collective timeout.
            from tasks.training.loop import train
            from tasks.training.workloads import build_workload

            try:
                workload = build_workload(ctx.spec)
            except Exception as exc:
                raise JobCodeError(str(exc)) from exc
            join_process_group(ctx)
            train(ctx, store, result, workload)
        finally:
            leave_process_group()
    except JobCodeError as exc:
        cause = exc.__cause__ or exc
        _mark_failed(ctx, store, result, cause)
        logger.error("job %s rank %d failed: %s", ctx.name, ctx.rank, result.error)
    except CheckpointError as exc:
        # No checkpoint loads: resuming from step 0 would silently discard the job's
        # progress, so it fails naming each file (see JobSpec.restart_on_bad_checkpoint).
        _mark_failed(ctx, store, result, exc)
        logger.error("job %s rank %d: %s", ctx.name, ctx.rank, result.error)
    except Exception as exc:
        if not _is_lost(exc):
            # Not a peer or network fault: retrying would fail the same way.
            logger.error("job %s rank %d: %s", ctx.name, ctx.rank, traceback.format_exc())
            _mark_failed(ctx, store, result, exc)
            return result
        result.status = "lost"
        result.error = f"rank {ctx.rank}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        _record(
            ctx,
            store,
            "queued",
            expect=("running", "stopping"),
            error=f"requeued after a lost rank ({result.error})",
        )
    finally:
        store.close()
    return result
