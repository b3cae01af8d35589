"""Shared fixtures for the scene store and search tests.

``catalogue`` is a store of hand-written scenes (real encoder, real LanceDB) for tests of
retrieval logic; the flow tests in ``test_ingest.py`` ingest real sample videos.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.settings import Settings
from tasks.video.encode import Encoder
from tasks.video.records import Scene
from tasks.video.search import SceneSearcher
from tasks.video.store import SceneStore

VIDEO = "/videos/narrated.mp4"


def catalogue_scenes(video: str = VIDEO, video_hash: str = "aa11") -> list[Scene]:
    """Scenes shaped like the standard sample video's, with its words and colours."""

    def scene(i: int, start: float, end: float, **kw: object) -> Scene:
        return Scene(video, video_hash, i, start, end, **kw)  # type: ignore[arg-type]

    return [
        scene(
            0,
            0,
            5,
            transcript="The rocket launch is scheduled for tomorrow morning.",
            tags=["red", "bright", "red screen"],
        ),
        scene(1, 5, 10, ocr="EXIT GATE", tags=["blue", "dark", "blue screen"]),
        scene(
            2,
            10,
            15,
            transcript="Please bring your umbrella, it will rain.",
            ocr="WELCOME",
            tags=["white", "bright", "white screen"],
        ),
        scene(3, 15, 19, ocr="PIZZA MENU", tags=["olive", "olive screen"]),
        scene(
            4,
            19,
            24,
            transcript="The kitchen is closed for cleaning.",
            tags=["gray", "gray screen", "two faces", "two people"],
        ),
        scene(5, 24, 28, tags=["silver", "bright", "silver screen"]),
    ]


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return Encoder.load(Settings().embedding_model)


@pytest.fixture(scope="session")
def catalogue(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> SceneSearcher:
    """A searcher over a store holding :func:`catalogue_scenes` (written once)."""
    uri = str(tmp_path_factory.mktemp("catalogue") / "lancedb")
    store = SceneStore.open(uri)
    scenes = catalogue_scenes()
    store.write_video(VIDEO, "aa11", scenes, encoder.encode_scenes(scenes))
    store.finish_batch()
    return SceneSearcher(SceneStore.open(uri), encoder)


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    return str(tmp_path / "lancedb")
