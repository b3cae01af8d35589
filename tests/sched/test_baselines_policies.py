"""Baselines on small hand-checked cases, and the policy registry."""

from __future__ import annotations

import pytest

from tasks.sched.baselines import FifoPolicy, OptimusOraclePolicy, TiresiasPolicy
from tasks.sched.policy import Policy, SchedJob
from tasks.sched.registry import POLICIES, get_policy


def job(name: str, arrival: float = 0.0, work: float = 100.0, **kw: object) -> SchedJob:
    return SchedJob(name, arrival, lambda n: work / n, **kw)  # type: ignore[arg-type]


def pus(allocation: object) -> dict[str, int]:
    return {k: v.pus for k, v in allocation.items()}  # type: ignore[attr-defined]


class TestFifo:
    def test_runs_in_arrival_order_without_backfill(self) -> None:
        jobs = [
            job("c", 2, requested_pus=1),
            job("a", 0, requested_pus=3),
            job("b", 1, requested_pus=2),
        ]
        # a (3) fits, b (2) does not fit in the last 1: FIFO stops, c waits behind b.
        assert pus(FifoPolicy().allocate(jobs, 4)) == {"a": 3}

    def test_all_fit(self) -> None:
        jobs = [job("a", 0, requested_pus=2), job("b", 1, requested_pus=2)]
        assert pus(FifoPolicy().allocate(jobs, 4)) == {"a": 2, "b": 2}


class TestOptimus:
    def test_one_each_then_largest_marginal_gain(self) -> None:
        # Remaining times 1000/n and 100/n: gains 500, 166.7, 83.3... for "long" dominate.
        jobs = [job("long", 0, 1000.0, max_pus=8), job("short", 1, 100.0, max_pus=8)]
        assert pus(OptimusOraclePolicy().allocate(jobs, 5)) == {"short": 1, "long": 4}

    def test_gains_written_out(self) -> None:
        # a: 600/n gains 300, 100, 50; b: 240/n gains 120, 40. Capacity 5: 1+1, then
        # a (300), b (120), a (100) -> a 3, b 2.
        jobs = [job("a", 0, 600.0, max_pus=8), job("b", 1, 240.0, max_pus=8)]
        assert pus(OptimusOraclePolicy().allocate(jobs, 5)) == {"a": 3, "b": 2}

    def test_respects_max_pus_and_leaves_no_gain_idle(self) -> None:
        jobs = [job("a", 0, 600.0, max_pus=2)]
        assert pus(OptimusOraclePolicy().allocate(jobs, 8)) == {"a": 2}

    def test_more_jobs_than_pus_first_come_first(self) -> None:
        jobs = [job(n, i) for i, n in enumerate("abc")]
        assert pus(OptimusOraclePolicy().allocate(jobs, 2)) == {"a": 1, "b": 1}

    def test_result_ordered_by_ascending_count(self) -> None:
        jobs = [job("big", 0, 1000.0, max_pus=8), job("small", 1, 10.0, max_pus=1)]
        assert list(OptimusOraclePolicy().allocate(jobs, 4)) == ["small", "big"]


class TestTiresias:
    def test_new_jobs_in_arrival_order_with_gap_filling(self) -> None:
        jobs = [
            job("a", 0, requested_pus=3),
            job("b", 1, requested_pus=2),
            job("c", 2, requested_pus=1),
        ]
        assert pus(TiresiasPolicy().allocate(jobs, 4)) == {"a": 3, "c": 1}

    def test_demoted_job_yields_to_new_one(self) -> None:
        policy = TiresiasPolicy(threshold_pu_s=100.0)
        old = job("old", 0, requested_pus=2)
        assert pus(policy.allocate([old], 2)) == {"old": 2}
        old = job("old", 0, requested_pus=2, attained_pu_s=100.0)
        new = job("new", 50, requested_pus=2)
        assert pus(policy.allocate([old, new], 2)) == {"new": 2}

    def test_demotion_is_permanent_and_fifo_in_low_queue(self) -> None:
        policy = TiresiasPolicy(threshold_pu_s=10.0)
        a = job("a", 0, requested_pus=1, attained_pu_s=20.0)
        b = job("b", 1, requested_pus=1, attained_pu_s=20.0)
        policy.allocate([a, b], 2)
        assert pus(policy.allocate([b, a], 1)) == {"a": 1}

    def test_default_threshold_is_16_gpu_hours(self) -> None:
        assert TiresiasPolicy().threshold_pu_s == 16 * 3600


class TestRegistry:
    def test_names(self) -> None:
        assert {"fifo", "optimus", "tiresias"} <= set(POLICIES)

    @pytest.mark.parametrize("name", sorted(POLICIES))
    def test_each_builds_a_policy(self, name: str) -> None:
        policy = get_policy(name)
        assert isinstance(policy, Policy)
        assert policy.name == name

    def test_unknown_lists_known(self) -> None:
        with pytest.raises(ValueError, match=r"unknown policy 'nope'; known: .*fifo, optimus"):
            get_policy("nope")

    def test_fresh_instance_each_time(self) -> None:
        assert get_policy("tiresias") is not get_policy("tiresias")
