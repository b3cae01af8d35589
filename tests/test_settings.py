from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tasks.settings import Settings, packaged_model_dir


class TestDefaults:
    def test_packaged_models_are_found_by_local_path(self) -> None:
        s = Settings()
        assert Path(s.whisper_model).is_dir()
        assert Path(s.whisper_model).name == "model"
        assert (Path(s.embedding_model) / "config.json").is_file()

    def test_generated_state_lives_under_data(self) -> None:
        s = Settings()
        assert s.lancedb_uri == "data/lancedb"
        assert s.job_store_url == "sqlite:///data/state/jobs.db"
        assert s.dask_address is None
        assert s.reschedule_interval_s == 600

    def test_missing_model_package_gives_none(self) -> None:
        assert packaged_model_dir("no_such_package_xyz") is None


class TestSources:
    def test_environment_prefix(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TESSERA_LANCEDB_URI", "s3://bucket/scenes")
        monkeypatch.setenv("TESSERA_RESCHEDULE_INTERVAL_S", "60")
        s = Settings()
        assert s.lancedb_uri == "s3://bucket/scenes"
        assert s.reschedule_interval_s == 60

    def test_toml_file_and_env_priority(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cfg = tmp_path / "tessera.toml"
        cfg.write_text('dask_address = "tcp://10.0.0.5:8786"\nlocal_workers = 3\n')
        monkeypatch.setenv("TESSERA_CONFIG", str(cfg))
        monkeypatch.setenv("TESSERA_LOCAL_WORKERS", "5")
        s = Settings()
        assert s.dask_address == "tcp://10.0.0.5:8786"
        assert s.local_workers == 5

    def test_bad_value_names_the_setting(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TESSERA_RESCHEDULE_INTERVAL_S", "0")
        with pytest.raises(ValidationError, match="reschedule_interval_s"):
            Settings()


class TestDirs:
    def test_ensure_dirs_creates_local_state(self, settings: Settings) -> None:
        settings.ensure_dirs()
        assert (settings.data_dir / "state").is_dir()
        assert settings.checkpoint_root.is_dir()
        assert Path(settings.lancedb_uri).is_dir()
