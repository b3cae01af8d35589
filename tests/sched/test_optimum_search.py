"""The exhaustive optimum, checked against brute force, and the heuristic measured against it."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from tasks.sched.doubling import plan_doubling, total_time
from tasks.sched.instances import random_jobs
from tasks.sched.optimum import OptimumPolicy, optimum
from tasks.sched.policy import SchedJob


def brute_force(jobs: list[SchedJob], capacity: int) -> float:
    ranges = [range(j.min_pus, min(j.max_pus, capacity) + 1) for j in jobs]
    return min(
        (
            math.fsum(j.remaining_time(c) for j, c in zip(jobs, counts, strict=True))
            for counts in itertools.product(*ranges)
            if sum(counts) <= capacity
        ),
        default=math.inf,
    )


class TestExact:
    @pytest.mark.parametrize("seed", range(40))
    def test_matches_brute_force(self, seed: int) -> None:
        rng = random.Random(seed)
        jobs = random_jobs(rng, rng.randint(1, 4), with_bounds=True)
        capacity = rng.randint(sum(j.min_pus for j in jobs), 10)
        assert optimum(jobs, capacity).total == pytest.approx(brute_force(jobs, capacity))

    def test_hand_example(self) -> None:
        jobs = [SchedJob("a", 0.0, lambda n: 12.0 / n), SchedJob("b", 0.0, lambda n: 3.0 / n)]
        # (a, b) = (2, 1): 6 + 3 = 9; (1, 2): 12 + 1.5; the optimum gives the PU to a.
        assert optimum(jobs, 3).pus == {"a": 2, "b": 1}

    def test_minimums_that_do_not_fit_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="need 4 PUs"):
            optimum([SchedJob("a", 0.0, lambda n: 1.0, min_pus=4)], 3)

    def test_too_large_is_rejected(self) -> None:
        jobs = random_jobs(random.Random(0), 20)
        with pytest.raises(ValueError, match="too large"):
            optimum(jobs, 200)

    def test_policy_interface(self) -> None:
        jobs = [SchedJob("a", 0.0, lambda n: 12.0 / n), SchedJob("b", 0.0, lambda n: 3.0 / n)]
        assert {k: v.pus for k, v in OptimumPolicy().allocate(jobs, 3).items()} == {"a": 2, "b": 1}


class TestHeuristicAgainstOptimum:
    def test_never_below_the_optimum_and_close_on_average(self) -> None:
        rng = random.Random(11)
        ratios = []
        for _ in range(60):
            jobs = random_jobs(rng, rng.randint(1, 6), with_bounds=rng.random() < 0.5)
            capacity = rng.randint(sum(j.min_pus for j in jobs), 16)
            best = optimum(jobs, capacity).total
            heuristic = total_time(jobs, plan_doubling(jobs, capacity).pus)
            assert heuristic >= best * (1 - 1e-12)
            ratios.append(heuristic / best)
        assert sum(ratios) / len(ratios) < 1.05

    def test_powers_of_two_optimum_lies_between(self) -> None:
        rng = random.Random(5)
        for _ in range(20):
            jobs = random_jobs(rng, rng.randint(1, 5))
            capacity = rng.randint(len(jobs), 16)
            full = optimum(jobs, capacity).total
            doubled = optimum(jobs, capacity, powers_of_two=True).total
            heuristic = total_time(jobs, plan_doubling(jobs, capacity).pus)
            assert full <= doubled * (1 + 1e-12)
            assert doubled <= heuristic * (1 + 1e-12)
