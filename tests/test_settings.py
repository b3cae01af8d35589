from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tasks.settings import Settings, packaged_model_dir, project_dir


class TestDefaults:
    def test_packaged_models_are_found_by_local_path(self) -> None:
        s = Settings()
        # tiny.en ships in a package; "base" names the model `make setup` (or the tests'
        # conftest) assembles.
        assert (Path(s.whisper_model) / "model.bin").is_file()
        assert Path(s.whisper_model).name == "model"
        base = Settings(whisper_model="base").whisper_model
        assert Path(base).name == "whisper-base"
        assert (Path(base) / "model.bin").is_file()
        assert (Path(s.embedding_model) / "config.json").is_file()

    def test_generated_state_lives_under_the_projects_data(self) -> None:
        s = Settings()
        assert s.lancedb_uri == str(project_dir() / "data" / "lancedb")
        assert s.job_store_url == f"sqlite:///{project_dir() / 'data' / 'state' / 'jobs.db'}"
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


class TestRelativePaths:
    def test_resolve_against_the_project_not_the_current_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("TESSERA_CONFIG", raising=False)
        s = Settings(lancedb_uri="scenes", thumbnail_dir=Path("thumbs"))
        assert s.lancedb_uri == str(project_dir() / "scenes")
        assert s.thumbnail_dir == project_dir() / "thumbs"

    def test_resolve_against_the_toml_that_set_them(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cfg = tmp_path / "site" / "tessera.toml"
        cfg.parent.mkdir()
        cfg.write_text('lancedb_uri = "scenes"\njob_store_url = "sqlite:///state/jobs.db"\n')
        monkeypatch.setenv("TESSERA_CONFIG", str(cfg))
        s = Settings()
        assert s.lancedb_uri == str(cfg.parent / "scenes")
        assert s.job_store_url == f"sqlite:///{cfg.parent / 'state' / 'jobs.db'}"
        assert s.data_dir == cfg.parent / "data"

    def test_object_store_and_absolute_values_are_kept(self) -> None:
        assert Settings(lancedb_uri="s3://bucket/scenes").lancedb_uri == "s3://bucket/scenes"
        assert Settings(job_store_url="sqlite:////srv/jobs.db").job_store_url == (
            "sqlite:////srv/jobs.db"
        )


class TestSecrets:
    def test_config_output_masks_credentials(self) -> None:
        s = Settings(
            job_store_url="postgresql+psycopg://tessera:hunter2@127.0.0.1/jobs",
            lancedb_uri="s3://bucket/scenes?aws_secret_access_key=abc123&region=eu",
        )
        text = str(s.public_dict())
        assert "hunter2" not in text and "abc123" not in text
        assert "tessera:***@127.0.0.1" in text
