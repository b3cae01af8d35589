"""The scheduling view of a live training job.

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

from tasks.sched.convergence import remaining_epochs
from tasks.sched.policy import SchedJob
from tasks.sched.speed import SpeedModel, SpeedParams, SpeedSample, core_share, nodes_for

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
    _model: SpeedModel | None = field(default=None, init=False, repr=False, compare=False)
    _epochs_left: float | None = field(default=None, init=False, repr=False, compare=False)

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
        self._model = None

    def record_epoch(self, epoch: float, value: float) -> None:
        """Add the loss (metric) measured after ``epoch`` epochs and advance ``epochs_done``."""
        if not math.isfinite(value):
            raise ValueError(f"job {self.name!r}: epoch {epoch} value is not finite ({value})")
        self.history.append((epoch, value))
        self.epochs_done = max(self.epochs_done, epoch)
        self._epochs_left = None

    def refresh(self) -> None:
        """Refit the speed function and the remaining-epochs estimate (once per outer iteration)."""
        self._model = SpeedModel.fit(self.samples, self.speed_prior)
        hist = None
        if self.history:
            hist = ([e for e, _ in self.history], [v for _, v in self.history])
        self._epochs_left = remaining_epochs(
            self.epochs_done,
            self.max_epochs,
            hist,
            increasing=self.metric_increasing,
            target=self.target,
        )

    @property
    def model(self) -> SpeedModel:
        if self._model is None:
            self.refresh()
        assert self._model is not None
        return self._model

    @property
    def epochs_left(self) -> float:
        if self._epochs_left is None:
            self.refresh()
        assert self._epochs_left is not None
        return self._epochs_left

    def remaining_time_at(self, n: int, batch_size: int) -> float:
        """Seconds to finish on ``n`` PUs with total batch ``batch_size``; ``inf`` if it can't run.

        Example:
            >>> j = JobView("a", 0.0, batch_size=64, examples_per_epoch=6400, max_epochs=1,
            ...             speed_prior=SpeedParams(0.0, 0.01, 0.0, 0.0, 0.0, 0.0))
            >>> j.remaining_time_at(2, 64)  # 100 steps x 32 per PU x 0.01 s
            32.0
        """
        return self._time(n, batch_size, self.model, self.epochs_left)

    def _time(self, n: int, batch_size: int, model: SpeedModel, epochs_left: float) -> float:
        if n < self.min_pus or n > self.max_pus:
            return math.inf
        if self.batch_per_pu:
            # Every PU needs a full batch of examples in each step.
            if n * batch_size > self.examples_per_epoch:
                return math.inf
            per_pu, batch_size = batch_size, batch_size * n
        elif n > batch_size:
            return math.inf
        else:
            per_pu = -(-batch_size // n)
        if self.max_per_pu_batch is not None and per_pu > self.max_per_pu_batch:
            return math.inf
        steps = epochs_left * self.examples_per_epoch / batch_size
        share = core_share(min(n, self.pus_per_node), self.cores_per_node)
        return steps * model.step_seconds(n, nodes_for(n, self.pus_per_node), per_pu, share)

    def remaining_time(self, n: int) -> float:
        """Seconds to finish on ``n`` PUs at the job's own batch size."""
        return self.remaining_time_at(n, self.batch_size)

    def to_sched_job(self) -> SchedJob:
        """The policies' view, with the models fitted now and frozen for this decision.

        Samples recorded after this call do not change the returned job's times.
        """
        self.refresh()
        model, left, batch = self.model, self.epochs_left, self.batch_size

        def remaining_time_at(n: int, b: int) -> float:
            return self._time(n, b, model, left)

        def remaining_time(n: int) -> float:
            return self._time(n, batch, model, left)

        return SchedJob(
            name=self.name,
            arrival_s=self.arrival_s,
            remaining_time=remaining_time,
            min_pus=self.min_pus,
            max_pus=self.max_pus,
            requested_pus=self.requested_pus,
            current_pus=self.current_pus,
            attained_pu_s=self.attained_pu_s,
            priority=self.priority,
            remaining_time_at=remaining_time_at if self.batch_sizes else None,
            batch_sizes=self.batch_sizes,
        )
