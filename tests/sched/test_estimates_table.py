"""The estimates table: columns that follow the jobs' reports, and a decision equal to the heap's.

``DoublingVariant.allocate`` takes :func:`tasks.sched.doubling_bulk.allocate_table` for the
views of an :class:`EstimatesTable`; these tests run the same decision through
``plan_doubling`` (both fast paths switched off) and require identical PUs and batch sizes,
on seeded random instances: mixed PU bounds, current PUs, restart costs, scarce and ample
capacity, jobs without accepted batch sizes, exploration caps, identical jobs (equal keys),
and decisions after new steps, gradient measurements and finished jobs.
"""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

import tasks.sched.doubling_variants as variants
from tasks.sched.doubling_bulk import allocate_table
from tasks.sched.doubling_variants import DoublingVariant
from tasks.sched.estimates import JobEstimates
from tasks.sched.estimates_table import EstimatesTable, EstimateViews, ladder
from tasks.sched.instances import random_estimates
from tasks.sched.policy import Assignment, SchedJob
from tasks.sched.registry import get_policy
from tasks.sched.speed import SpeedParams, SpeedSample, nodes_for
from tasks.sched.step_grid import step_grid
from tasks.sched.training_spec import TrainingSpec


def _instance(seed: int, count: int) -> list[JobEstimates]:
    """Random estimators with varied bounds, restart costs, batch sizes and exploration."""
    rng = random.Random(seed)
    ests = random_estimates(rng, count)
    for k, est in enumerate(ests):
        lo = rng.choice([1, 1, 1, 2, 3])
        hi = rng.choice([lo, 4, 6, 16, 64, 1 << 30])
        est.spec = dataclasses.replace(
            est.spec,
            min_pus=lo,
            max_pus=max(lo, hi),
            restart_s=rng.choice([0.0, 1.0, 30.0]),
            batch_sizes=() if rng.random() < 0.1 else est.spec.batch_sizes,
        )
        est.explore = rng.choice([0.0, 0.0, 2.0])
        if k % 7 == 3 and k > 0:  # an identical twin of the previous job: equal keys
            twin = ests[k - 1]
            est.spec = dataclasses.replace(twin.spec, name=est.spec.name)
            est.explore, est.grad, est.speed_prior = twin.explore, twin.grad, twin.speed_prior
            est._steps = {key: list(obs) for key, obs in twin._steps.items()}
            est.max_seen, est._model = twin.max_seen, None
            est.record_progress(twin.epoch, twin.progress)
    return ests


