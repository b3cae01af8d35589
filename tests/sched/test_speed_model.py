"""The ring all-reduce speed function: shape, fit from noisy samples, prior, real traces."""

from __future__ import annotations

import csv
import random
import statistics
from pathlib import Path

import pytest

from tasks.sched.instances import RingJobTime
from tasks.sched.speed import (
    SpeedModel,
    SpeedParams,
    SpeedSample,
    core_share,
    nodes_for,
    per_configuration,
    sync_features,
)

TRACES = Path(__file__).resolve().parents[3] / "shared" / "traces" / "pollux"
TRUE = SpeedParams(c0=0.02, c1=0.0015, g_intra=0.04, l_intra=2e-4, g_inter=0.25, l_inter=1e-3)
LAYOUTS = [(1, 1), (2, 1), (3, 1), (4, 1), (4, 2), (6, 2), (8, 2), (8, 4), (12, 3), (16, 4)]


def noisy_samples(rng: random.Random, noise: float, with_sync: bool) -> list[SpeedSample]:
    truth = SpeedModel(TRUE)
    out = []
    for n, nodes in LAYOUTS:
        for b in (8, 16, 32, 64, 128):
            for _ in range(3):
                sync = truth.sync_seconds(n, nodes) * rng.gauss(1.0, noise)
                compute = (TRUE.c0 + TRUE.c1 * b) * rng.gauss(1.0, noise)
                out.append(
                    SpeedSample(n, nodes, b, compute + max(sync, 0.0), sync if with_sync else None)
                )
    return out


