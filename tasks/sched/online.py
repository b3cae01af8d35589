"""The simulator's side of the online information model: what a simulated job exposes.

A simulated job shows an online policy only what a running one could report (see
:mod:`tasks.sched.estimates`): its spec, read from the workload row and the application's
limits (epoch budget, dataset size, initial and accepted batch sizes, per-GPU batch limits);
its progress; the step it ran in the last interval, with multiplicative log-normal noise
(``step_noise``, the spread of repeated step measurements); and the gradient statistics of the
epoch it is training at the batch it runs. Nothing from the validation tables' future epochs
and no step time of a placement it has not run reaches the policy.

Example:
    >>> OnlineConfig().noise_prior
    1.0
    >>> information_of(object())
    'oracle'
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

from tasks.sched.apps import AppModel, Placement
from tasks.sched.estimates import JobEstimates, TrainingSpec
from tasks.sched.speed import SpeedParams, SpeedSample
from tasks.sched.traces import WorkloadJob

__all__ = ["Information", "OnlineConfig", "information_of", "job_estimates", "observe"]

Information = Literal["oracle", "online"]


@dataclass(frozen=True)
class OnlineConfig:
    """How the simulator forms online estimates (every value chosen on workloads 1-4).

    The speed prior is a *shape*: fractions of a one-GPU step at the job's starting per-GPU
    batch, rescaled to the first step the job observes. It decides the coefficients no
    observation has informed yet (the inter-node ones before the job spans nodes) and, at
    ``prior_weight`` 0.1, keeps the fit to a few configurations from bending far from it.
    Optimistic link costs (no ``c_dist``, small gradients) did best: a doubling predicted too
    well is tried, measured and undone, one predicted too badly is never tried.

    Attributes:
        fixed: share of a one-GPU step that does not grow with the per-GPU batch.
        dist: per-step cost of being one rank of several (``c_dist``).
        g_intra: one full gradient over the intra-node link.
        l_intra: one intra-node ring hop.
        g_inter: one full gradient over the inter-node link.
        l_inter: one inter-node ring hop.
        noise_prior: gradient variance / squared norm before the first measurement.
        explore: a job grows to at most this many times the most GPUs it has run on (0: no
            cap; Pollux's 2x and 4x were worse on workloads 1-4: the restart charge already
            keeps a job from jumping on a guess).
        step_noise: log-normal sigma of an observed step time.
        prior_weight: strength of the prior in the speed fit (``SpeedModel.fit``).
        first_step_s: seconds of a one-GPU step assumed before the job's first observation
            (only its first decision uses it; the shape is rescaled to the first step).
    """

    fixed: float = 0.35
    dist: float = 0.0
    g_intra: float = 0.05
    l_intra: float = 0.002
    g_inter: float = 0.1
    l_inter: float = 0.002
    noise_prior: float = 1.0
    explore: float = 0.0
    step_noise: float = 0.05
    prior_weight: float = 0.1
    first_step_s: float = 0.1

    def prior(self, per_gpu_batch: int) -> SpeedParams:
        """The prior for a job starting at ``per_gpu_batch`` (a one-GPU step of ``first_step_s``).

        Example:
            >>> round(OnlineConfig().prior(100).c1, 6)
            0.00065
        """
        s = self.first_step_s
        return SpeedParams(
            c0=s * self.fixed,
            c1=s * (1.0 - self.fixed) / max(1, per_gpu_batch),
            g_intra=s * self.g_intra,
            l_intra=s * self.l_intra,
            g_inter=s * self.g_inter,
            l_inter=s * self.l_inter,
            c_dist=s * self.dist,
        )


def information_of(policy: object) -> Information:
    """What a policy plans with: its ``information`` attribute, ``"oracle"`` by default."""
    value = getattr(policy, "information", "oracle")
    return "online" if value == "online" else "oracle"


def job_estimates(
    spec: WorkloadJob,
    app: AppModel,
    batch: int,
    config: OnlineConfig,
    per_node: int,
    restart_s: float = 0.0,
) -> JobEstimates:
    """A simulated job's estimator, built from its spec only.

    Example:
        >>> est = job_estimates(spec, apps["cifar10"], 2048, OnlineConfig(), 4)  # doctest: +SKIP
        >>> est.spec.max_epochs  # doctest: +SKIP
        100
    """
    training = TrainingSpec(
        name=spec.name,
        arrival_s=spec.arrival_s,
        max_epochs=app.max_epochs,
        examples_per_epoch=app.examples_per_epoch,
        init_batch_size=app.init_batch_size,
        batch_size=batch,
        batch_sizes=app.batch_sizes,
        min_local_bsz=app.min_local_bsz,
        max_local_bsz=app.max_local_bsz,
        max_batch_size=app.max_batch_size,
        max_pus=app.max_gpus(app.max_batch_size),
        requested_pus=spec.num_replicas,
        pus_per_node=per_node,
        restart_s=restart_s,
    )
    first_local = min(batch, app.max_local_bsz)
    return JobEstimates(
        training,
        speed_prior=config.prior(first_local),
        scale_prior=True,
        noise_prior=config.noise_prior,
        explore=config.explore,
        prior_weight=config.prior_weight,
    )


def observe(
    est: JobEstimates,
    app: AppModel,
    placement: Placement,
    atomic: int,
    accum: int,
    epoch: int,
    progress: float,
    rng: random.Random,
    noise: float,
) -> None:
    """Report one interval of a running job: a noisy step, gradient statistics, progress.

    Epoch ends are reported as they pass (the progress at each is what the job counted).
    """
    for k in range(len(est.epoch_ends) + 1, epoch + 1):
        est.record_epoch(k, app.progress_at(k))
    est.record_progress(epoch, progress)
    if not placement or epoch >= app.max_epochs:
        return
    n = sum(placement)
    step, sync = app.step_time(placement, atomic)
    factor = math.exp(rng.gauss(0.0, noise)) if noise > 0 else 1.0
    step *= factor
    sync = min(sync * (math.exp(rng.gauss(0.0, noise)) if noise > 0 else 1.0), step)
    est.record_step(SpeedSample(n, len(placement), atomic, step, sync if n > 1 else 0.0))
    est.record_gradient(*app.grad_stats(n * atomic * (accum + 1), epoch))
