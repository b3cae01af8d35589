"""The doubling heuristic: hand-checked decisions and properties over random instances."""

from __future__ import annotations

import math
import random
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.sched.doubling import DoublingPolicy, plan_doubling, total_time
from tasks.sched.instances import random_jobs
from tasks.sched.policy import Assignment, Policy, SchedJob


def table_job(name: str, times: dict[int, float], **kw: object) -> SchedJob:
    """A job whose remaining time is given by a table (inf elsewhere)."""
    return SchedJob(name, 0.0, lambda n: times.get(n, math.inf), **kw)  # type: ignore[arg-type]


class TestWorkedExample:
    """The README example: three jobs on 8 PUs, with a tie and a doubling that no longer fits."""

    def jobs(self) -> list[SchedJob]:
        return [
            table_job("A", {1: 100, 2: 60, 4: 40, 8: 35}),
            table_job("B", {1: 80, 2: 50, 4: 30, 8: 25}),
            table_job("C", {1: 30, 2: 20, 4: 18}),
        ]

    def test_steps(self) -> None:
        plan = plan_doubling(self.jobs(), 8)
        # First PUs by shortest remaining time: C (30), B (80), A (100); 5 PUs free.
        # Proposals per added PU: A 1->2 (100-60)/1 = 40, B 1->2 30, C 1->2 10.
        # A doubles (free 4), proposes 2->4: (60-40)/2 = 10.  B doubles (free 3), proposes
        # 2->4: 10.  Three-way tie at 10, broken by name: A 2->4 fits (free 1), proposes
        # 4->8: 1.25.  B 2->4 needs 2 > 1 free: dropped.  C 1->2 takes the last PU.
        assert [str(s) for s in plan.steps] == [
            "first C 0->1",
            "first B 0->1",
            "first A 0->1",
            "double A 1->2 (+40/PU)",
            "double B 1->2 (+30/PU)",
            "double A 2->4 (+10/PU)",
            "double C 1->2 (+10/PU)",
        ]
        assert plan.pus == {"A": 4, "B": 2, "C": 2}
        assert plan.free == 0
        assert total_time(self.jobs(), plan.pus) == 40 + 50 + 20

    def test_stops_when_no_doubling_improves(self) -> None:
        jobs = [table_job("A", {1: 10, 2: 10, 4: 5})]
        plan = plan_doubling(jobs, 8)
        # 1->2 gains nothing, so A never reaches 4 although 4 would help: the claims stop.
        assert plan.pus == {"A": 1}
        assert plan.free == 7


class TestFirstPus:
    def test_jobs_outnumber_pus_priority_then_shortest_then_arrival(self) -> None:
        jobs = [
            SchedJob("late-short", 20.0, lambda n: 10.0 / n),
            SchedJob("early-short", 10.0, lambda n: 10.0 / n),
            SchedJob("long", 0.0, lambda n: 99.0 / n),
            SchedJob("urgent-long", 30.0, lambda n: 500.0 / n, priority=1),
        ]
        assert plan_doubling(jobs, 3).pus == {"urgent-long": 1, "early-short": 1, "late-short": 1}

    def test_min_pus_respected_and_big_job_backfilled_past(self) -> None:
        jobs = [
            SchedJob("big", 0.0, lambda n: 10.0 / n, min_pus=4),
            SchedJob("small", 0.0, lambda n: 50.0 / n),
        ]
        # big goes first (shorter) and takes 4 of 5; small takes the last PU.
        assert plan_doubling(jobs, 5).pus == {"big": 4, "small": 1}
        # With 3 PUs big cannot start; small is not held up behind it (and doubles once: the
        # third PU stays idle, as no full doubling fits it).
        assert plan_doubling(jobs, 3).pus == {"small": 2}

    def test_job_that_cannot_run_gets_nothing(self) -> None:
        jobs = [SchedJob("broken", 0.0, lambda n: math.inf), SchedJob("ok", 0.0, lambda n: 1.0)]
        assert plan_doubling(jobs, 4).pus == {"ok": 1}