class TestShape:
    def test_one_pu_does_not_synchronise(self) -> None:
        assert sync_features(1, 1) == (0.0, 0.0, 0.0, 0.0)
        assert SpeedModel(TRUE).step_seconds(1, 1, 10) == pytest.approx(0.02 + 0.015)

    def test_ring_volume_and_hops(self) -> None:
        # 8 PUs on 2 nodes: the inter-node link bounds the ring; 2*7/8 volumes, 14 hops.
        expected = 0.02 + 0.0015 * 16 + 1.75 * 0.25 + 14 * 1e-3
        assert SpeedModel(TRUE).step_seconds(8, 2, 16) == pytest.approx(expected)

    def test_crossing_nodes_costs_more_than_staying(self) -> None:
        model = SpeedModel(TRUE)
        assert model.step_seconds(4, 2, 32) > model.step_seconds(4, 1, 32)

    def test_nodes_for_packs(self) -> None:
        assert [nodes_for(n, 4) for n in (1, 4, 5, 8, 9)] == [1, 1, 2, 2, 3]

    def test_inlined_ring_job_time_matches_step_seconds(self) -> None:
        # RingJobTime inlines step_seconds for speed; every coefficient must agree, c_dist too.
        model = SpeedModel(SpeedParams(**{**vars(TRUE), "c_dist": 0.007}))
        t = RingJobTime(steps=100.0, batch=96, model=model, pus_per_node=4)
        for n in (1, 2, 3, 4, 5, 8, 12):
            expected = 100.0 * model.step_seconds(n, nodes_for(n, 4), -(-96 // n))
            assert t(n) == pytest.approx(expected), n


class TestFit:
    @pytest.mark.parametrize("with_sync", [True, False], ids=["sync-measured", "step-only"])
    def test_recovers_known_parameters_from_noisy_samples(self, with_sync: bool) -> None:
        fitted = SpeedModel.fit(noisy_samples(random.Random(7), 0.03, with_sync)).params
        assert fitted.c0 == pytest.approx(TRUE.c0, rel=0.15)
        assert fitted.c1 == pytest.approx(TRUE.c1, rel=0.05)
        assert fitted.g_intra == pytest.approx(TRUE.g_intra, rel=0.15)
        assert fitted.g_inter == pytest.approx(TRUE.g_inter, rel=0.1)
        # Predictions matter more than any one coefficient: within 3% everywhere measured.
        truth, model = SpeedModel(TRUE), SpeedModel(fitted)
        for n, nodes in LAYOUTS:
            assert model.step_seconds(n, nodes, 32) == pytest.approx(
                truth.step_seconds(n, nodes, 32), rel=0.03
            )

    def test_prior_before_the_first_sample(self) -> None:
        prior = SpeedParams.from_gradient(50e6)
        model = SpeedModel.fit([], prior)
        assert model.params == prior
        assert model.samples_used == 0

    def test_single_node_samples_keep_the_inter_node_prior(self) -> None:
        prior = SpeedParams(g_inter=0.7, l_inter=0.002)
        samples = [
            SpeedSample(n, 1, 32, SpeedModel(TRUE).step_seconds(n, 1, 32)) for n in (1, 2, 4)
        ]
        fitted = SpeedModel.fit(samples, prior).params
        assert (fitted.g_inter, fitted.l_inter) == (0.7, 0.002)

    def test_one_sample_moves_the_prediction_to_it(self) -> None:
        model = SpeedModel.fit([SpeedSample(2, 1, 64, 0.5)], SpeedParams())
        assert model.step_seconds(2, 1, 64) == pytest.approx(0.5, rel=0.01)

    def test_coefficients_never_negative(self) -> None:
        # Faster with more PUs than physics allows: NNLS clips instead of going negative.
        samples = [
            SpeedSample(1, 1, 32, 1.0),
            SpeedSample(2, 1, 32, 0.5),
            SpeedSample(4, 1, 32, 0.2),
        ]
        params = SpeedModel.fit(samples).params
        assert min(params.as_array()) >= 0.0


class TestDistributedOverhead:
    """``c_dist``: what a rank pays per step for being one of several, whatever their number."""

    def test_recovered_beside_the_ring_terms(self) -> None:
        truth = SpeedModel(SpeedParams(**{**vars(TRUE), "c_dist": 0.01}))
        samples = [
            SpeedSample(n, 1, b, truth.step_seconds(n, 1, b), truth.sync_seconds(n, 1))
            for n in (1, 2, 4, 8)
            for b in (16, 64)
        ]
        fitted = SpeedModel.fit(samples).params
        assert fitted.c_dist == pytest.approx(0.01, rel=0.05)
        assert fitted.c0 == pytest.approx(TRUE.c0, rel=0.05)

    def test_a_one_pu_job_never_pays_it(self) -> None:
        model = SpeedModel(SpeedParams(**{**vars(TRUE), "c_dist": 0.5}))
        assert model.step_seconds(1, 1, 10) == SpeedModel(TRUE).step_seconds(1, 1, 10)
        assert model.step_seconds(2, 1, 10) == pytest.approx(
            SpeedModel(TRUE).step_seconds(2, 1, 10) + 0.5
        )

    def test_without_it_one_and_two_pus_cannot_both_fit(self) -> None:
        # Measured shape on CPU workers: the 2-PU compute is well above the 1-PU compute.
        samples = [
            SpeedSample(1, 1, 32, 0.0011, 0.0),
            SpeedSample(2, 1, 32, 0.0042, 0.0026),
            SpeedSample(4, 1, 32, 0.0128, 0.0100, share=2.0),
        ]
        model = SpeedModel.fit(samples)
        assert model.params.c_dist > 0
        for s in samples:
            assert model.step_seconds(s.n, 1, 32, s.share) == pytest.approx(s.step_s, rel=0.1)


class TestPerConfiguration:
    def test_one_stalled_interval_does_not_move_the_fit(self) -> None:
        steady = [SpeedSample(2, 1, 32, 0.010, 0.004) for _ in range(4)]
        stalled = [*steady, SpeedSample(2, 1, 32, 0.200, 0.150)]
        assert SpeedModel.fit(stalled).step_seconds(2, 1, 32) == pytest.approx(
            SpeedModel.fit(steady).step_seconds(2, 1, 32), rel=0.01
        )

    def test_a_long_run_configuration_does_not_outvote_the_others(self) -> None:
        assert len(per_configuration([SpeedSample(4, 1, 32, 0.01)] * 50)) == 1
        grouped = per_configuration(
            [SpeedSample(1, 1, 32, 0.01), SpeedSample(1, 1, 64, 0.02), SpeedSample(2, 2, 32, 0.03)]
        )
        assert [(s.n, s.nodes, s.per_pu_batch) for s in grouped] == [
            (1, 1, 32),
            (1, 1, 64),
            (2, 2, 32),
        ]

    def test_sync_kept_only_when_every_sample_has_it(self) -> None:
        mixed = per_configuration([SpeedSample(2, 1, 32, 0.01, 0.004), SpeedSample(2, 1, 32, 0.01)])
        assert mixed[0].sync_s is None


class TestSharedCores:
    """CPU PUs that outnumber the cores: the whole step scales with the ranks per core."""

    def test_shared_samples_fit_the_unshared_coefficients(self) -> None:
        truth = SpeedModel(TRUE)
        samples = [
            SpeedSample(n, 1, b, share * truth.step_seconds(n, 1, b), None, share)
            for n, share in [(1, 1.0), (2, 1.0), (4, 2.0), (8, 4.0)]
            for b in (16, 64)
        ]
        fitted = SpeedModel.fit(samples)
        for n in (2, 4, 8):
            assert fitted.step_seconds(n, 1, 32) == pytest.approx(
                truth.step_seconds(n, 1, 32), rel=0.02
            )
        # The held-out point: 4 ranks on 2 cores from unshared 1- and 2-PU samples.
        assert SpeedModel.fit(samples[:4]).step_seconds(4, 1, 32, share=2.0) == pytest.approx(
            2 * truth.step_seconds(4, 1, 32), rel=0.25
        )

    @pytest.mark.parametrize(
        ("ranks", "cores", "threads", "share"),
        [
            (1, 2, 1, 1.0),
            (2, 2, 1, 1.0),
            (3, 2, 1, 1.5),
            (4, 2, 1, 2.0),
            (2, 2, 2, 2.0),
            (8, None, 1, 1.0),
        ],
    )
    def test_core_share(self, ranks: int, cores: int | None, threads: int, share: float) -> None:
        assert core_share(ranks, cores, threads) == share


class TestBadInput:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"n": 0, "nodes": 1, "per_pu_batch": 8, "step_s": 1.0}, "nodes <= n"),
            ({"n": 2, "nodes": 3, "per_pu_batch": 8, "step_s": 1.0}, "nodes <= n"),
            ({"n": 1, "nodes": 1, "per_pu_batch": 8, "step_s": 0.0}, "step_s"),
            ({"n": 1, "nodes": 1, "per_pu_batch": 0, "step_s": 1.0}, "per_pu_batch"),
            ({"n": 2, "nodes": 1, "per_pu_batch": 8, "step_s": 1.0, "share": 0.5}, "share"),
        ],
    )
    def test_sample_rejected_with_reason(self, kwargs: dict, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            SpeedSample(**kwargs)


@pytest.mark.traces
@pytest.mark.skipif(not TRACES.is_dir(), reason=f"Pollux traces not found at {TRACES}")
class TestPolluxMeasurements:
    @pytest.mark.parametrize("app", ["bert", "cifar10", "deepspeech2", "imagenet", "ncf", "yolov3"])
    def test_fit_to_measured_steps(self, app: str) -> None:
        with (TRACES / app / "placements.csv").open() as f:
            rows = list(csv.DictReader(f))
        samples = [
            SpeedSample(
                n=sum(int(d) for d in r["placement"]),
                nodes=len(r["placement"]),
                per_pu_batch=float(r["local_bsz"]),
                step_s=float(r["step_time"]),
                sync_s=float(r["sync_time"]),
            )
            for r in rows
        ]
        model = SpeedModel.fit(samples)
        errors = [
            abs(model.step_seconds(s.n, s.nodes, s.per_pu_batch) / s.step_s - 1) for s in samples
        ]
        # Six coefficients for hundreds of measured placements: the median step within 12%.
        assert statistics.median(errors) < 0.12