def _general(policy: DoublingVariant, views: EstimateViews, capacity: int, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(variants, "allocate_table", lambda *a, **k: None)
        m.setattr(variants, "plan_bulk", lambda *a, **k: None)
        return policy.allocate(list(views), capacity)


def _report(ests: list[JobEstimates], rng: random.Random, refresh: float) -> None:
    """What the jobs report between two decisions: progress, a share of steps and noise."""
    for est in ests:
        est.record_progress(est.epoch, est.progress + rng.uniform(0.0, 50.0))
        if rng.random() < refresh:
            sqr, var = est.grad or (1.0, 1.0)
            est.record_gradient(sqr, var * rng.uniform(0.5, 2.0))
        if rng.random() < refresh / 2:
            n = rng.choice([1, 2, 4, 8])
            nodes = nodes_for(n, est.spec.pus_per_node)
            est.record_step(SpeedSample(n, nodes, 32, rng.uniform(0.05, 0.5)))


POLICIES = {
    "doubling-online": lambda: get_policy("doubling-online"),
    "claims-goodput": lambda: DoublingVariant(
        score="claims", goodput=True, restart_s=5.0, information="online"
    ),
    "rate-no-charge": lambda: DoublingVariant(score="rate", goodput=True, information="online"),
}


class TestDecisionEqualsTheHeap:
    @pytest.mark.parametrize("seed", range(10))
    @pytest.mark.parametrize("name", sorted(POLICIES))
    def test_random_instances(self, seed: int, name: str, monkeypatch) -> None:
        rng = random.Random(2000 + seed)
        count = rng.choice([1, 5, 40, 300])
        ests = _instance(seed, count)
        table = EstimatesTable(ests)
        policy = POLICIES[name]()
        assert isinstance(policy, DoublingVariant)
        for decision, refresh in enumerate([0.0, 0.1, 1.0, 0.1, 0.3]):
            _report(ests, rng, refresh)
            if decision == 4:  # some jobs finish
                gone = [e for e in ests if rng.random() < 0.3]
                table.remove(gone)
                ests = [e for e in ests if e not in gone]
            capacity = rng.choice([len(ests) * 2, len(ests) * 8, len(ests) * 64, 1 << 20, 7])
            current = [rng.choice([0, 1, 2, 4, 8]) for _ in ests]
            views = table.views(current, 0.0)
            fast = allocate_table(
                views,
                capacity,
                restart_s=policy.restart_s,
                restart_factor=policy.restart_factor,
                rate=policy.score is variants.rate_gain,
            )
            general = _general(policy, views, capacity, monkeypatch)
            if fast is None:  # the minimums do not all fit
                assert not ests or sum(e.spec.min_pus for e in ests) > capacity
                continue
            assert list(fast.items()) == list(general.items())
            assert list(policy.allocate(views, capacity).items()) == list(general.items())

    def test_benchmark_sized_decision(self, monkeypatch) -> None:
        """One 10,000-job decision on 16,384 PUs, as bench/bench_decision.py makes it."""
        ests = random_estimates(random.Random(2024), 10_000)
        table = EstimatesTable(ests)
        policy = get_policy("doubling-online")
        assert isinstance(policy, DoublingVariant)
        _report(ests, random.Random(3), 0.1)
        views = table.views(1, 0.0)
        fast = policy.allocate(views, 16_384)
        assert list(fast.items()) == list(_general(policy, views, 16_384, monkeypatch).items())

    @pytest.mark.parametrize("capacity", [40, 75, 100])
    def test_identical_jobs_are_served_in_name_order(self, capacity: int, monkeypatch) -> None:
        """Equal keys everywhere: the heap breaks the ties by name, and so must the sort."""
        rng = random.Random(capacity)
        names = [f"job-{k}" for k in range(30)]
        rng.shuffle(names)
        ests: list[JobEstimates] = []
        for name in names:
            est = random_estimates(random.Random(9), 1)[0]
            est.spec = dataclasses.replace(est.spec, name=name, restart_s=10.0)
            ests.append(est)
        views = EstimatesTable(ests).views(rng.choice([0, 1]))
        policy = get_policy("doubling-online")
        assert isinstance(policy, DoublingVariant)
        general = _general(policy, views, capacity, monkeypatch)
        assert list(policy.allocate(views, capacity).items()) == list(general.items())
        assert len({a.pus for a in general.values()}) > 1  # the ties decided something

    def test_stale_views_take_the_general_path(self) -> None:
        ests = random_estimates(random.Random(5), 20)
        table = EstimatesTable(ests)
        views = table.views(1)
        ests[0].record_progress(ests[0].epoch, ests[0].progress + 1.0)
        assert not views.current
        assert allocate_table(views, 64, restart_s=0.0, restart_factor=0.0, rate=True) is None


class TestColumnsFollowTheReports:
    def test_ladder_costs_are_the_estimators(self) -> None:
        rng = random.Random(11)
        ests = _instance(11, 60)
        table = EstimatesTable(ests)
        for _ in range(3):
            _report(ests, rng, 0.5)
            table.refresh()
            for est in ests:
                r = est._row
                view = est.sched_job()
                assert table.work[r] == est.remaining_progress()
                counts = ladder(view.min_pus, view.max_pus)
                assert table.pus[r, : len(counts)].tolist() == counts
                for k, n in enumerate(counts):
                    if est.spec.batch_sizes:
                        cost, batch = est.best_cost(n)
                        assert (table.cost[r, k], table.batch[r, k]) == (cost, batch) or (
                            math.isinf(cost) and math.isinf(table.cost[r, k])
                        )
                    else:
                        assert table.cost[r, k] == est.cost(n, est.batch)

    def test_history_rows_refit_their_curve_once_per_decision(self) -> None:
        est = random_estimates(random.Random(1), 1)[0]
        table = EstimatesTable([est])
        for k in range(1, 5):
            est.record_epoch(k, k * est.progress_per_epoch(), 1.0 / k + 0.1)
        assert est in table._stale_work
        table.refresh()
        assert table.work[0] == est.remaining_progress()

    def test_remove_keeps_the_order_of_the_others(self) -> None:
        ests = random_estimates(random.Random(2), 6)
        table = EstimatesTable(ests)
        table.refresh()
        before = {e.spec.name: table.cost[e._row].tolist() for e in ests}
        table.remove([ests[1], ests[4]])
        assert table.names == ["j0", "j2", "j3", "j5"]
        assert [e._row for e in table.estimators] == [0, 1, 2, 3]
        assert all(table.cost[e._row].tolist() == before[e.spec.name] for e in table.estimators)
        assert ests[1]._table is None

    def test_a_job_belongs_to_one_table(self) -> None:
        est = random_estimates(random.Random(3), 1)[0]
        EstimatesTable([est])
        with pytest.raises(ValueError, match="already in a table"):
            EstimatesTable([est])


class TestStepGrid:
    @pytest.mark.parametrize("seed", range(40))
    def test_equals_the_estimators_step_seconds(self, seed: int) -> None:
        """Every spec shape: per-PU batches, accumulation or not, memory and batch caps,
        CPU PUs sharing cores, one or several PUs per node, fitted or prior speed."""
        rng = random.Random(seed)
        init = rng.choice([8, 32, 128, 256])
        spec = TrainingSpec(
            "a",
            0.0,
            max_epochs=10,
            examples_per_epoch=rng.choice([500, 20_000, 10**6]),
            init_batch_size=init,
            batch_size=init,
            batch_sizes=tuple(init << i for i in range(rng.randint(1, 6))),
            min_local_bsz=rng.choice([1, 4, init // 4]),
            max_local_bsz=rng.choice([None, init, init * 2, 7]),
            max_batch_size=rng.choice([None, init * 3, init * 16]),
            batch_per_pu=rng.random() < 0.3,
            pus_per_node=rng.choice([1, 2, 4, 8]),
            cores_per_node=rng.choice([None, None, 2, 3]),
            accumulate=rng.random() < 0.7,
        )
        prior = SpeedParams(*(rng.uniform(0.0, 0.05) for _ in range(7)))
        est = JobEstimates(spec, speed_prior=prior, scale_prior=rng.random() < 0.5)
        for _ in range(rng.choice([0, 1, 4])):
            n = rng.choice([1, 2, 3, 8])
            nodes = nodes_for(n, spec.pus_per_node)
            sync = rng.choice([None, 0.01]) if n > 1 else 0.0
            est.record_step(SpeedSample(n, nodes, 16, rng.uniform(0.05, 0.5), sync))
        counts = ladder(1, rng.choice([1, 5, 64, 300]))
        grid = step_grid(est, counts, spec.batch_sizes)
        for k, n in enumerate(counts):
            for j, b in enumerate(spec.batch_sizes):
                if math.isfinite(est.cost(n, b)):
                    assert grid[k, j] == est.step_seconds(n, b), (n, b)
                else:
                    assert math.isinf(grid[k, j]), (n, b)


class TestViews:
    def test_views_are_the_estimators_own(self) -> None:
        ests = random_estimates(random.Random(4), 3)
        views = EstimatesTable(ests).views([0, 2, 1], [0.0, 5.0, 1.0])
        assert isinstance(views[1], SchedJob)
        assert [v.current_pus for v in views] == [0, 2, 1]
        assert views[1] is ests[1].sched_job(2, 5.0)

    def test_any_policy_reads_them(self) -> None:
        ests = random_estimates(random.Random(6), 30)
        views = EstimatesTable(ests).views(1)
        alloc = get_policy("optimus").allocate(views, 64)
        assert sum(a.pus for a in alloc.values()) <= 64
        assert all(isinstance(a, Assignment) for a in alloc.values())

    def test_lengths_must_match(self) -> None:
        table = EstimatesTable(random_estimates(random.Random(7), 2))
        with pytest.raises(ValueError, match="2 rows"):
            table.views([1, 1, 1])