class TestLeftover:
    def test_partial_doubling_uses_leftover_pus(self) -> None:
        plan = plan_doubling([SchedJob("a", 0.0, lambda n: 100.0 / n)], 7, leftover="partial")
        assert [str(s) for s in plan.steps][-1] == "leftover a 4->7 (+3.57143/PU)"
        assert plan.pus == {"a": 7}

    def test_idle_leaves_them_free(self) -> None:
        plan = plan_doubling([SchedJob("a", 0.0, lambda n: 100.0 / n)], 7)
        assert plan.pus == {"a": 4}
        assert plan.free == 3

    def test_doubling_capped_at_max_pus(self) -> None:
        plan = plan_doubling([SchedJob("a", 0.0, lambda n: 100.0 / n, max_pus=3)], 16)
        assert [str(s) for s in plan.steps] == ["first a 0->1", "double a 1->2 (+50/PU)",
                                                "double a 2->3 (+16.6667/PU)"]  # fmt: skip


class TestInput:
    def test_duplicate_names_rejected(self) -> None:
        with pytest.raises(ValueError, match="unique"):
            plan_doubling([SchedJob("a", 0.0, lambda n: 1.0)] * 2, 4)

    def test_negative_capacity_rejected(self) -> None:
        with pytest.raises(ValueError, match="capacity"):
            plan_doubling([], -1)

    def test_no_jobs_or_no_pus(self) -> None:
        assert plan_doubling([], 8).pus == {}
        assert plan_doubling([SchedJob("a", 0.0, lambda n: 1.0)], 0).pus == {}


class TestPolicyInterface:
    def test_is_a_policy(self) -> None:
        policy = DoublingPolicy()
        assert isinstance(policy, Policy)
        assert policy.name == "doubling"
        alloc = policy.allocate([SchedJob("a", 0.0, lambda n: 8.0 / n)], 4)
        assert alloc == {"a": Assignment(4)}


instance = st.tuples(
    st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(0, 64), st.booleans()
)


def draw(args: tuple[int, int, int, bool]) -> tuple[list[SchedJob], int]:
    seed, count, capacity, bounds = args
    return random_jobs(random.Random(seed), count, with_bounds=bounds), capacity


class TestProperties:
    @settings(max_examples=150, deadline=None)
    @given(instance, st.sampled_from(["idle", "partial"]))
    def test_never_more_pus_than_exist_and_bounds_respected(
        self, args: tuple, leftover: Literal["idle", "partial"]
    ) -> None:
        jobs, capacity = draw(args)
        plan = plan_doubling(jobs, capacity, leftover=leftover)
        assert sum(plan.pus.values()) + plan.free == capacity
        assert plan.free >= 0
        by_name = {j.name: j for j in jobs}
        for name, pus in plan.pus.items():
            assert by_name[name].min_pus <= pus <= by_name[name].max_pus

    @settings(max_examples=100, deadline=None)
    @given(instance, st.randoms(use_true_random=False))
    def test_deterministic_whatever_the_input_order(self, args: tuple, rnd: random.Random) -> None:
        jobs, capacity = draw(args)
        shuffled = jobs.copy()
        rnd.shuffle(shuffled)
        assert plan_doubling(jobs, capacity).pus == plan_doubling(shuffled, capacity).pus

    @settings(max_examples=150, deadline=None)
    @given(instance)
    def test_every_job_runs_when_pus_suffice(self, args: tuple) -> None:
        jobs, capacity = draw(args)
        if sum(j.min_pus for j in jobs) <= capacity:
            assert set(plan_doubling(jobs, capacity).pus) == {j.name for j in jobs}

    # Not a theorem for a greedy rule, only never seen false (30,000 random instances), so
    # the examples are fixed: CI must not turn red on a new random draw.
    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(instance)
    def test_more_pus_never_lengthen_the_plan(self, args: tuple) -> None:
        jobs, capacity = draw(args)
        fewer = total_time(jobs, plan_doubling(jobs, capacity).pus)
        more = total_time(jobs, plan_doubling(jobs, capacity + 1).pus)
        assert more <= fewer or math.isclose(more, fewer)
