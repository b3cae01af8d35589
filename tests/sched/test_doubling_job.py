"""The scheduling view of a live job: from samples and loss history to a SchedJob."""

from __future__ import annotations

import math

import pytest

from tasks.sched.convergence import LossCurve
from tasks.sched.doubling import DoublingPolicy
from tasks.sched.job import JobView
from tasks.sched.speed import SpeedModel, SpeedParams, SpeedSample

TRUE = SpeedParams(c0=0.01, c1=0.002, g_intra=0.05, l_intra=0.0, g_inter=0.4, l_inter=0.0)


def job(**kw: object) -> JobView:
    base: dict = {
        "name": "j",
        "arrival_s": 0.0,
        "batch_size": 128,
        "examples_per_epoch": 12_800,
        "max_epochs": 10,
        "speed_prior": TRUE,
    }
    base.update(kw)
    return JobView(**base)


class TestRemainingTime:
    def test_epochs_times_steps_times_step_seconds(self) -> None:
        view = job()
        # 10 epochs x 100 steps x (0.01 + 0.002 * 32 + 1.5 * 0.05) s on 4 PUs of one node.
        assert view.remaining_time(4) == pytest.approx(1000 * (0.01 + 0.064 + 0.075))

    def test_packs_onto_fewest_nodes(self) -> None:
        view = job(pus_per_node=4)
        model = SpeedModel(TRUE)
        assert view.remaining_time(8) == pytest.approx(1000 * model.step_seconds(8, 2, 16))

    def test_cannot_run_outside_bounds_or_memory(self) -> None:
        view = job(min_pus=2, max_pus=8, max_per_pu_batch=32)
        assert view.remaining_time(1) == math.inf  # below min
        assert view.remaining_time(16) == math.inf  # above max
        assert view.remaining_time(2) == math.inf  # 64 per PU > 32
        assert math.isfinite(view.remaining_time(4))

    def test_other_batch_sizes_when_offered(self) -> None:
        view = job(batch_sizes=(64, 128, 256))
        sched = view.to_sched_job()
        assert sched.remaining_time_at is not None
        assert sched.remaining_time_at(2, 256) == pytest.approx(view.remaining_time_at(2, 256))
        assert job().to_sched_job().remaining_time_at is None


class TestLearning:
    def test_samples_replace_the_prior(self) -> None:
        slow = SpeedParams(c0=0.05, c1=0.01, g_intra=0.2, l_intra=0.0, g_inter=1.0, l_inter=0.0)
        view = job(speed_prior=slow)
        before = view.remaining_time(2)
        truth = SpeedModel(TRUE)
        for n, nodes in [(1, 1), (2, 1), (4, 1), (8, 2)]:
            for b in (16, 64, 128):
                view.record_step(SpeedSample(n, nodes, b, truth.step_seconds(n, nodes, b)))
        view.refresh()
        assert view.remaining_time(2) == pytest.approx(
            1000 * truth.step_seconds(2, 1, 64), rel=0.02
        )
        assert view.remaining_time(2) < before

    def test_sched_job_is_a_snapshot(self) -> None:
        view = job()
        sched = view.to_sched_job()
        before = sched.remaining_time(2)
        view.record_step(SpeedSample(2, 1, 64, 10.0))  # far slower than the prior says
        assert sched.remaining_time(2) == before
        assert view.to_sched_job().remaining_time(2) > before

    def test_loss_history_shortens_the_estimate(self) -> None:
        view = job(max_epochs=90)
        curve = LossCurve(1.0, 1.0, 0.2)
        for k in range(1, 6):
            view.record_epoch(k, curve(k))
        assert view.epochs_done == 5
        view.refresh()
        assert view.epochs_left == pytest.approx(curve.epoch_flat(0.01) - 5, rel=0.02)

    def test_accuracy_history_with_target(self) -> None:
        view = job(max_epochs=90, metric_increasing=True, target=0.8)
        for k in range(1, 7):
            view.record_epoch(k, 0.9 - 1.0 / (0.5 * k + 1.0))  # reaches 0.8 at epoch 18
        view.refresh()
        assert view.epochs_left == pytest.approx(18 - 6, rel=0.02)

    def test_non_finite_loss_rejected(self) -> None:
        with pytest.raises(ValueError, match="not finite"):
            job(name="bad").record_epoch(1, math.nan)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [({"batch_size": 0}, "batch_size"), ({"min_pus": 3, "max_pus": 2}, "min_pus")],
    )
    def test_bad_bounds_rejected(self, kwargs: dict, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            job(**kwargs)


class TestFeedsThePolicy:
    def test_two_views_scheduled_by_doubling(self) -> None:
        short = job(name="short", max_epochs=1)
        long = job(name="long", max_epochs=50)
        alloc = DoublingPolicy().allocate([short.to_sched_job(), long.to_sched_job()], 5)
        assert sum(a.pus for a in alloc.values()) <= 5
        assert set(alloc) == {"short", "long"}
        # Doubling the long job saves far more time per PU than doubling the short one.
        assert (alloc["long"].pus, alloc["short"].pus) == (4, 1)


class TestPerPuBatch:
    def test_total_batch_grows_with_the_pus(self) -> None:
        from tasks.sched.job import JobView
        from tasks.sched.speed import SpeedParams

        # 6400 examples, 32 per PU: 2 PUs take 100 steps of 32 per PU at 0.01 s per example.
        j = JobView(
            "a",
            0.0,
            batch_size=32,
            batch_per_pu=True,
            examples_per_epoch=6400,
            max_epochs=1,
            speed_prior=SpeedParams(0.0, 0.01, 0.0, 0.0, 0.0, 0.0),
        )
        assert j.to_sched_job().remaining_time(2) == pytest.approx(32.0)
        assert j.to_sched_job().remaining_time(1) == pytest.approx(64.0)
        # 201 PUs would need more examples per step than an epoch has.
        assert j.to_sched_job().remaining_time(201) == float("inf")
