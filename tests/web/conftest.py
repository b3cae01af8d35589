"""Fixtures of the web UI tests.

``web_env`` renders the standard narrated sample video and a short second one, ingests both
in this process (real whisperx, tesseract, encoder, LanceDB), deletes the second file (a
video that moved after ingest), and fills a job store with sample jobs; once per session.
``served`` runs the app under a real uvicorn server on a free port for the browser tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from tasks.settings import Settings
from tasks.video.encode import Encoder
from tasks.video.search import SceneSearcher
from tests.video_search.conftest import catalogue, encoder

__all__ = ["catalogue", "encoder"]


@dataclass(frozen=True)
class WebEnv:
    """An ingested library and a job store, with the app over them."""

    settings: Settings
    narrated: Path
    gone: Path
    narrated_id: str
    gone_id: str
    searcher: SceneSearcher
    app: FastAPI


@pytest.fixture(scope="session")
def web_env(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> WebEnv:
    from flows.web.app import create_app
    from flows.web.sample import ingest_here, sample_jobs
    from tasks.video.samples import make_sample_video, standard_scenes

    root = tmp_path_factory.mktemp("web")
    settings = Settings(
        data_dir=root,
        lancedb_uri=str(root / "lancedb"),
        thumbnail_dir=root / "thumbnails",
        job_store_url=f"sqlite:///{root / 'jobs.db'}",
        checkpoint_root=root / "checkpoints",
    )
    narrated = root / "videos" / "narrated.mp4"
    make_sample_video(narrated, standard_scenes())
    gone = root / "videos" / "gone.mp4"
    make_sample_video(gone, standard_scenes()[1:3], size=(320, 180), audio=False)
    store = ingest_here([narrated, gone], settings, encoder)
    ids = {Path(v.video).name: v.video_hash for v in store.videos()}
    gone.unlink()  # moved or deleted since ingest
    sample_jobs(settings.job_store_url)
    searcher = SceneSearcher(store, encoder)
    app = create_app(settings, searcher=searcher, prefect_url="http://127.0.0.1:9")
    return WebEnv(settings, narrated, gone, ids["narrated.mp4"], ids["gone.mp4"], searcher, app)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(web_env: WebEnv) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(web_env.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="tessera-ui", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("tessera ui did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
