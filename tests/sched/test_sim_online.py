"""Online policies in the simulator, load variants, unfinished jobs, and the CLI's labels."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from flows.cli import app as cli
from tasks.sched import simulator as sim_module
from tasks.sched.apps import AppModel
from tasks.sched.registry import get_policy, information
from tasks.sched.simulator import SimConfig, simulate
from tasks.sched.traces import WorkloadJob, read_workload, variant_name, workload_variant
from tests.sched.sim_support import real_apps, real_traces

runner = CliRunner()


def first_jobs(count: int) -> list[WorkloadJob]:
    return read_workload(real_traces() / "workloads" / "workload-1.csv")[:count]


class TestWorkloadVariant:
    JOBS: ClassVar[list[WorkloadJob]] = [
        WorkloadJob(f"a-{i}", 60.0 * i, "cifar10", 1, 128) for i in range(20)
    ]

    def test_load_divides_arrival_times(self) -> None:
        got = workload_variant(self.JOBS, load=2.0)
        assert [j.arrival_s for j in got] == [30.0 * i for i in range(20)]
        assert workload_variant(self.JOBS) == self.JOBS

    def test_seed_resamples_rows_deterministically_with_unique_names(self) -> None:
        one, again = workload_variant(self.JOBS, seed=3), workload_variant(self.JOBS, seed=3)
        assert one == again and len(one) == 20
        assert len({j.name for j in one}) == 20
        assert {j.arrival_s for j in one} < {j.arrival_s for j in self.JOBS}  # with replacement
        assert workload_variant(self.JOBS, seed=4) != one

    def test_bad_load_and_labels(self) -> None:
        with pytest.raises(ValueError, match="positive"):
            workload_variant(self.JOBS, load=0)
        assert variant_name("workload-2", 0.5, 7) == "workload-2@0.5x~seed7"


@pytest.mark.traces
class TestOnlineInformation:
    def test_online_policy_never_reads_the_oracle(self, monkeypatch: pytest.MonkeyPatch) -> None:
        apps = real_apps()

        def forbidden(*args: object) -> float:
            raise AssertionError("an online policy read the oracle")

        # The oracle's inputs: true remaining iterations and predicted steps of unrun placements.
        monkeypatch.setattr(AppModel, "remaining_iterations", forbidden)
        monkeypatch.setattr(AppModel, "optimizer_step", forbidden)
        result = simulate(first_jobs(12), get_policy("doubling-online"), apps)
        assert result.information == "online" and result.unfinished == 0

    def test_labels_and_override(self) -> None:
        assert information("optimus") == "oracle"
        assert information("doubling-plus") == "oracle"
        assert information("tiresias") == "online"
        assert information("doubling-online") == "online"
        online = simulate(
            first_jobs(8), get_policy("doubling-plus"), real_apps(),
            SimConfig(information="online"),
        )  # fmt: skip
        assert online.information == "online" and online.unfinished == 0

    def test_noise_seed_changes_online_runs_only(self) -> None:
        jobs, apps = first_jobs(12), real_apps()
        means = {
            (name, seed): simulate(jobs, get_policy(name), apps, SimConfig(seed=seed)).mean_jct_s
            for name in ("tiresias", "doubling-online")
            for seed in (0, 1)
        }
        assert means["tiresias", 0] == means["tiresias", 1]
        assert means["doubling-online", 0] != means["doubling-online", 1]

    def test_unfinished_jobs_are_named(self) -> None:
        result = simulate(first_jobs(6), get_policy("fifo"), real_apps(), SimConfig(max_time_s=600))
        assert result.unfinished > 0
        assert result.summary()["unfinished_jobs"] == result.unfinished_names
        assert len(result.unfinished_names) == result.unfinished


@pytest.mark.traces
class TestSimCommandOnline:
    def workload(self, tmp_path: Path) -> Path:
        lines = (real_traces() / "workloads" / "workload-1.csv").read_text().splitlines()
        path = tmp_path / "small-1.csv"
        path.write_text("\n".join(lines[:9]) + "\n")
        return path

    def test_labels_load_and_json(self, tmp_path: Path) -> None:
        result = runner.invoke(
            cli,
            [
                "sim", "-p", "tiresias", "-p", "doubling-online",
                "-w", str(self.workload(tmp_path)), "--traces", str(real_traces()),
                "--load", "2", "--json", "--out", str(tmp_path),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        runs = json.loads(result.stdout)["runs"]
        assert [(r["policy"], r["information"]) for r in runs] == [
            ("tiresias", "online"),
            ("doubling-online", "online"),
        ]
        assert all(r["workload"] == "small-1@2x" and r["unfinished"] == 0 for r in runs)

    def test_a_run_with_unfinished_jobs_fails(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sim_module, "SimConfig", functools.partial(SimConfig, max_time_s=600.0))
        result = runner.invoke(
            cli,
            [
                "sim", "-p", "fifo", "-w", str(self.workload(tmp_path)),
                "--traces", str(real_traces()), "--json", "--out", str(tmp_path),
            ],
        )  # fmt: skip
        assert result.exit_code == 1
        payload = json.loads(result.stdout)
        assert payload["runs"][0]["unfinished"] > 0
        assert payload["failed"] == ["small-1:fifo:unfinished"]
