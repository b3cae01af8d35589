"""``tessera jobs`` and ``tessera cluster``/``reschedule`` error paths, through the real CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    get_settings.cache_clear()
    monkeypatch.setenv("TESSERA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TESSERA_JOB_STORE_URL", f"sqlite:///{tmp_path / 'data/state/jobs.db'}")
    monkeypatch.delenv("TESSERA_DASK_ADDRESS", raising=False)
    yield tmp_path
    get_settings.cache_clear()


class TestJobsCommands:
    def test_submit_list_show_cancel(self, cli_env: Path) -> None:
        spec = cli_env / "job.yaml"
        spec.write_text("name: digits\nmodel: cnn\nepochs: 3\n")
        result = runner.invoke(app, ["jobs", "submit", str(spec), "--max-pus", "2"])
        assert result.exit_code == 0, result.output
        assert "queued job digits" in result.output
        listed = runner.invoke(app, ["jobs", "list"])
        assert "digits" in listed.output and "queued" in listed.output
        shown = runner.invoke(app, ["jobs", "show", "digits"])
        assert '"max_pus":2' in shown.output.replace("\n", "")
        cancelled = runner.invoke(app, ["jobs", "cancel", "digits"])
        assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
        again = runner.invoke(app, ["jobs", "cancel", "digits"])
        assert again.exit_code == 1 and "already cancelled" in again.output

    def test_bad_spec_is_one_clear_line(self, cli_env: Path) -> None:
        spec = cli_env / "job.yaml"
        spec.write_text("name: digits\nmin_pus: 4\nmax_pus: 2\n")
        result = runner.invoke(app, ["jobs", "submit", str(spec)])
        assert result.exit_code == 2
        assert "min_pus (4) is larger than max_pus (2)" in result.output

    def test_duplicate_name(self, cli_env: Path) -> None:
        spec = cli_env / "job.yaml"
        spec.write_text("name: twice\n")
        assert runner.invoke(app, ["jobs", "submit", str(spec)]).exit_code == 0
        result = runner.invoke(app, ["jobs", "submit", str(spec)])
        assert result.exit_code == 2 and "already exists" in result.output

    def test_unknown_job(self, cli_env: Path) -> None:
        result = runner.invoke(app, ["jobs", "show", "ghost"])
        assert result.exit_code == 1 and "no job named 'ghost'" in result.output


class TestNoCluster:
    def test_reschedule_without_a_cluster_says_how_to_start_one(self, cli_env: Path) -> None:
        result = runner.invoke(app, ["reschedule"])
        assert result.exit_code == 1
        assert "tessera cluster up" in result.output

    def test_unknown_policy(self, cli_env: Path) -> None:
        result = runner.invoke(app, ["reschedule", "--policy", "magic"])
        assert result.exit_code == 2 and "unknown policy 'magic'" in result.output

    def test_cluster_down_without_cluster(self, cli_env: Path) -> None:
        result = runner.invoke(app, ["cluster", "down"])
        assert result.exit_code == 1 and "no cluster recorded" in result.output
