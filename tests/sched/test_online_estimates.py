"""Online estimates: the speed fit, predicted efficiency and remaining work from observations."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest

from tasks.sched.estimates import JobEstimates, TrainingSpec, batch_split, predicted_gain
from tasks.sched.policy import SchedJob
from tasks.sched.speed import SpeedModel, SpeedParams, SpeedSample
from tests.sched.sim_support import real_apps

TRUE = SpeedParams(c0=0.02, c1=0.001, g_intra=0.03, l_intra=0.0, g_inter=0.2, l_inter=0.001)


def spec(**kw: object) -> TrainingSpec:
    base: dict[str, object] = {
        "name": "j",
        "arrival_s": 0.0,
        "max_epochs": 10,
        "examples_per_epoch": 12_800,
        "init_batch_size": 128,
        "batch_sizes": (128, 256, 512),
        "min_local_bsz": 16,
        "max_local_bsz": 256,
        "max_batch_size": 512,
        "max_pus": 16,
    }
    base.update(kw)
    return TrainingSpec(**base)  # type: ignore[arg-type]


def observe_truth(est: JobEstimates, configs: list[tuple[int, int, int]]) -> None:
    model = SpeedModel(TRUE)
    for n, nodes, b in configs:
        est.record_step(
            SpeedSample(n, nodes, b, model.step_seconds(n, nodes, b), model.sync_seconds(n, nodes))
        )


class TestSpeed:
    def test_prior_before_any_observation(self) -> None:
        prior = SpeedParams(0.0, 0.01, 0.0, 0.0, 0.0, 0.0)
        est = JobEstimates(spec(), speed_prior=prior)
        # 10 epochs x 100 steps x 128 x 0.01 s
        assert est.remaining_time_at(1, 128) == pytest.approx(1280.0)

    def test_fit_recovers_the_observed_steps_and_extrapolates(self) -> None:
        est = JobEstimates(spec(), speed_prior=SpeedParams())
        observe_truth(est, [(1, 1, 128), (1, 1, 64), (2, 1, 64), (4, 1, 32), (8, 2, 16)])
        truth = SpeedModel(TRUE)
        for n, nodes, b in [(2, 1, 64), (4, 1, 32), (16, 4, 8)]:
            assert est.model.step_seconds(n, nodes, b) == pytest.approx(
                truth.step_seconds(n, nodes, b), rel=0.05
            )

    def test_scaled_prior_takes_the_first_steps_scale(self) -> None:
        shape = SpeedParams(c0=0.5, c1=0.5 / 128, g_intra=0.1, l_intra=0.0, g_inter=0.5,
                            l_inter=0.0)  # fmt: skip
        est = JobEstimates(spec(), speed_prior=shape, scale_prior=True)
        est.record_step(SpeedSample(1, 1, 128, 3.0, 0.0))
        # One observation on one PU: the link coefficients keep the shape, at 3x its scale.
        assert est.model.params.g_inter == pytest.approx(1.5, rel=0.02)
        assert est.model.step_seconds(1, 1, 128) == pytest.approx(3.0, rel=0.02)

    def test_refit_only_on_new_configurations_or_doubled_counts(self) -> None:
        est = JobEstimates(spec())
        observe_truth(est, [(1, 1, 128)])
        first = est.model
        observe_truth(est, [(1, 1, 128)])
        assert est.model is not first  # 2 >= 2 x 1: refit
        second = est.model
        observe_truth(est, [(1, 1, 128)])
        assert est.model is second  # 3 < 2 x 2: no refit
        observe_truth(est, [(2, 1, 64)])
        assert est.model is not second


class TestEfficiency:
    def test_gain_from_the_measured_noise(self) -> None:
        est = JobEstimates(spec())
        assert est.gain(512) == 1.0  # prior: no noise, a larger batch gains nothing
        est.record_gradient(sqr=1.0, var=3.0)
        assert est.gain(512) == pytest.approx(predicted_gain(512, 128, 1.0, 3.0))
        assert 1.0 < est.gain(512) < 4.0

    def test_infinite_noise_is_perfect_scaling(self) -> None:
        assert predicted_gain(512, 128, 1.0, math.inf) == 4.0

    def test_batch_choice_follows_the_noise(self) -> None:
        est = JobEstimates(spec())
        observe_truth(est, [(4, 1, 32), (4, 1, 64), (4, 1, 128)])
        low = min(spec().batch_sizes, key=lambda b: est.remaining_time_at(4, b))
        est.record_gradient(sqr=1.0, var=1000.0)
        high = min(spec().batch_sizes, key=lambda b: est.remaining_time_at(4, b))
        assert (low, high) == (128, 512)


class TestRemainingWork:
    def test_budget_minus_progress_from_the_spec_before_the_first_epoch(self) -> None:
        est = JobEstimates(spec())
        est.record_progress(0, 25.0)  # a quarter of the first epoch (100 steps)
        assert est.remaining_progress() == pytest.approx(975.0)

    def test_progress_per_epoch_read_from_the_curve(self) -> None:
        est = JobEstimates(spec())
        est.record_epoch(1, 120.0)
        est.record_epoch(2, 240.0)
        est.record_progress(2, 300.0)
        # 120 per epoch (not the spec's 100), half of epoch 3 done: 7.5 epochs left.
        assert est.remaining_progress() == pytest.approx(7.5 * 120.0)

    def test_explore_caps_growth_at_a_multiple_of_the_most_pus_seen(self) -> None:
        est = JobEstimates(spec(), explore=2.0)
        assert est.sched_job().max_pus == 1
        observe_truth(est, [(4, 1, 32)])
        job = est.sched_job()
        assert job.max_pus == 8
        assert job.remaining_time(16) == math.inf


class TestBatchSplit:
    def test_matches_the_simulators_rule_on_every_application(self) -> None:
        for app in real_apps().values():
            for batch in app.batch_sizes:
                for n in (1, 2, 3, 4, 6, 8, 16, 64):
                    assert batch_split(
                        batch, n, app.init_batch_size, app.max_local_bsz, app.max_batch_size
                    ) == app.batch_split(batch, n), (app.name, batch, n)


class TestView:
    def test_view_is_a_complete_sched_job_with_the_best_batch(self) -> None:
        est = JobEstimates(spec(restart_s=30.0))
        observe_truth(est, [(1, 1, 128), (2, 1, 64)])
        est.record_gradient(sqr=1.0, var=1000.0)
        view = est.sched_job(current_pus=2, attained_pu_s=5.0)
        assert view.restart_s == 30.0
        assert set(vars(view)) == {f.name for f in fields(SchedJob)}
        assert (view.current_pus, view.attained_pu_s, view.max_pus) == (2, 5.0, 16)
        assert view.best_time_at is not None and view.best_batch_at is not None
        assert view.remaining_time_at is not None
        t, b = view.best_time_at(4), view.best_batch_at(4)
        assert t == min(view.remaining_time_at(4, s) for s in view.batch_sizes)
        assert view.remaining_time_at(4, b) == t
        assert view.remaining_time(4) == view.remaining_time_at(4, 128)
        assert view.remaining_time(17) == math.inf
