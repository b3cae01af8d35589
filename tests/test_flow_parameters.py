"""Flows take plain parameters: Prefect stores and shows them, so settings (which can hold
credentials) are never one; a partial failure is a Failed run; no cluster is not an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.ingest import backfill_flow, ingest_flow
from flows.reschedule import NOTHING_SCHEDULED, reschedule, reschedule_flow
from flows.serve import build_deployments
from tasks.settings import Settings

SECRET = "s3cr3t-pw"


class TestParameters:
    @pytest.mark.parametrize(
        ("flow", "names"),
        [
            (ingest_flow, {"paths", "db", "dask_address"}),
            (backfill_flow, {"source", "modified_since", "db", "dask_address"}),
            (reschedule_flow, {"policy", "stop_timeout_s", "rank_timeout_s"}),
        ],
    )
    def test_flows_take_only_user_parameters(self, flow: object, names: set[str]) -> None:
        assert set(flow.parameters.properties) == names  # type: ignore[attr-defined]

    def test_deployments_carry_no_settings_or_credentials(self) -> None:
        settings = Settings(job_store_url=f"postgresql+psycopg://tessera:{SECRET}@127.0.0.1/jobs")
        for deployment in build_deployments(settings=settings):
            assert SECRET not in deployment.model_dump_json()
            assert "settings" not in (deployment.parameters or {})
            for value in (deployment.parameters or {}).values():
                if isinstance(value, str) and "/" in value:
                    assert Path(value).is_absolute()

    def test_store_writing_deployments_run_one_at_a_time(self) -> None:
        by_name = {d.name: d for d in build_deployments()}
        assert by_name["ingest"].concurrency_limit == 1
        assert by_name["backfill"].concurrency_limit == 1


@pytest.mark.usefixtures("prefect_harness")
class TestRunStates:
    def test_no_cluster_completes_with_nothing_scheduled(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path / "data", job_store_url="sqlite://")
        assert reschedule(settings) == NOTHING_SCHEDULED

    def test_an_ingest_with_a_failed_input_is_a_failed_run(self, tmp_path: Path) -> None:
        from flows.runtime import settings_for_runs

        settings = Settings(data_dir=tmp_path / "data", lancedb_uri=str(tmp_path / "db"))
        with settings_for_runs(settings):
            state = ingest_flow([str(tmp_path / "missing.mp4")], return_state=True)
        assert state.is_failed()
        assert "missing.mp4: no such file or folder" in state.message
