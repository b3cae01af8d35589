"""The vectorised doubling-online decision equals the general one, allocation for allocation.

``DoublingVariant.allocate`` takes :func:`tasks.sched.doubling_bulk.plan_bulk` for views of
online estimates; these tests run the same decision with that path switched off
(``plan_doubling`` through the per-job callables) and require identical PUs and batch sizes,
on seeded random instances: mixed PU bounds, current PUs, restart costs, scarce and ample
capacity, and decisions after 10% and 100% of the jobs re-measured their gradient noise.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

import tasks.sched.doubling_variants as variants
from tasks.sched.doubling_bulk import plan_bulk
from tasks.sched.doubling_variants import DoublingVariant
from tasks.sched.estimates import JobEstimates
from tasks.sched.instances import random_estimates
from tasks.sched.policy import SchedJob
from tasks.sched.registry import get_policy


def _instance(seed: int, count: int) -> list[JobEstimates]:
    """Random estimators with varied PU bounds and restart costs."""
    rng = random.Random(seed)
    ests = random_estimates(rng, count)
    for est in ests:
        lo = rng.choice([1, 1, 1, 2, 3])
        hi = rng.choice([lo, 4, 6, 16, 64, 1 << 30])
        est.spec = dataclasses.replace(
            est.spec, min_pus=lo, max_pus=max(lo, hi), restart_s=rng.choice([0.0, 1.0, 30.0])
        )
    return ests


def _views(ests: list[JobEstimates], rng: random.Random) -> list[SchedJob]:
    return [e.sched_job(rng.choice([0, 1, 2, 4, 8]), 0.0) for e in ests]


def _both(policy: DoublingVariant, jobs: list[SchedJob], capacity: int, monkeypatch):
    bulk = policy.allocate(jobs, capacity)
    with monkeypatch.context() as m:
        m.setattr(variants, "plan_bulk", lambda *a, **k: None)
        general = policy.allocate(jobs, capacity)
    return bulk, general


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("name", ["doubling-online", "doubling-online-claims-goodput"])
def test_bulk_equals_general(seed: int, name: str, monkeypatch) -> None:
    rng = random.Random(1000 + seed)
    count = rng.choice([1, 5, 40, 300])
    ests = _instance(seed, count)
    if name == "doubling-online":
        policy = get_policy(name)
    else:
        policy = DoublingVariant(score="claims", goodput=True, restart_s=5.0, information="online")
    assert isinstance(policy, DoublingVariant)
    for decision, refresh in enumerate([0.0, 0.1, 1.0, 0.1]):
        for est in ests:
            est.record_progress(est.epoch, est.progress + rng.uniform(0.0, 50.0))
            if rng.random() < refresh:
                sqr, var = est.grad or (1.0, 1.0)
                est.record_gradient(sqr, var * rng.uniform(0.5, 2.0))
        capacity = rng.choice([count * 2, count * 8, count * 64, 1 << 20])
        if decision == 3:
            capacity = max(0, count // 2)  # minimums do not all fit: the general path
        jobs = _views(ests, rng)
        bulk, general = _both(policy, jobs, capacity, monkeypatch)
        assert list(bulk.items()) == list(general.items())
        assert sum(a.pus for a in bulk.values()) <= capacity


def test_bulk_path_is_taken_on_estimates() -> None:
    ests = random_estimates(random.Random(7), 50)
    jobs = [e.sched_job(1, 0.0) for e in ests]
    assert plan_bulk(jobs, 400, charges=5.0, rate=True) is not None
    # A view whose time is not an estimator's is left to plan_doubling.
    jobs[0] = dataclasses.replace(jobs[0], best_time_at=lambda n: 1.0)
    assert plan_bulk(jobs, 400, charges=5.0, rate=True) is None


def test_benchmark_sized_decision_equal(monkeypatch) -> None:
    """One 10,000-job decision on 16,384 PUs, as bench/bench_decision.py makes it."""
    ests = random_estimates(random.Random(2024), 10_000)
    policy = get_policy("doubling-online")
    assert isinstance(policy, DoublingVariant)
    rng = random.Random(3)
    for est in ests:
        est.record_progress(est.epoch, est.progress + 1.0)
        if rng.random() < 0.1:
            sqr, var = est.grad or (1.0, 1.0)
            est.record_gradient(sqr, var * rng.uniform(0.9, 1.1))
    jobs = [e.sched_job(1, 0.0) for e in ests]
    bulk, general = _both(policy, jobs, 16_384, monkeypatch)
    assert list(bulk.items()) == list(general.items())
