"""One torch.distributed rank of a training job: the one place that starts torch.distributed.

A job on ``k`` PUs runs as ``k`` calls of :func:`run_rank`, one per Dask worker. The ranks
rendezvous through a ``TCPStore`` that rank 0 opens on its own host with a port the OS
picks (published through a Dask ``Variable``), join a gloo (CPU) or NCCL (GPU) process
group, wrap the model in ``DistributedDataParallel`` (ring all-reduce of gradients) and
train on a resumable, deterministic data order:

* Epoch ``e`` visits the permutation ``randperm(N, seed(e))``; ``position`` counts samples
  of it already trained, globally. Each step takes the next ``batch_size * world_size``
  indices and rank ``r`` trains the ``r``-th slice. A relaunch at any world size continues at
  ``position``, so no sample is trained twice in an epoch; only the final partial global
  batch of an epoch is dropped.
* Learning rate: ``spec.scaled_lr(world_size)`` (linear for SGD, square root for Adam).
* Every step the ranks all-reduce ``[loss, stop]``; ``stop`` is set by rank 0 when the job's
  Dask ``Event`` is set, so all ranks stop together at the same step boundary. Rank 0 then
  writes the checkpoint and moves the job back to ``queued``.
* Faults: a peer that dies makes the next collective raise (or time out after
  ``timeout_s``); the surviving ranks return the job to ``queued`` (it resumes from its last
  checkpoint). An exception in the workload's own code marks the job ``failed``.

Example:
    Normally the launcher submits this on Dask workers; ``world_size=1`` also runs inline::

        ctx = RankContext(job_id=1, name="a", generation=1, rank=0, world_size=1,
                          spec=JobSpec(name="a"), store_url="sqlite:///jobs.db",
                          checkpoint_dir="ckpt")
        run_rank(ctx)
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.training.spec import JobSpec
from tasks.training.store import JobStore, Sample

if TYPE_CHECKING:
    from tasks.training.workloads import Workload

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


def store_namespace(store_url: str) -> str:
    """Short tag of a job store, so jobs of different stores on one cluster never collide.

    Example:
        >>> store_namespace("sqlite:////a/jobs.db") != store_namespace("sqlite:////b/jobs.db")
        True
    """
    return hashlib.sha1(store_url.encode()).hexdigest()[:8]


def stop_event_name(namespace: str, job_id: int, generation: int) -> str:
    """Dask ``Event`` that asks a job's ranks to stop."""
    return f"tessera-stop-{namespace}-{job_id}-{generation}"


def rendezvous_name(namespace: str, job_id: int, generation: int) -> str:
    """Dask ``Variable`` where rank 0 publishes its TCPStore ``host:port``."""
    return f"tessera-rdzv-{namespace}-{job_id}-{generation}"


def epoch_permutation(n: int, seed: int, epoch: int) -> Any:
    """The deterministic sample order of ``epoch`` (the same at every world size).

    Example:
        >>> bool((epoch_permutation(10, 0, 3) == epoch_permutation(10, 0, 3)).all())
        True
    """
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 7919 + epoch))


def rank_slice(position: int, rank: int, per_rank: int) -> slice:
    """The slice of the epoch permutation rank ``rank`` trains at global ``position``.

    Example:
        >>> rank_slice(64, 1, 16)
        slice(80, 96, None)
    """
    start = position + rank * per_rank
    return slice(start, start + per_rank)


class JobCodeError(Exception):
    """The workload's own code raised: the job fails, it is not retried."""


def _is_lost(exc: BaseException) -> bool:
    import torch.distributed as dist

    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(m in text for m in _LOST_MARKERS)


def _host() -> str:
    try:
        from distributed import get_worker

        addr = get_worker().address  # tcp://host:port
        return addr.split("://", 1)[-1].rsplit(":", 1)[0]
    except ValueError:  # not on a Dask worker (inline runs)
        return "127.0.0.1"


def _mark_failed(
    ctx: RankContext, store: JobStore, result: RankResult, cause: BaseException
) -> None:
    """Record the job as failed with its error and free its PUs (any rank may do it first)."""
    result.status, result.error = "failed", f"{type(cause).__name__}: {cause}"
    store.transition(
        ctx.job_id,
        "failed",
        expect=("running", "stopping", "queued"),
        generation=ctx.generation,
        error=result.error,
        pus=0,
        workers=[],
    )


