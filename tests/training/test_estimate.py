"""From stored samples to the scheduler's view: what the reschedule flow fits."""

from __future__ import annotations

import pytest

from tasks.training.estimate import CPU_PRIOR, job_view, predicted_samples_per_s
from tasks.training.spec import JobSpec
from tasks.training.store import Job, JobStore, Sample


def _job() -> Job:
    store = JobStore("sqlite://")
    return store.submit(JobSpec(name="est", epochs=10, batch_size=32, max_pus=4))


def _launch(job: Job, generation: int, pus: int, steps: list[float], sync: float) -> list[Sample]:
    return [
        Sample(job.id, generation, float(i), 0, i, pus, step_s=s, sync_s=sync if pus > 1 else 0.0)
        for i, s in enumerate(steps)
    ]


class TestSpeedFromSamples:
    def test_each_launchs_warm_up_step_is_left_out(self) -> None:
        job = _job()
        # Each launch's first sample is one cold step, many times the steady state.
        one = _launch(job, 1, 1, [0.5, 0.010, 0.011, 0.010], 0.0)
        two = _launch(job, 2, 2, [0.9, 0.016, 0.015, 0.016], 0.006)
        view = job_view(job, one + two, pus_per_node=4)
        assert len(view.samples) == 6
        assert view.model.step_seconds(1, 1, 32) == pytest.approx(0.010, rel=0.05)
        assert view.model.step_seconds(2, 1, 32) == pytest.approx(0.016, rel=0.05)

    def test_prior_until_a_steady_step_is_known(self) -> None:
        job = _job()
        view = job_view(job, _launch(job, 1, 1, [0.5], 0.0), pus_per_node=4)
        assert view.model.params == CPU_PRIOR

    def test_prediction_scales_with_the_cores_the_ranks_share(self) -> None:
        job = _job()
        samples = _launch(job, 1, 2, [0.1, 0.004, 0.004, 0.004], 0.002)
        alone = predicted_samples_per_s(job, samples, 4, pus_per_node=4, cores_per_node=None)
        shared = predicted_samples_per_s(job, samples, 4, pus_per_node=4, cores_per_node=2)
        assert shared == pytest.approx(alone / 2)
