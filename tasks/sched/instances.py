"""Random scheduling instances with ring all-reduce speed functions.

Shared by the optimality study, the decision benchmark and the property tests, so that all
three measure the heuristic on the same kind of job: remaining steps times the step time of a
:class:`~tasks.sched.speed.SpeedModel` with random but plausible coefficients (compute
dominating on one PU, all-reduce costing up to a few times the compute across nodes).

Example:
    >>> import random
    >>> jobs = random_jobs(random.Random(0), 3)
    >>> [j.name for j in jobs]
    ['j0', 'j1', 'j2']
    >>> jobs[0].remaining_time(2) < jobs[0].remaining_time(1)
    True
    >>> from tasks.sched.speed import nodes_for
    >>> t = jobs[0].remaining_time
    >>> m = t.model
    >>> t(6) == t.steps * m.step_seconds(6, nodes_for(6, 4), -(-t.batch // 6))
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tasks.sched.estimates import JobEstimates, TrainingSpec
from tasks.sched.policy import SchedJob
from tasks.sched.speed import SpeedModel, SpeedParams, SpeedSample, nodes_for

__all__ = ["RingJobTime", "random_estimates", "random_jobs"]


@dataclass(frozen=True)
class RingJobTime:
    """Remaining seconds of a job with a fixed total batch on ``n`` packed PUs.

    Callable, picklable and cheap: the decision benchmark calls it tens of thousands of times.
    """

    steps: float
    batch: int
    model: SpeedModel
    pus_per_node: int = 4

    def __call__(self, n: int) -> float:
        # Same as ``steps * model.step_seconds(n, nodes_for(n, per_node), ceil(batch / n))``,
        # inlined: a 10,000-job decision makes ~26,000 of these calls.
        p = self.model.params
        step = p.c0 + p.c1 * -(-self.batch // n)
        if n > 1:
            volume, hops = 2.0 * (n - 1) / n, 2.0 * (n - 1)
            step += p.c_dist
            if n <= self.pus_per_node:
                step += volume * p.g_intra + hops * p.l_intra
            else:
                step += volume * p.g_inter + hops * p.l_inter
        return self.steps * step


def random_jobs(
    rng: random.Random,
    count: int,
    *,
    max_pus: int | None = None,
    pus_per_node: int = 4,
    with_bounds: bool = False,
) -> list[SchedJob]:
    """``count`` jobs with random ring all-reduce speed functions and remaining work.

    Args:
        rng: the source of randomness (seed it for reproducible instances).
        count: number of jobs.
        max_pus: cap every job's maximum PUs at this (default: the total batch size).
        pus_per_node: PUs per node used to pack ``n`` PUs.
        with_bounds: also draw per-job minimum (1 or 2) and maximum PU counts.
    """
    jobs = []
    for k in range(count):
        compute = rng.uniform(0.05, 0.5)  # seconds per step at the full batch on one PU
        batch = rng.choice([32, 64, 128, 256, 512])
        params = SpeedParams(
            c0=rng.uniform(0.0, 0.02),
            c1=compute / batch,
            g_intra=compute * rng.uniform(0.01, 0.3),
            l_intra=rng.uniform(0.0, 1e-4),
            g_inter=compute * rng.uniform(0.1, 3.0),
            l_inter=rng.uniform(0.0, 1e-3),
        )
        steps = rng.uniform(100, 20_000)
        cap = batch if max_pus is None else min(batch, max_pus)
        lo, hi = 1, cap
        if with_bounds:
            lo = rng.choice([1, 1, 1, 2])
            hi = max(lo, rng.randint(lo, cap))
        jobs.append(
            SchedJob(
                name=f"j{k}",
                arrival_s=rng.uniform(0, 3600),
                remaining_time=RingJobTime(steps, batch, SpeedModel(params), pus_per_node),
                min_pus=lo,
                max_pus=hi,
                requested_pus=min(hi, max(lo, rng.choice([1, 2, 4, 8]))),
            )
        )
    return jobs


def random_estimates(
    rng: random.Random, count: int, *, pus_per_node: int = 4, configs: int = 3
) -> list[JobEstimates]:
    """``count`` online estimators, each fed a few observed steps, gradient noise and progress.

    The jobs accept five batch sizes (the initial one to 16x) and have observed ``configs``
    doublings (1, 2, 4, ... PUs) of a random ring all-reduce speed function with 5% noise:
    what the decision benchmark plans for at cluster scale.

    Example:
        >>> est = random_estimates(random.Random(0), 2)
        >>> [e.spec.name for e in est], len(est[0].samples)
        (['j0', 'j1'], 3)
    """
    out = []
    for k in range(count):
        compute = rng.uniform(0.05, 0.5)
        init = rng.choice([32, 64, 128, 256])
        params = SpeedParams(
            c0=compute * rng.uniform(0.0, 0.2),
            c1=compute / init,
            g_intra=compute * rng.uniform(0.01, 0.3),
            l_intra=rng.uniform(0.0, 1e-4),
            g_inter=compute * rng.uniform(0.1, 3.0),
            l_inter=rng.uniform(0.0, 1e-3),
        )
        spec = TrainingSpec(
            name=f"j{k}",
            arrival_s=rng.uniform(0, 3600),
            max_epochs=rng.choice([10, 30, 90]),
            examples_per_epoch=init * rng.uniform(50, 2000),
            init_batch_size=init,
            batch_size=init,
            batch_sizes=tuple(init << i for i in range(5)),
            min_local_bsz=max(1, init // 16),
            max_local_bsz=init * 2,
            max_batch_size=init * 16,
            max_pus=64,
            requested_pus=rng.choice([1, 2, 4, 8]),
            pus_per_node=pus_per_node,
        )
        est = JobEstimates(spec, speed_prior=params, explore=0.0)
        truth = SpeedModel(params)
        for i in range(configs):
            n = 1 << i
            local = -(-init // n)
            nodes = nodes_for(n, pus_per_node)
            noise = rng.lognormvariate(0.0, 0.05)
            est.record_step(
                SpeedSample(
                    n,
                    nodes,
                    local,
                    truth.step_seconds(n, nodes, local) * noise,
                    truth.sync_seconds(n, nodes),
                )
            )
        est.record_gradient(sqr=1.0, var=rng.uniform(0.1, 10.0))
        epochs = rng.randrange(int(spec.max_epochs))
        est.record_progress(epochs, (epochs + rng.random()) * spec.examples_per_epoch / init)
        out.append(est)
    return out
