"""``tessera sim`` end to end on a slice of a real workload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.sched.sim_support import real_traces

runner = CliRunner()


@pytest.fixture
def small_workload(tmp_path: Path) -> Path:
    root = real_traces()
    lines = (root / "workloads" / "workload-1.csv").read_text().splitlines()
    path = tmp_path / "workloads" / "small-1.csv"
    path.parent.mkdir()
    path.write_text("\n".join(lines[:13]) + "\n")  # header + 12 jobs
    return path


@pytest.mark.traces
class TestSimCommand:
    def test_json_report_and_plot(self, small_workload: Path, tmp_path: Path) -> None:
        plot = tmp_path / "sim.png"
        result = runner.invoke(
            app,
            [
                "sim", "--policy", "optimus", "--policy", "tiresias",
                "--workload", str(small_workload), "--traces", str(real_traces()),
                "--json", "--plot", str(plot), "--out", str(tmp_path / "reports"),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert [r["policy"] for r in payload["runs"]] == ["optimus", "tiresias"]
        assert all(r["jobs"] == 12 and r["unfinished"] == 0 for r in payload["runs"])
        assert plot.stat().st_size > 10_000
        report = json.loads(Path(payload["report"]).read_text())
        assert len(report["runs"][0]["per_job"]) == 12
        assert report["runs"][0]["timeline"]

    def test_folder_with_one_bad_file_runs_the_others(
        self, small_workload: Path, tmp_path: Path
    ) -> None:
        (small_workload.parent / "broken.csv").write_text("name,time\nx,1\n")
        result = runner.invoke(
            app,
            [
                "sim", "--policy", "fifo", "--workload", str(small_workload.parent),
                "--traces", str(real_traces()), "--json", "--out", str(tmp_path),
            ],
        )  # fmt: skip
        assert result.exit_code == 1
        payload = json.loads(result.stdout)
        assert [r["workload"] for r in payload["runs"]] == ["small-1"]
        assert "missing column" in result.stderr


class TestSimErrors:
    def test_unknown_policy(self, tmp_path: Path) -> None:
        result = runner.invoke(app, ["sim", "--policy", "nope", "--workload", str(tmp_path)])
        assert result.exit_code == 2
        assert "unknown policy 'nope'" in result.stderr

    def test_absent_traces(self, tmp_path: Path) -> None:
        result = runner.invoke(
            app,
            [
                "sim",
                "--policy",
                "fifo",
                "--workload",
                str(tmp_path),
                "--traces",
                str(tmp_path / "x"),
            ],
        )
        assert result.exit_code == 2
        assert "traces folder" in result.stderr and "not found" in result.stderr

    def test_bad_placement_rule(self, tmp_path: Path) -> None:
        result = runner.invoke(
            app, ["sim", "--policy", "fifo", "--workload", str(tmp_path), "--placement", "x"]
        )
        assert result.exit_code == 2
        assert "--placement must be spread or pack" in result.stderr
