"""The scheduling view of a live training job (a thin front of :mod:`tasks.sched.estimates`).

A :class:`JobView` collects what the reschedule loop learns about a job while it runs
(measured steps, the loss or metric after each epoch, PU bounds) and turns it, once per outer
iteration, into the :class:`~tasks.sched.policy.SchedJob` the policies read: the remaining time
on ``n`` PUs is the remaining epochs times the optimiser steps per epoch times the fitted step
time for ``n`` PUs packed onto the fewest nodes.

Example:
    >>> job = JobView("resnet", arrival_s=0.0, batch_size=256, examples_per_epoch=50_000,
    ...               max_epochs=10, pus_per_node=4)
    >>> job.record_step(SpeedSample(n=1, nodes=1, per_pu_batch=256, step_s=0.5))
    >>> sched = job.to_sched_job()
    >>> round(sched.remaining_time(1))  # 10 epochs x 195.3 steps x 0.5 s
    977
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tasks.sched.estimates import JobEstimates, TrainingSpec
from tasks.sched.policy import SchedJob
from tasks.sched.speed import SpeedModel, SpeedParams, SpeedSample

__all__ = ["JobView", "SpeedSample"]


@dataclass
class JobView:
    """What the scheduler knows about one job, updated as it trains.

    Attributes:
        name: unique job name.
        arrival_s: submission time.
        batch_size: total batch size per optimiser step (split over the PUs), or the
            batch of each PU when ``batch_per_pu`` is set.
        batch_per_pu: ``batch_size`` is per PU, so the total batch grows with the PUs (the
            live training jobs' rule); otherwise it is the total, split over the PUs.
        examples_per_epoch: training examples in one epoch.
        max_epochs: epoch budget; the job stops there at the latest.
        min_pus: fewest PUs it may run on.
        max_pus: most PUs it may use.
        requested_pus: PUs the user asked for.
        current_pus: PUs it holds now (0 while waiting).
        priority: larger is more important.
        pus_per_node: PUs per node, for packing ``n`` PUs onto the fewest nodes.
        cores_per_node: CPU cores per node when the PUs are CPU workers that may share them
            (see :func:`tasks.sched.speed.core_share`); ``None``: each PU is a device.
        max_per_pu_batch: largest batch one PU holds in memory; ``None`` is unbounded.
        batch_sizes: total batch sizes the job accepts, for policies that pick one.
        epochs_done: epochs trained so far (fractions allowed).
        attained_pu_s: PU-seconds consumed so far.
        speed_prior: speed coefficients assumed before the first measurement.
        metric_increasing: the history is a metric that grows (accuracy) rather than a loss.
        target: stop when the loss (metric) reaches this value; ``None`` stops when it flattens.
        samples: measured steps.
        history: ``(epoch, value)`` after each epoch.
    """

    name: str
    arrival_s: float
    batch_size: int
    examples_per_epoch: int
    max_epochs: float
    min_pus: int = 1
    max_pus: int = 1 << 30
    requested_pus: int = 1
    current_pus: int = 0
    priority: int = 0
    pus_per_node: int = 4
    cores_per_node: int | None = None
    max_per_pu_batch: int | None = None
    batch_sizes: tuple[int, ...] = ()
    batch_per_pu: bool = False
    epochs_done: float = 0.0
    attained_pu_s: float = 0.0
    speed_prior: SpeedParams = field(default_factory=SpeedParams)
    metric_increasing: bool = False
    target: float | None = None
    samples: list[SpeedSample] = field(default_factory=list)
    history: list[tuple[float, float]] = field(default_factory=list)
    _estimates: JobEstimates | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.examples_per_epoch < 1:
            raise ValueError(
                f"job {self.name!r}: batch_size and examples_per_epoch must be positive, "
                f"got {self.batch_size} and {self.examples_per_epoch}"
            )
        if not 1 <= self.min_pus <= self.max_pus:
            raise ValueError(
                f"job {self.name!r}: need 1 <= min_pus <= max_pus, "
                f"got {self.min_pus}..{self.max_pus}"
            )

    def record_step(self, sample: SpeedSample) -> None:
        """Add one measured step; the model is refitted at the next :meth:`refresh`."""
        self.samples.append(sample)
        self._estimates = None

    def record_epoch(self, epoch: float, value: float) -> None:
        """Add the loss (metric) measured after ``epoch`` epochs and advance ``epochs_done``."""
        if not math.isfinite(value):
            raise ValueError(f"job {self.name!r}: epoch {epoch} value is not finite ({value})")
        self.history.append((epoch, value))
        self.epochs_done = max(self.epochs_done, epoch)
        self._estimates = None

    def refresh(self) -> None:
        """Refit the speed function and the remaining-epochs estimate (once per outer iteration)."""
        self._estimates = self._build()

    def _build(self) -> JobEstimates:
        # The estimates themselves live in tasks.sched.estimates (one module for the
        # simulator's online policies, the reschedule flow and this view). A total batch over
        # a PU's memory cannot run here (no accumulation), and other batch sizes scale
        # perfectly (no gradient noise is measured), as this view always assumed.
        est = JobEstimates(
            TrainingSpec(
                name=self.name,
                arrival_s=self.arrival_s,
                max_epochs=self.max_epochs,
                examples_per_epoch=self.examples_per_epoch,
                init_batch_size=self.batch_size,
                batch_size=self.batch_size,
                batch_sizes=self.batch_sizes,
                max_local_bsz=self.max_per_pu_batch,
                batch_per_pu=self.batch_per_pu,
                min_pus=self.min_pus,
                max_pus=self.max_pus,
                requested_pus=self.requested_pus,
                priority=self.priority,
                pus_per_node=self.pus_per_node,
                cores_per_node=self.cores_per_node,
                accumulate=False,
                metric_increasing=self.metric_increasing,
                target=self.target,
            ),
            speed_prior=self.speed_prior,
            noise_prior=math.inf,
        )
        for sample in self.samples:
            est.record_step(sample)
        per_epoch = self.examples_per_epoch / self.batch_size
        for epoch, value in self.history:
            est.history.append((epoch, value))
        whole = int(self.epochs_done)
        est.record_progress(whole, self.epochs_done * per_epoch, self.epochs_done - whole)
        return est

    @property
    def estimates(self) -> JobEstimates:
        if self._estimates is None:
            self.refresh()
        assert self._estimates is not None
        return self._estimates

    @property
    def model(self) -> SpeedModel:
        return self.estimates.model

    @property
    def epochs_left(self) -> float:
        return self.estimates.remaining_epochs()

    def remaining_time_at(self, n: int, batch_size: int) -> float:
        """Seconds to finish on ``n`` PUs with total batch ``batch_size``; ``inf`` if it can't run.

        Example:
            >>> j = JobView("a", 0.0, batch_size=64, examples_per_epoch=6400, max_epochs=1,
            ...             speed_prior=SpeedParams(0.0, 0.01, 0.0, 0.0, 0.0, 0.0))
            >>> j.remaining_time_at(2, 64)  # 100 steps x 32 per PU x 0.01 s
            32.0
        """
        return self.estimates.remaining_time_at(n, batch_size)

    def remaining_time(self, n: int) -> float:
        """Seconds to finish on ``n`` PUs at the job's own batch size."""
        return self.remaining_time_at(n, self.batch_size)

    def to_sched_job(self) -> SchedJob:
        """The policies' view, with the models fitted now and frozen for this decision.

        Samples recorded after this call do not change the returned job's times.
        """
        self.refresh()
        return self.estimates.sched_job(self.current_pus, self.attained_pu_s)
