"""Remaining-epochs estimate: the Optimus curve fit and its bounds."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.sched.convergence import LossCurve, fit_loss_curve, remaining_epochs


class TestCurve:
    def test_reaching_and_flattening_in_closed_form(self) -> None:
        curve = LossCurve(b0=1.0, b1=1.0, b2=0.0)
        assert curve.epoch_reaching(0.25) == 3.0  # 1 / (3 + 1)
        assert curve.epoch_reaching(-0.1) == math.inf  # below the plateau
        k = curve.epoch_flat(0.01)
        assert curve(k) - curve(k + 1) == pytest.approx(0.01 * (curve(0) - curve.b2))


class TestFit:
    def test_recovers_a_known_loss_curve_from_noisy_points(self) -> None:
        rng = random.Random(3)
        truth = LossCurve(0.3, 2.0, 0.5)
        ks = list(range(1, 21))
        fitted = fit_loss_curve(ks, [truth(k) + rng.gauss(0, 0.003) for k in ks])
        assert fitted.b0 == pytest.approx(0.3, rel=0.15)
        assert fitted.b1 == pytest.approx(2.0, rel=0.15)
        assert fitted.b2 == pytest.approx(0.5, abs=0.02)
        assert fitted(40) == pytest.approx(truth(40), abs=0.01)

    def test_recovers_a_growing_metric(self) -> None:
        ks = [1, 2, 3, 5, 8, 13, 21]
        accuracy = [0.9 - 1.0 / (0.2 * k + 1.5) for k in ks]
        fitted = fit_loss_curve(ks, accuracy, increasing=True)
        assert -fitted.b2 == pytest.approx(0.9, abs=1e-3)  # the plateau

    @pytest.mark.parametrize(
        ("epochs", "values", "message"),
        [([1, 2], [1.0, 0.5], "at least 3"), ([1, 2, 3], [1.0, 0.5], "3 epochs but 2")],
    )
    def test_bad_history_rejected(self, epochs: list, values: list, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            fit_loss_curve(epochs, values)


class TestRemainingEpochs:
    def test_budget_alone_without_enough_history(self) -> None:
        assert remaining_epochs(4, 10) == 6
        assert remaining_epochs(4, 10, ([1, 2], [1.0, 0.9])) == 6

    def test_budget_spent_means_done(self) -> None:
        assert remaining_epochs(12, 10) == 0.0

    def test_fitted_curve_tightens_the_budget(self) -> None:
        truth = LossCurve(1.0, 1.0, 0.1)
        ks = list(range(1, 6))
        left = remaining_epochs(5, 100, (ks, [truth(k) for k in ks]))
        assert left == pytest.approx(truth.epoch_flat(0.01) - 5, rel=0.02)

    def test_target_loss(self) -> None:
        truth = LossCurve(1.0, 1.0, 0.1)
        ks = list(range(1, 6))
        left = remaining_epochs(5, 100, (ks, [truth(k) for k in ks]), target=0.2)
        assert left == pytest.approx(9 - 5, rel=0.02)  # 1 / (k + 1) = 0.1 at k = 9

    def test_unreachable_target_falls_back_to_budget(self) -> None:
        truth = LossCurve(1.0, 1.0, 0.1)
        ks = list(range(1, 6))
        assert remaining_epochs(5, 30, (ks, [truth(k) for k in ks]), target=0.05) == 25

    @settings(max_examples=30, deadline=None)
    @given(
        st.lists(st.floats(0.01, 10.0), min_size=3, max_size=12),
        st.floats(0, 50),
        st.floats(1, 100),
    )
    def test_always_within_floor_and_budget(self, values: list, done: float, budget: float) -> None:
        ks = [float(k + 1) for k in range(len(values))]
        left = remaining_epochs(done, done + budget, (ks, values))
        assert min(0.1, budget) <= left <= budget + 1e-9
