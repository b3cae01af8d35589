"""Online estimates: what a running job's own observations say about its remaining time.

A policy that plans without an oracle sees a job only through what a running system can know
(the information model of ``../shared/ARCHITECTURE.md``):

- its **spec**: epoch budget, dataset size, initial batch size, the batch sizes it accepts,
  per-PU batch limits, PU bounds;
- its **progress**: epochs finished and the statistical progress so far, in steps at the
  initial batch size (a step at a larger batch counts its efficiency gain, as Pollux's workers
  count it), plus the metric after each epoch where there is one;
- the **steps it has observed**: PUs, nodes, per-PU batch, seconds per step and per sync,
  noise included;
- the **gradient statistics** of the epoch it is training (squared norm and variance, as
  Pollux's workers measure them).

From those :class:`JobEstimates` computes three estimates, the inputs of ``T(n, b)``:

1. **Speed**: the ring all-reduce speed function (:class:`~tasks.sched.speed.SpeedModel`)
   *fitted* to the observed steps. Before the first observation it is the spec's prior; the
   coefficients no observation informs keep the prior's *shape* rescaled to the job's first
   observed step (``scale_prior``): a prior of link costs as fractions of the compute, so it
   fits any model size. The optimiser step at a total batch includes the job's batch split
   and gradient accumulation (:func:`batch_split`).
2. **Statistical efficiency** at another batch size, *predicted* from the current gradient
   noise (Pollux's rule): ``gain(M) = (var + sqr) / (var / scale + sqr)`` with ``scale = M /
   initial batch``, from the last measured ``(sqr, var)``; before any, the prior noise ratio
   ``var / sqr = noise_prior`` (0: a larger batch gains nothing; ``inf``: perfect scaling).
3. **Remaining work** (the patent's "estimated number of training sets"): remaining epochs
   (the budget, tightened by Optimus's loss-curve fit when a metric history exists) times the
   progress per epoch read from the progress curve (the mean over finished epochs; before the
   first, ``dataset size / initial batch``).

``T(n, b) = remaining work x step_seconds(n, b) / gain(b)``. A job may grow to at most
``explore`` times the most PUs it has run on (Pollux caps at 2x), because the fitted speed
function is an extrapolation beyond that.

Example:
    >>> spec = TrainingSpec("a", 0.0, max_epochs=2, examples_per_epoch=1000, init_batch_size=10)
    >>> est = JobEstimates(spec, speed_prior=SpeedParams(0.0, 0.01, 0.0, 0.0, 0.0, 0.0))
    >>> est.remaining_progress()  # 2 epochs x 1000 / 10
    200.0
    >>> est.remaining_time_at(1, 10)  # 200 steps x 0.1 s
    20.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tasks.sched.convergence import remaining_epochs
from tasks.sched.policy import SchedJob
from tasks.sched.speed import SpeedModel, SpeedParams, SpeedSample, core_share, nodes_for
from tasks.sched.training_spec import TrainingSpec, batch_split, predicted_gain

if TYPE_CHECKING:
    from tasks.sched.estimates_table import EstimatesTable

__all__ = ["JobEstimates", "TrainingSpec", "batch_split", "predicted_gain"]


class JobEstimates:
    """Fitted estimates of one job from its observations; the policies' view of it.

    Args:
        spec: the job's spec.
        speed_prior: speed coefficients before the first observed step.
        scale_prior: rescale the prior to the first observed step (a shape prior).
        noise_prior: gradient variance / squared norm assumed before any measurement.
        explore: grow to at most this many times the most PUs observed (``0``: no cap).
        prior_weight: strength of the prior in the speed fit (see ``SpeedModel.fit``).
    """

    def __init__(
        self,
        spec: TrainingSpec,
        *,
        speed_prior: SpeedParams | None = None,
        scale_prior: bool = False,
        noise_prior: float = 0.0,
        explore: float = 0.0,
        prior_weight: float = 1e-3,
    ) -> None:
        self.spec = spec
        self.speed_prior = speed_prior or SpeedParams()
        self.scale_prior = scale_prior
        self.noise_prior = noise_prior
        self.explore = explore
        self.prior_weight = prior_weight
        self.batch = spec.batch_size or spec.init_batch_size
        self._spec_per_epoch = spec.examples_per_epoch / spec.init_batch_size
        self._best: dict[int, tuple[float, int]] = {}
        self._step_cache: dict[tuple[int, int], float] = {}
        self._gains: dict[float, float] = {}
        self._steps_by_n: dict[int, list[tuple[int, float, float]]] = {}
        self._work = 0.0
        self._lo, self._hi = spec.min_pus, spec.max_pus
        self._view: SchedJob | None = None
        self.epoch = 0
        self.progress = 0.0
        self.epoch_fraction: float | None = None
        self.epoch_ends: list[float] = []  # progress at the end of each finished epoch
        self.history: list[tuple[float, float]] = []
        self.grad: tuple[float, float] | None = None
        self.max_seen = 0
        # Observed steps per configuration (n, nodes, per-PU batch): step and sync seconds.
        self._steps: dict[tuple[int, int, float], list[tuple[float, float | None, float]]] = {}
        self._model: SpeedModel | None = None
        self._fitted_counts: dict[tuple[int, int, float], int] = {}
        self._cost: dict[tuple[int, int], float] = {}
        # The cluster-wide columns this job is a row of (EstimatesTable.add), told of each
        # observation so that a decision reads arrays instead of asking 10,000 estimators.
        self._table: EstimatesTable | None = None
        self._row = -1

    # -- observations ---------------------------------------------------------------------
    def record_step(self, sample: SpeedSample) -> None:
        """One observed step (or the median of a reporting interval's steps)."""
        key = (sample.n, sample.nodes, float(sample.per_pu_batch))
        self._steps.setdefault(key, []).append((sample.step_s, sample.sync_s, sample.share))
        self.max_seen = max(self.max_seen, sample.n)
        seen = self._fitted_counts.get(key, 0)
        # Refit on a new configuration, and as a configuration's count doubles (its median
        # settles); refitting every step would cost a least-squares fit per job per interval.
        if seen == 0 or len(self._steps[key]) >= 2 * seen:
            self._model = None
        if self._table is not None:
            self._table._on_step(self)

    def record_gradient(self, sqr: float, var: float) -> None:
        """Gradient squared norm and variance measured in the current epoch."""
        if (sqr, var) != self.grad:
            self.grad = (sqr, var)
            self._cost.clear()
            self._best.clear()
            self._gains.clear()
            if self._table is not None:
                self._table._on_gradient(self)

    def record_progress(
        self, epoch: int, progress: float, epoch_fraction: float | None = None
    ) -> None:
        """Epochs finished, statistical progress so far, and (when known) how far into the
        current epoch the job is; otherwise that fraction is estimated from the progress curve.
        """
        self.epoch, self.progress, self.epoch_fraction = epoch, progress, epoch_fraction
        if self._table is not None:
            self._table._on_progress(self)

    def record_epoch(self, epoch: int, progress: float, metric: float | None = None) -> None:
        """Epoch ``epoch`` (1-based count of finished epochs) ended at ``progress``."""
        while len(self.epoch_ends) < epoch:
            self.epoch_ends.append(progress)
        self.epoch = max(self.epoch, epoch)
        self.progress = max(self.progress, progress)
        if metric is not None and math.isfinite(metric):
            self.history.append((float(epoch), metric))
        if self._table is not None:
            self._table._on_progress(self)

    @property
    def samples(self) -> list[SpeedSample]:
        """Every observed step, grouped by configuration."""
        return [
            SpeedSample(n, nodes, b, step, sync, share)
            for (n, nodes, b), obs in self._steps.items()
            for step, sync, share in obs
        ]

    def set_batch(self, batch: int) -> None:
        """The total batch the job now runs (a batch-choosing policy changed it)."""
        if batch != self.batch:
            self.batch = batch
            if self._table is not None:
                self._table._on_batch(self)

    # -- estimates ------------------------------------------------------------------------
    @property
    def model(self) -> SpeedModel:
        """The speed function fitted to the observed steps (refitted lazily)."""
        if self._model is None:
            self._model = self._fit()
            self._fitted_counts = {k: len(v) for k, v in self._steps.items()}
            self._cost.clear()
            self._best.clear()
            self._step_cache.clear()
            self._steps_by_n.clear()
        return self._model

    def _fit(self) -> SpeedModel:
        prior = self.speed_prior
        samples = [
            SpeedSample(
                n,
                nodes,
                b,
                _median([s for s, _, _ in obs]),
                _median_sync(obs),
                _median([h for _, _, h in obs]),
            )
            for (n, nodes, b), obs in self._steps.items()
        ]
        if self.scale_prior and samples:
            # The prior's shape at the scale of the job's smallest observed configuration.
            first = min(samples, key=lambda s: (s.n, s.per_pu_batch))
            guess = SpeedModel(prior).step_seconds(first.n, first.nodes, first.per_pu_batch)
            ratio = first.step_s / first.share / guess if guess > 0 else 1.0
            prior = SpeedParams(*(float(v) * ratio for v in prior.as_array()))
        return SpeedModel.fit(samples, prior, prior_weight=self.prior_weight)

    def gain(self, batch: float) -> float:
        """Predicted progress per step at total ``batch`` (1 at the initial batch)."""
        value = self._gains.get(batch)
        if value is None:
            sqr, var = self.grad if self.grad is not None else (1.0, self.noise_prior)
            value = self._gains[batch] = predicted_gain(batch, self.spec.init_batch_size, sqr, var)
        return value

    def progress_per_epoch(self) -> float:
        """Statistical progress one epoch takes, from the progress curve (or the spec)."""
        if self.epoch_ends:
            return self.epoch_ends[-1] / len(self.epoch_ends)
        return self.spec.examples_per_epoch / self.spec.init_batch_size

    def remaining_progress(self) -> float:
        """Estimated statistical progress still to make (steps at the initial batch)."""
        left, per_epoch = self._left()
        return left * per_epoch

    def remaining_epochs(self) -> float:
        """Estimated epochs still to train (budget, or Optimus's curve with a history)."""
        return self._left()[0]

    def _left(self) -> tuple[float, float]:
        ends, epoch = self.epoch_ends, self.epoch
        per_epoch = ends[-1] / len(ends) if ends else self._spec_per_epoch
        fraction = self.epoch_fraction
        if fraction is None:
            start = ends[epoch - 1] if 0 < epoch <= len(ends) else epoch * per_epoch
            fraction = (self.progress - start) / per_epoch if per_epoch > 0 else 0.0
        done = epoch + (0.0 if fraction < 0.0 else 0.999 if fraction > 0.999 else fraction)
        if not self.history:
            # The budget alone (what remaining_epochs returns without a history), inlined:
            # a 10,000-job decision computes this for every job.
            return max(0.0, self.spec.max_epochs - done), per_epoch
        hist = ([e for e, _ in self.history], [v for _, v in self.history])
        left = remaining_epochs(
            done,
            self.spec.max_epochs,
            hist,
            increasing=self.spec.metric_increasing,
            target=self.spec.target,
        )
        return left, per_epoch

    def max_pus(self) -> int:
        """Most PUs a policy may give now: the spec's bound, capped by exploration."""
        spec = self.spec
        cap = spec.max_pus
        if self.explore > 0:
            # A job that has not run yet starts at its minimum (Pollux's rule).
            cap = min(cap, max(spec.min_pus, int(self.explore * self.max_seen)))
        return cap

    def step_seconds(self, n: int, batch: int) -> float:
        """Predicted seconds per optimiser step on ``n`` packed PUs at total ``batch``."""
        spec = self.spec
        if spec.batch_per_pu:
            atomic, accum = batch, 0
        elif not spec.accumulate:
            atomic, accum = -(-batch // n), 0
        else:
            atomic, accum = batch_split(
                batch, n, spec.init_batch_size, spec.max_local_bsz, spec.max_batch_size
            )
        model = self.model
        nodes = nodes_for(n, spec.pus_per_node)
        share = core_share(min(n, spec.pus_per_node), spec.cores_per_node)
        step = model.step_seconds(n, nodes, atomic, share)
        sync = model.sync_seconds(n, nodes, share)
        if accum:
            step += (step - sync) * accum
        return step

    def cost(self, n: int, batch: int) -> float:
        """Seconds per unit of progress on ``n`` PUs at ``batch``; ``inf`` where it can't run.

        Cached until the next refit or gradient measurement: it does not depend on the
        remaining work, so most of it carries over from one decision to the next.
        """
        key = (n, batch)
        value = self._cost.get(key)
        if value is None or self._model is None:
            if self._model is None:
                self.model  # noqa: B018 - refit first (it clears the caches)
            spec = self.spec
            total = batch * n if spec.batch_per_pu else batch
            if spec.batch_per_pu:
                ok = total <= spec.examples_per_epoch and (
                    spec.max_local_bsz is None or batch <= spec.max_local_bsz
                )
            else:
                ok = n * spec.min_local_bsz <= batch and (
                    spec.accumulate
                    or spec.max_local_bsz is None
                    or -(-batch // n) <= spec.max_local_bsz
                )
            if ok:
                # Step times survive a new gradient measurement; only the gain is redone.
                step = self._step_cache.get(key)
                if step is None:
                    step = self._step_cache[key] = self.step_seconds(n, batch)
                value = step / self.gain(total)
            else:
                value = math.inf
            self._cost[key] = value
        return value

    def remaining_time_at(self, n: int, batch: int) -> float:
        """Estimated seconds to finish on ``n`` PUs at total ``batch`` (per PU if
        ``batch_per_pu``); ``inf`` outside the job's bounds."""
        if n < self.spec.min_pus or n > self.spec.max_pus:
            return math.inf
        return self.remaining_progress() * self.cost(n, batch)

    def best_cost(self, n: int) -> tuple[float, int]:
        """The least seconds per unit of progress on ``n`` PUs over the accepted batch sizes,
        and the batch size that gives it (cached like :meth:`cost`)."""
        found = self._best.get(n)
        if found is None or self._model is None:
            if self._model is None:
                self.model  # noqa: B018 - refit first (it clears the caches)
            # The step seconds of every feasible size on n PUs survive a new gradient
            # measurement; after one, only the gains are redone (a tight loop, no calls).
            row = self._steps_by_n.get(n)
            if row is None:
                row = self._steps_by_n[n] = self._feasible_steps(n)
            gains = self._gains
            sqr, var = self.grad if self.grad is not None else (1.0, self.noise_prior)
            init = self.spec.init_batch_size
            found = (math.inf, self.batch)
            for b, total, step in row:
                g = gains.get(total)
                if g is None:
                    # predicted_gain, inlined: after a gradient measurement this loop is all
                    # a decision recomputes for the job.
                    if math.isinf(var) or var + sqr <= 0:
                        g = predicted_gain(total, init, sqr, var)
                    else:
                        g = (var + sqr) / (var / (total / init) + sqr)
                    gains[total] = g
                c = step / g
                if c < found[0]:
                    found = (c, b)
            self._best[n] = found
        return found

    def _feasible_steps(self, n: int) -> list[tuple[int, float, float]]:
        """``(batch, total batch, step seconds)`` of each accepted size that runs on ``n``."""
        out = []
        for b in self.spec.batch_sizes or (self.batch,):
            if math.isfinite(self.cost(n, b)):
                total = b * n if self.spec.batch_per_pu else b
                out.append((b, float(total), self._step_cache[n, b]))
        return out

    # The view's time functions read the work frozen by the last sched_job() call.
    def _time(self, n: int) -> float:
        if n < self._lo or n > self._hi:
            return math.inf
        value = self._cost.get((n, self.batch))
        if value is None:
            value = self.cost(n, self.batch)
        return self._work * value

    def _time_at(self, n: int, b: int) -> float:
        if n < self._lo or n > self._hi:
            return math.inf
        return self._work * self.cost(n, b)

    def _best_time(self, n: int) -> float:
        if n < self._lo or n > self._hi:
            return math.inf
        found = self._best.get(n)
        if found is None:
            found = self.best_cost(n)
        return self._work * found[0]

    def _best_batch(self, n: int) -> int:
        found = self._best.get(n)
        return (found or self.best_cost(n))[1]

    def sched_job(self, current_pus: int = 0, attained_pu_s: float = 0.0) -> SchedJob:
        """The policies' view for one decision (remaining work computed now).

        The view is this estimator's one :class:`SchedJob`, refreshed in place by each call,
        and its time functions read the estimator: it is valid for the decision it was made
        for (the simulator and the reschedule flow make one per decision). Building a new
        frozen dataclass per job per decision was half of a 10,000-job decision.
        """
        spec = self.spec
        self._work = self.remaining_progress()
        self._lo, self._hi = spec.min_pus, max(spec.min_pus, self.max_pus())
        if self._model is None:
            self.model  # noqa: B018 - fit now, so the cost cache stays valid for the decision
        view = self._view
        if view is None:
            view = self._view = _new_view(SchedJob)
            _set_attr(
                view,
                "__dict__",
                {
                    "name": spec.name,
                    "arrival_s": spec.arrival_s,
                    "remaining_time": self._time,
                    "min_pus": self._lo,
                    "max_pus": self._hi,
                    "requested_pus": spec.requested_pus,
                    "current_pus": current_pus,
                    "attained_pu_s": attained_pu_s,
                    "priority": spec.priority,
                    "remaining_time_at": self._time_at if spec.batch_sizes else None,
                    "batch_sizes": spec.batch_sizes,
                    "restart_s": spec.restart_s,
                    "best_time_at": self._best_time if spec.batch_sizes else None,
                    "best_batch_at": self._best_batch if spec.batch_sizes else None,
                },
            )
            return view
        # The frozen dataclass refuses setattr; its __dict__ is written directly instead.
        fields = view.__dict__
        fields["max_pus"] = self._hi
        fields["current_pus"] = current_pus
        fields["attained_pu_s"] = attained_pu_s
        return view


_new_view = object.__new__
_set_attr = object.__setattr__


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def _median_sync(obs: Sequence[tuple[float, float | None, float]]) -> float | None:
    syncs = [s for _, s, _ in obs]
    if any(s is None for s in syncs):
        return None
    return _median([s for s in syncs if s is not None])
