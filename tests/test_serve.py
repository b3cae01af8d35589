from __future__ import annotations

from typer.testing import CliRunner

from flows.cli import app
from flows.serve import build_deployments
from tasks.settings import Settings


class TestDeployments:
    def test_every_flow_is_served(self) -> None:
        names = sorted(d.name for d in build_deployments(settings=Settings()))
        assert names == ["backfill", "ingest", "reschedule"]

    def test_reschedule_runs_on_the_configured_interval_one_at_a_time(self) -> None:
        (dep,) = [
            d
            for d in build_deployments(settings=Settings(reschedule_interval_s=90))
            if d.name == "reschedule"
        ]
        assert dep.schedules[0].schedule.interval.total_seconds() == 90
        assert dep.concurrency_limit == 1

    def test_cli_lists_deployments(self) -> None:
        result = CliRunner().invoke(app, ["serve", "--list"])
        assert result.exit_code == 0, result.output
        for name in ("ingest", "backfill", "reschedule"):
            assert f"{name}/{name}" in result.output
