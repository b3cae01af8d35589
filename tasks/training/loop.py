"""The training loop of one rank: deterministic, resumable data order and DDP steps.

* Epoch ``e`` visits the permutation ``randperm(N, seed(e))``; ``position`` counts samples
  of it already trained, globally. Each step takes the next ``batch_size * world_size``
  indices and rank ``r`` trains the ``r``-th slice. A relaunch at any world size continues at
  ``position``, so no sample is trained twice in an epoch; only the final partial global
  batch of an epoch is dropped.
* Every step the ranks all-reduce ``[loss, stop]``; ``stop`` is set by rank 0 when the job's
  Dask ``Event`` is set, so all ranks stop together at the same step boundary. Rank 0 then
  writes the checkpoint and moves the job back to ``queued``.

Example:
    >>> rank_slice(0, 1, 8)
    slice(8, 16, None)
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.training.context import JobCodeError, RankContext, RankResult
from tasks.training.group import group_core_share, stop_event_name, store_namespace
from tasks.training.store import JobStore, Sample

if TYPE_CHECKING:
    import torch

    from tasks.training.checkpoint import Loaded
    from tasks.training.workloads import Workload

__all__ = ["epoch_permutation", "rank_slice", "resume", "train"]

logger = logging.getLogger(__name__)


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


def resume(
    ctx: RankContext, store: JobStore, model: torch.nn.Module, opt: torch.optim.Optimizer
) -> Loaded | None:
    """Load the job's newest usable checkpoint into ``model`` and ``opt`` (and the RNGs).

    A candidate must verify, be plain data, be one the job store recorded, and load into
    this model and optimizer; otherwise the previous one is tried. ``None`` means a fresh
    job (no checkpoint written, none recorded).

    Raises:
        CheckpointError: checkpoints exist or are recorded but none loads (the message names
            each file and why), unless the spec sets ``restart_on_bad_checkpoint``, in which
            case the model is reset and ``None`` returned.

    Example:
        >>> loaded = resume(ctx, store, model, opt)  # doctest: +SKIP
        >>> loaded.path.name if loaded else "fresh"  # doctest: +SKIP
        'ckpt-0000000044.pt'
    """
    from tasks.training.checkpoint import REQUIRED, CheckpointError, load_latest, restore_rng

    folder = Path(ctx.checkpoint_dir)
    rows = store.checkpoints(ctx.job_id)
    # Oldest first, so a file rewritten at the same step is checked against its last record.
    recorded = {Path(r["path"]).name: r["checksum"] for r in rows}
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def apply(state: dict[str, Any]) -> None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        restore_rng(state["rng"])

    try:
        loaded = load_latest(folder, required=REQUIRED, apply=apply, recorded=recorded)
        if loaded is None and rows:
            last = rows[-1]
            raise CheckpointError(
                f"no checkpoint in {folder}, but the job store records {len(rows)} "
                f"(last: step {last['step']}, {Path(last['path']).name})"
            )
    except CheckpointError as exc:
        if not ctx.spec.restart_on_bad_checkpoint:
            raise
        logger.warning("job %s: %s; restarting from step 0 as its spec asks", ctx.name, exc)
        model.load_state_dict(initial)
        return None
    return loaded


def train(ctx: RankContext, store: JobStore, result: RankResult, workload: Workload) -> None:
    """Train the job from its latest checkpoint until done, stopped or ``max_steps``.

    Fills ``result`` in place; rank 0 writes samples, checkpoints and state changes.
    Raises :class:`JobCodeError` when the workload's own code raises.
    """
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from tasks.training.checkpoint import rng_states, save_checkpoint
    from tasks.training.workloads import batch

    spec, rank, world = ctx.spec, ctx.rank, ctx.world_size
    device = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    ckpt_dir = Path(ctx.checkpoint_dir)
    model = workload.model.to(device)
    lr = spec.scaled_lr(world)

    def make_optimizer() -> torch.optim.Optimizer:
        # On the bare model's parameters: DDP wraps the same tensors, and the optimizer must
        # exist before DDP so a checkpoint's optimizer state is tried with its weights.
        if spec.optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        return torch.optim.Adam(model.parameters(), lr=lr)

    opt = make_optimizer()
    loaded = resume(ctx, store, model, opt)
    if loaded is None:
        opt = make_optimizer()  # a failed candidate may have half-loaded the old one
    epoch = position = step = 0
    if loaded is not None:
        epoch, position, step = (loaded.state[k] for k in ("epoch", "position", "step"))
        for group in opt.param_groups:
            group["lr"] = lr
    ddp = DistributedDataParallel(model)
    # Measured once per launch: the speed function divides it out (CPU PUs may share cores).
    share = group_core_share(ctx.threads)
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
            share=share,
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