def _init_process_group(ctx: RankContext) -> str:
    """Join the job's process group (NCCL on a GPU, gloo otherwise); return the backend."""
    import torch
    import torch.distributed as dist

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(
        backend,
        store=_rendezvous(ctx),
        rank=ctx.rank,
        world_size=ctx.world_size,
        timeout=timedelta(seconds=ctx.timeout_s),
    )
    return backend


def _rendezvous(ctx: RankContext) -> Any:
    """Open the TCPStore: rank 0 hosts it on a free port, the others look it up."""
    import torch.distributed as dist

    startup = timedelta(seconds=max(ctx.startup_timeout_s, ctx.timeout_s))
    if ctx.world_size == 1:
        return dist.TCPStore("127.0.0.1", 0, 1, is_master=True, timeout=startup)
    from distributed import Variable

    var = Variable(rendezvous_name(store_namespace(ctx.store_url), ctx.job_id, ctx.generation))
    if ctx.rank == 0:
        host = _host()
        store = dist.TCPStore(
            host, 0, ctx.world_size, is_master=True, timeout=startup, wait_for_workers=False
        )
        var.set(f"{host}:{store.port}")
    else:
        try:
            addr = var.get(timeout=startup.total_seconds())
        except TimeoutError:
            raise TimeoutError(
                f"rendezvous timed out after {startup.total_seconds():.0f} s"
            ) from None
        host, port = str(addr).rsplit(":", 1)
        store = dist.TCPStore(host, int(port), ctx.world_size, is_master=False, timeout=startup)
    # Startup barrier under the generous startup timeout; the process group's own
    # (shorter) timeout then only has to cover collectives between running ranks.
    store.set(f"ready/{ctx.rank}", "1")
    store.wait([f"ready/{r}" for r in range(ctx.world_size)], startup)
    return store


class _StopWatch:
    """Rank 0's throttled view of the job's stop Event (one scheduler RPC per interval)."""

    def __init__(self, ctx: RankContext, every_s: float = 0.2) -> None:
        self.every_s = every_s
        self.last = 0.0
        self.value = False
        self.event: Any = None
        if ctx.rank == 0:
            from distributed import Event, get_worker

            try:
                get_worker()
            except ValueError:  # not on a Dask worker (inline runs): never stopped
                return
            name = stop_event_name(store_namespace(ctx.store_url), ctx.job_id, ctx.generation)
            self.event = Event(name)

    def requested(self) -> bool:
        now = time.monotonic()
        if self.event is not None and not self.value and now - self.last >= self.every_s:
            self.last = now
            self.value = bool(self.event.is_set())
        return self.value


def run_rank(ctx: RankContext) -> RankResult:
    """Run one rank of a job until it completes, is stopped, fails or loses a peer.

    Rank 0 also reports progress samples and state changes into the job store, so the
    job's state lives in the store and checkpoints, not in any process's memory.
    """
    import torch
    import torch.distributed as dist

    torch.set_num_threads(max(1, ctx.threads))
    store = JobStore(ctx.store_url)
    result = RankResult(status="lost", rank=ctx.rank)
    try:
        try:
            # Slow first imports and data loading happen before the rendezvous, so they
            # never count against the collective timeout.
            from tasks.training.workloads import build_workload

            try:
                workload = build_workload(ctx.spec)
            except Exception as exc:
                raise JobCodeError(str(exc)) from exc
            _init_process_group(ctx)
            _train(ctx, store, result, workload)
        finally:
            if dist.is_initialized():
                dist.destroy_process_group()
    except JobCodeError as exc:
        cause = exc.__cause__ or exc
        _mark_failed(ctx, store, result, cause)
        logger.error("job %s rank %d failed: %s", ctx.name, ctx.rank, result.error)
    except Exception as exc:
        if not _is_lost(exc):
            # Not a peer or network fault: retrying would fail the same way.
            logger.error("job %s rank %d: %s", ctx.name, ctx.rank, traceback.format_exc())
            _mark_failed(ctx, store, result, exc)
            return result
        result.status = "lost"
        result.error = f"rank {ctx.rank}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        store.transition(
            ctx.job_id,
            "queued",
            expect=("running", "stopping"),
            generation=ctx.generation,
            error=f"requeued after a lost rank ({result.error})",
            pus=0,
            workers=[],
        )
    finally:
        store.close()
    return result


