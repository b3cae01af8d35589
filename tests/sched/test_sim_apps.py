"""Application models: step-time lookup, batch split, efficiency, epochs, remaining work."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tasks.sched.apps import AppModel, canonical_placement, packed_placement
from tests.sched.sim_support import linear_step, tiny_app


@pytest.fixture
def app(tmp_path: Path) -> AppModel:
    return tiny_app(tmp_path)


class TestPlacementShapes:
    def test_rotation_to_smallest(self) -> None:
        assert canonical_placement((2, 1, 3)) == (1, 3, 2)
        assert canonical_placement((4, 0, 2)) == (2, 4)

    def test_empty_placement_rejected(self) -> None:
        with pytest.raises(ValueError, match="no GPUs"):
            canonical_placement((0, 0))

    def test_packed_four_to_a_node(self) -> None:
        assert packed_placement(6) == (4, 2)
        assert packed_placement(8) == (4, 4)
        assert packed_placement(1) == (1,)


class TestLimits:
    def test_limits_come_from_the_traces(self, app: AppModel) -> None:
        assert (app.init_batch_size, app.max_batch_size) == (10, 40)
        assert (app.min_local_bsz, app.max_local_bsz) == (10, 20)
        assert app.batch_sizes == (10, 40)

    def test_max_local_override(self, tmp_path: Path) -> None:
        assert tiny_app(tmp_path, max_local_bsz=8).max_local_bsz == 8

    def test_max_gpus_from_min_local_batch(self, app: AppModel) -> None:
        assert app.max_gpus(40) == 4
        assert app.max_gpus(10) == 1


class TestStepTime:
    def test_measured_placement_interpolates_in_local_bsz(self, app: AppModel) -> None:
        step, sync = app.step_time((1,), 15)
        assert step == pytest.approx(linear_step(1, 1, 15))
        assert sync == pytest.approx(0.1)

    def test_measured_placement_exact_point(self, app: AppModel) -> None:
        assert app.step_time((1, 1), 20) == pytest.approx((2.5, 0.2))

    def test_unmeasured_placement_interpolates_over_configurations(self, app: AppModel) -> None:
        # (2, 1) rotates to (1, 2): 2 nodes, 3 replicas, not in placements.csv.
        step, sync = app.step_time((2, 1), 15)
        assert step == pytest.approx(linear_step(2, 3, 15))
        assert sync == pytest.approx(0.2)

    def test_outside_the_measured_hull_takes_nearest(self, app: AppModel) -> None:
        step, _ = app.step_time((4, 4, 4, 4), 10)
        assert math.isfinite(step) and step > 0


class TestBatchSplit:
    def test_even_split_without_accumulation(self, app: AppModel) -> None:
        assert app.batch_split(40, 2) == (20, 0)

    def test_ceil_per_gpu(self, app: AppModel) -> None:
        # ceil(30 / 4) = 8 per GPU; 4 x 8 = 32 <= 40.
        assert app.batch_split(30, 4) == (8, 0)

    def test_accumulation_when_per_gpu_exceeds_max(self, tmp_path: Path) -> None:
        app = tiny_app(tmp_path, max_local_bsz=10)
        # 40 over 2 GPUs = 20 per GPU = 2 micro-batches of 10: one accumulation step.
        assert app.batch_split(40, 2) == (10, 1)

    def test_single_gpu_above_initial_batch_accumulates(self, app: AppModel) -> None:
        # 20 fits one GPU (max 20) but n = 1 and B > initial: at least one accumulation step.
        assert app.batch_split(20, 1) == (10, 1)
        assert app.batch_split(10, 1) == (10, 0)

    def test_atomic_capped_by_max_batch(self, app: AppModel) -> None:
        # ceil(40 / 3) = 14 per GPU, but 3 x 14 = 42 > 40: capped at floor(40 / 3) = 13.
        assert app.batch_split(40, 3) == (13, 0)

    def test_accumulation_cost(self, tmp_path: Path) -> None:
        app = tiny_app(tmp_path, max_local_bsz=10)
        seconds, batch = app.optimizer_step((2,), 40)
        step, sync = linear_step(1, 2, 10), 0.1
        assert seconds == pytest.approx(step + (step - sync) * 1)
        assert batch == 40


class TestEfficiencyAndEpochs:
    def test_gain_is_one_at_initial_batch(self, app: AppModel) -> None:
        assert app.efficiency_gain(10, 0) == pytest.approx(1.0)

    def test_gain_interpolates_gradient_statistics(self, app: AppModel) -> None:
        # Halfway between 10 and 40: sqr = 1, var = 1.5; scale 2.5 -> 2.5 / 1.6.
        assert app.grad_stats(25, 0) == pytest.approx((1.0, 1.5))
        assert app.efficiency_gain(25, 0) == pytest.approx(2.5 / 1.6)

    def test_progress_is_the_smallest_across_files(self, app: AppModel) -> None:
        assert [app.progress_at(k) for k in range(3)] == [0.0, 100.0, 200.0]

    def test_iterations_interpolate_in_batch(self, app: AppModel) -> None:
        assert app.iterations(25, 1) == pytest.approx(140.0)

    def test_remaining_iterations_oracle(self, app: AppModel) -> None:
        assert app.remaining_iterations(25, 0) == pytest.approx(140.0 - 70.0)
        assert app.remaining_iterations(25, 1) == 1.0

    def test_too_few_epochs_rejected(self, tmp_path: Path) -> None:
        from tasks.sched.traces import TraceError, read_application
        from tests.sched.sim_support import write_app

        with pytest.raises(TraceError, match="fewer than 5"):
            AppModel(read_application(write_app(tmp_path), "cifar10"), 5)
