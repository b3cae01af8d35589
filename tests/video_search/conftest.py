"""Shared fixtures for the scene store and search tests.

``catalogue`` is a store of hand-written scenes (real encoder, real LanceDB) for tests of
retrieval logic; the flow tests in ``test_ingest.py`` ingest real sample videos.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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


def searcher_over(
    folder: Path, video: str, video_hash: str, scenes: list[Scene], encoder: Encoder
) -> SceneSearcher:
    """A searcher over a new store in ``folder`` holding one video's ``scenes``."""
    uri = str(folder / "lancedb")
    store = SceneStore.open(uri)
    store.write_video(video, video_hash, scenes, encoder.encode_scenes(scenes))
    store.finish_batch()
    return SceneSearcher(SceneStore.open(uri), encoder)


@pytest.fixture(scope="session")
def catalogue(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> SceneSearcher:
    """A searcher over a store holding :func:`catalogue_scenes` (written once)."""
    return searcher_over(
        tmp_path_factory.mktemp("catalogue"), VIDEO, "aa11", catalogue_scenes(), encoder
    )


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    return str(tmp_path / "lancedb")


@dataclass(frozen=True)
class Library:
    """A folder of sample inputs for the flow tests, good and bad, rendered once."""

    root: Path
    narrated: Path
    no_audio: Path
    bad: dict[str, Path]


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    from tasks.video.samples import (
        make_sample_video,
        make_truncated_copy,
        make_zero_length,
        standard_scenes,
    )

    root = tmp_path_factory.mktemp("library")
    narrated = root / "talks" / "narrated.mp4"
    make_sample_video(narrated, standard_scenes())
    no_audio = root / "silent.mov"
    make_sample_video(no_audio, standard_scenes()[:2], size=(320, 180), audio=False)
    bad = {
        "truncated": make_truncated_copy(narrated, root / "broken" / "truncated.mp4"),
        "zero-length": make_zero_length(root / "broken" / "empty.mp4"),
        "not a video": root / "broken" / "notes.mkv",
    }
    bad["not a video"].write_text("this is a text file, not a video\n")
    (root / "readme.txt").write_text("not picked up: not a video extension\n")
    return Library(root, narrated, no_audio, bad)


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[str]:
    """One local process cluster for every flow test: workers keep their models loaded."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="session")
def flow_settings(tmp_path_factory: pytest.TempPathFactory, dask_cluster: str) -> Settings:
    """Settings for the flow tests: state under a temp folder, the session's cluster."""
    base = tmp_path_factory.mktemp("flowstate")
    return Settings(
        data_dir=base,
        lancedb_uri=str(base / "lancedb"),
        thumbnail_dir=base / "thumbnails",
        dask_address=dask_cluster,
    )
