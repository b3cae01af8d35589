"""From a job's stored samples to the scheduler's view (refit once per outer iteration).

The job store's samples feed the same online estimates the simulator's online policies plan
with (:class:`tasks.sched.estimates.JobEstimates`): the speed function fitted to the measured
steps (step and sync seconds at each PU count), the remaining epochs from the epoch budget and
the test metric after each epoch (Optimus's curve), the progress from the stored position.
Tessera's jobs keep the per-PU batch fixed (the global batch grows with the PUs) and their
ranks do not measure gradient noise, so the efficiency prior is perfect scaling
(``noise_prior = inf``) and the remaining time on ``n`` PUs is
``epochs_left * examples / (batch * n) * step_s(n, nodes, batch)``.

Example:
    >>> from tasks.training.spec import JobSpec
    >>> from tasks.training.store import JobStore
    >>> store = JobStore("sqlite://")
    >>> job = store.submit(JobSpec(name="a", epochs=2, max_pus=4))
    >>> [sj] = sched_jobs([job], [[]], pus_per_node=4)
    >>> sj.remaining_time(2) < sj.remaining_time(1)
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tasks.sched.estimates import JobEstimates, TrainingSpec
from tasks.sched.estimates_table import EstimatesTable, EstimateViews
from tasks.sched.speed import SpeedParams, SpeedSample, core_share, nodes_for
from tasks.training.store import Job, Sample

# Training examples per epoch of the built-in datasets (before a rank has reported it).
BUILTIN_EXAMPLES = {"digits": 1438, "sequences": 3277}
# Speed before the first measurement: small CPU models on one PU (seconds).
CPU_PRIOR = SpeedParams(
    c0=0.005, c1=2e-4, g_intra=0.004, l_intra=0.0005, g_inter=0.04, l_inter=0.002
)
# What one resize costs a job here (seconds): the stop at a step boundary, rank 0's
# checkpoint and the relaunch. bench_restart measures 0.2-0.3 s from the stop request to the
# first step at the new size with warm workers; the rest of an outer iteration (stopping all
# ranks, Dask placing the new tasks) is of the order of seconds, so 5 s. Restart-aware
# policies scale their charge by it (doubling-online: 200/30 restarts, about 33 s).
LIVE_RESTART_S = 5.0


def examples_per_epoch(job: Job) -> int:
    """Training examples per epoch: as reported by the job's ranks, else the built-in size."""
    if job.examples > 0:
        return job.examples
    return BUILTIN_EXAMPLES.get(job.spec.dataset or "", 10_000)


def steady_samples(samples: Sequence[Sample]) -> list[Sample]:
    """The samples that measured steady-state steps (in order).

    A launch's first sample is its first step alone (reported at once to time the restart):
    DDP builds its buckets and the allocator warms up then, so it is not the speed the
    scheduler plans with. Samples without a step time (none was taken) are left out too.

    Example:
        >>> from tasks.training.store import Sample
        >>> got = steady_samples([Sample(1, g, 0.0, 0, i, 1, step_s=0.1) for g, i in
        ...                       [(1, 0), (1, 1), (2, 2), (2, 3)]])
        >>> [s.step for s in got]
        [1, 3]
    """
    launches: set[int] = set()
    out = []
    for s in samples:
        first_of_launch = s.generation not in launches
        launches.add(s.generation)
        if s.step_s and s.step_s > 0 and not first_of_launch:
            out.append(s)
    return out


def job_view(
    job: Job, samples: Sequence[Sample], pus_per_node: int, cores_per_node: int | None = None
) -> JobEstimates:
    """The online estimates of a stored job, fed its samples.

    ``cores_per_node``: cores the CPU PU workers of a host share (``None`` for GPUs), so a
    prediction for more ranks than cores includes their sharing.
    """
    spec = job.spec
    examples = examples_per_epoch(job)
    view = JobEstimates(
        TrainingSpec(
            name=job.name,
            arrival_s=job.submitted_at,
            max_epochs=spec.epochs,
            examples_per_epoch=examples,
            init_batch_size=spec.batch_size,
            batch_size=spec.batch_size,
            batch_per_pu=True,
            min_pus=spec.min_pus,
            max_pus=spec.max_pus,
            requested_pus=spec.min_pus,
            priority=spec.priority,
            pus_per_node=pus_per_node,
            cores_per_node=cores_per_node,
            restart_s=LIVE_RESTART_S,
            metric_increasing=True,
            target=spec.target_metric,
        ),
        speed_prior=CPU_PRIOR,
        noise_prior=math.inf,
    )
    # Progress in steps at the initial (here: one-PU) batch, as the estimates count it.
    per_epoch = examples / spec.batch_size
    fraction = job.position / max(1, examples)
    view.record_progress(job.epoch, (job.epoch + fraction) * per_epoch, fraction)
    for s in steady_samples(samples):
        view.record_step(
            SpeedSample(
                n=s.pus,
                nodes=nodes_for(s.pus, pus_per_node),
                per_pu_batch=spec.batch_size,
                step_s=s.step_s or 0.0,  # never None: steady_samples has a step time
                sync_s=s.sync_s if s.pus > 1 else 0.0,
                share=s.share,
            )
        )
    epoch_ends = [s for s in samples if s.metric is not None]
    for s in epoch_ends:
        view.record_epoch(int(s.epoch), s.epoch * per_epoch, s.metric)
    view.record_progress(job.epoch, (job.epoch + fraction) * per_epoch, fraction)
    return view


def sched_jobs(
    jobs: Sequence[Job],
    samples: Sequence[Sequence[Sample]],
    pus_per_node: int,
    cores_per_node: int | None = None,
) -> EstimateViews:
    """The policies' views of ``jobs`` (``samples``: each job's), as one estimates table.

    The simulator's online policies decide on the same :class:`EstimatesTable`, so
    ``doubling-online`` runs here the code path the simulator measured.

    Example:
        >>> from tasks.training.spec import JobSpec
        >>> from tasks.training.store import JobStore
        >>> store = JobStore("sqlite://")
        >>> job = store.submit(JobSpec(name="a", epochs=2, max_pus=4))
        >>> [v.name for v in sched_jobs([job], [[]], pus_per_node=4)]
        ['a']
    """
    table = EstimatesTable(
        job_view(job, s, pus_per_node, cores_per_node) for job, s in zip(jobs, samples, strict=True)
    )
    return table.views(
        [job.pus if job.state == "running" else 0 for job in jobs],
        [job.attained_pu_s for job in jobs],
    )


def predicted_samples_per_s(
    job: Job,
    samples: Sequence[Sample],
    n: int,
    pus_per_node: int,
    cores_per_node: int | None = None,
) -> float:
    """Throughput the fitted speed function predicts on ``n`` PUs (examples per second)."""
    view = job_view(job, samples, pus_per_node, cores_per_node)
    share = core_share(min(n, pus_per_node), cores_per_node)
    return view.model.throughput(n, nodes_for(n, pus_per_node), job.spec.batch_size, share)