def allreduce_probe(ctx: RankContext, sizes_mib: list[int], iters: int = 5) -> dict[int, float]:
    """Time ``all_reduce`` of float32 tensors of each size in a process group set up exactly as
    a training job's (same rendezvous and backend); returns the median seconds per size.

    Used by ``bench/bench_allreduce.py`` to measure bus bandwidth through the launcher.
    """
    import statistics

    import torch
    import torch.distributed as dist

    torch.set_num_threads(max(1, ctx.threads))
    backend = _init_process_group(ctx)
    device = torch.device("cuda", 0) if backend == "nccl" else torch.device("cpu")
    out: dict[int, float] = {}
    try:
        for mib in sizes_mib:
            x = torch.ones(mib * (1 << 20) // 4, device=device)
            dist.all_reduce(x)  # warm-up (connections, buffers)
            times = []
            for _ in range(iters):
                dist.barrier()
                t0 = time.perf_counter()
                dist.all_reduce(x)
                if backend == "nccl":
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            out[mib] = statistics.median(times)
    finally:
        dist.destroy_process_group()
    return out


def _train(ctx: RankContext, store: JobStore, result: RankResult, workload: Workload) -> None:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from tasks.training.checkpoint import load_latest, restore_rng, rng_states, save_checkpoint
    from tasks.training.workloads import batch

    spec, rank, world = ctx.spec, ctx.rank, ctx.world_size
    device = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    ckpt_dir = Path(ctx.checkpoint_dir)
    loaded = load_latest(ckpt_dir)
    epoch = position = step = 0
    model = workload.model.to(device)
    if loaded is not None:
        model.load_state_dict(loaded.state["model"])
        epoch, position, step = (loaded.state[k] for k in ("epoch", "position", "step"))
    ddp = DistributedDataParallel(model)
    sync = {"s": 0.0}

    # DDP's default hook (mean all-reduce), timed so samples separate sync from compute.
    # Left unannotated: DDP rejects a hook whose bucket annotation is not dist.GradBucket.
    def timed_allreduce(state, bucket):
        t0 = time.perf_counter()
        fut = dist.all_reduce(bucket.buffer().div_(world), async_op=True).get_future()

        def done(f):
            sync["s"] += time.perf_counter() - t0
            return f.value()[0]

        return fut.then(done)

    ddp.register_comm_hook(None, timed_allreduce)
    lr = spec.scaled_lr(world)
    opt: torch.optim.Optimizer
    if spec.optimizer == "sgd":
        opt = torch.optim.SGD(ddp.parameters(), lr=lr, momentum=0.9)
    else:
        opt = torch.optim.Adam(ddp.parameters(), lr=lr)
    if loaded is not None:
        opt.load_state_dict(loaded.state["optimizer"])
        for group in opt.param_groups:
            group["lr"] = lr
        restore_rng(loaded.state["rng"])

    n = len(workload.train)  # type: ignore[arg-type]
    per_rank = spec.batch_size
    global_batch = per_rank * world
    if global_batch > n:
        raise JobCodeError(f"global batch {global_batch} is larger than the dataset ({n})")
    stop = _StopWatch(ctx)
    launch_steps = 0
    metric: float | None = None
    window: dict[str, float] = {"loss": 0.0, "steps": 0, "step_s": 0.0, "sync_s": 0.0}
    last_sample = last_ckpt = time.monotonic()

    def checkpoint() -> None:
        state = {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "epoch": epoch,
            "position": position,
            "step": step,
            "world_size": world,
            "rng": rng_states(),
            "spec": spec.model_dump(),
        }
        path, digest = save_checkpoint(ckpt_dir, state, step)
        store.add_checkpoint(
            ctx.job_id,
            str(path),
            step=step,
            epoch=epoch,
            position=position,
            world_size=world,
            checksum=digest,
        )

    def flush(now: float, force: bool = False) -> None:
        nonlocal last_sample
        steps = int(window["steps"])
        if rank != 0 or (steps == 0 and not force):
            return
        elapsed = now - last_sample
        sample = Sample(
            job_id=ctx.job_id,
            generation=ctx.generation,
            at=time.time(),
            epoch=epoch,
            step=step,
            pus=world,
            loss=window["loss"] / steps if steps else None,
            metric=metric,
            samples_per_s=steps * global_batch / elapsed if steps and elapsed > 0 else None,
            step_s=window["step_s"] / steps if steps else None,
            sync_s=window["sync_s"] / steps if steps else None,
        )
        result.samples.append(sample)
        store.add_samples([sample])
        store.update_progress(
            ctx.job_id, ctx.generation, epoch=epoch, position=position, examples=n, metric=metric
        )
        store.add_attained(ctx.job_id, elapsed * world)
        window.update(loss=0.0, steps=0, step_s=0.0, sync_s=0.0)
        last_sample = now

    stopped = False
    while epoch < spec.epochs and not stopped:
        perm = epoch_permutation(n, spec.seed, epoch)
        while position + global_batch <= n:
            t0 = time.perf_counter()
            sync["s"] = 0.0
            idx = perm[rank_slice(position, rank, per_rank)]
            x, y = batch(workload.train, idx)
            x, y = x.to(device), y.to(device)
            try:
                loss = workload.loss_fn(ddp(x), y)
            except Exception as exc:
                raise JobCodeError(str(exc)) from exc
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            position += global_batch
            step += 1
            launch_steps += 1
            flags = torch.tensor(
                [float(loss.detach()), 1.0 if stop.requested() else 0.0], device=device
            )
            t_flags = time.perf_counter()
            dist.all_reduce(flags)
            # Communication too: the speed function's sync term covers every collective.
            sync["s"] += time.perf_counter() - t_flags
            window["loss"] += float(flags[0]) / world
            window["steps"] += 1
            window["step_s"] += time.perf_counter() - t0
            window["sync_s"] += sync["s"]
            now = time.monotonic()
            # The first step of a launch is always reported: restart overhead is measured
            # from the stop request to it.
            if result.first_step_at is None or now - last_sample >= ctx.sample_every_s:
                result.first_step_at = result.first_step_at or time.time()
                flush(now)
            if flags[1] > 0 or (ctx.max_steps is not None and launch_steps >= ctx.max_steps):
                stopped = True
                break
            if rank == 0 and now - last_ckpt >= spec.checkpoint_every_s:
                checkpoint()
                last_ckpt = now
        if stopped:
            break
        epoch, position = epoch + 1, 0
        # Rank 0 evaluates and broadcasts, so every rank agrees on the early stop.
        verdict = torch.zeros(2, device=device)
        if rank == 0:
            try:
                metric = workload.metric()
            except Exception as exc:
                raise JobCodeError(str(exc)) from exc
            reached = spec.target_metric is not None and metric >= spec.target_metric
            verdict = torch.tensor([metric, 1.0 if reached else 0.0], device=device)
        dist.broadcast(verdict, 0)
        metric = float(verdict[0])
        flush(time.monotonic(), force=True)
        if rank == 0:
            checkpoint()
            last_ckpt = time.monotonic()
        if verdict[1] > 0:
            break

    result.step, result.epoch, result.position, result.metric = step, epoch, position, metric
    flush(time.monotonic())
    if stopped:
        result.status = "stopped"
        if rank == 0:
            checkpoint()
            store.update_progress(ctx.job_id, ctx.generation, epoch=epoch, position=position)
            store.transition(
                ctx.job_id,
                "queued",
                expect=("running", "stopping"),
                generation=ctx.generation,
                pus=0,
                workers=[],
            )
        return
    result.status = "completed"
    if rank == 0:
        store.transition(
            ctx.job_id,
            "completed",
            expect=("running", "stopping"),
            generation=ctx.generation,
            metric=metric,
            pus=0,
            workers=[],
        )
