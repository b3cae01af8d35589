"""Exactly-once scene writes: real processes race over one LanceDB folder; replacement is atomic.

The racers write with small random vectors (no model), so the test measures the store's
writer discipline alone: every (content hash, scene) must be stored exactly once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.video.encode import MODALITIES, SceneVectors
from tasks.video.probe import probe_video
from tasks.video.records import Scene
from tasks.video.store import SceneStore
from tests.video_search.conftest import Library

DIM = 8
VIDEOS = 6
SCENES = 3

_RACER = """
import sys, time
import numpy as np
sys.path.insert(0, sys.argv[3])
from tests.video_search.test_exactly_once import fake_video
from tasks.video.store import SceneStore

uri, start = sys.argv[1], float(sys.argv[2])
store = SceneStore.open(uri)
while time.time() < start:
    time.sleep(0.001)
for i in range(%d):
    scenes, vectors = fake_video(i)
    store.write_video(scenes[0].video, scenes[0].video_hash, scenes, vectors)
"""


def fake_video(i: int, version: int = 0, thumbs: Path | None = None) -> tuple[list[Scene], list]:
    """Scenes and vectors of test video ``i`` (``version`` changes its content hash)."""
    import numpy as np

    video, digest = f"/videos/v{i}.mp4", f"{i:02d}{version:02d}" + "ab" * 14
    rng = np.random.default_rng(i * 100 + version)
    scenes, vectors = [], []
    for k in range(SCENES):
        thumb = None
        if thumbs is not None:
            thumb = str(thumbs / f"{digest[:16]}-{k}.jpg")
            Path(thumb).write_bytes(b"jpeg")
        scenes.append(Scene(video, digest, k, k * 5.0, k * 5.0 + 5, ocr=f"v{i}", thumbnail=thumb))
        vec = rng.standard_normal(DIM).astype("float32")
        vectors.append(SceneVectors(vec, {m: vec for m in MODALITIES}))
    return scenes, vectors


def keys(uri: str) -> list[str]:
    table = SceneStore.open(uri).table
    return table.search().select(["key"]).limit(None).to_arrow()["key"].to_pylist()


class TestRacingWriters:
    @pytest.mark.parametrize("round_", range(2))
    def test_two_processes_write_every_scene_once(self, tmp_path: Path, round_: int) -> None:
        uri = str(tmp_path / "lancedb")
        root = str(Path(__file__).resolve().parents[2])
        start = time.time() + 4.0  # both import lancedb first, then start together
        script = _RACER % VIDEOS
        procs = [
            subprocess.Popen([sys.executable, "-c", script, uri, str(start), root])
            for _ in range(2)
        ]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        found = keys(uri)
        assert len(found) == len(set(found)) == VIDEOS * SCENES, sorted(found)


class TestAtomicReplacement:
    def test_changed_file_is_one_commit_and_its_old_thumbnails_go(self, tmp_path: Path) -> None:
        thumbs = tmp_path / "thumbs"
        thumbs.mkdir()
        store = SceneStore.open(str(tmp_path / "lancedb"))
        old, old_vec = fake_video(1, version=0, thumbs=thumbs)
        store.write_video(old[0].video, old[0].video_hash, old, old_vec)
        before = store.version()
        new, new_vec = fake_video(1, version=1, thumbs=thumbs)
        result = store.write_video(new[0].video, new[0].video_hash, new, new_vec)
        assert result.status == "written" and result.replaced == SCENES
        assert store.version() == before + 1  # upsert and delete in one commit
        rows = store.scenes_of(new[0].video)
        assert {r["video_hash"] for r in rows} == {new[0].video_hash}
        assert len(rows) == SCENES
        assert sorted(p.name for p in thumbs.iterdir()) == sorted(
            Path(s.thumbnail or "").name for s in new
        )

    def test_other_videos_are_untouched(self, tmp_path: Path) -> None:
        store = SceneStore.open(str(tmp_path / "lancedb"))
        for i in range(2):
            scenes, vectors = fake_video(i)
            store.write_video(scenes[0].video, scenes[0].video_hash, scenes, vectors)
        new, new_vec = fake_video(0, version=1)
        store.write_video(new[0].video, new[0].video_hash, new, new_vec)
        assert store.count() == 2 * SCENES
        assert len(store.scenes_of("/videos/v1.mp4")) == SCENES


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
class TestRacingFlowRuns:
    def test_two_ingest_runs_of_one_folder_store_every_scene_once(
        self, tmp_path: Path, library: Library, dask_cluster: str
    ) -> None:
        import os
        import shutil

        from prefect.settings import PREFECT_API_URL

        folder = tmp_path / "clips"
        folder.mkdir()
        shutil.copy(library.no_audio, folder / "a.mov")
        shutil.copy(library.narrated, folder / "b.mp4")
        uri = str(tmp_path / "lancedb")
        env = {
            **os.environ,
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "TESSERA_DATA_DIR": str(tmp_path / "data"),
            "TESSERA_THUMBNAIL_DIR": str(tmp_path / "thumbs"),
        }
        args = [sys.executable, "-m", "flows.cli", "ingest", str(folder), "--db", uri]
        runs = [
            subprocess.Popen(
                [*args, "--dask-address", dask_cluster],
                env=env,
                cwd=Path(__file__).resolve().parents[2],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=600)[0] for run in runs]
        assert all(run.returncode == 0 for run in runs), outputs
        stored = keys(uri)
        assert len(stored) == len(set(stored)) > 0
        assert {k.split(":")[0] for k in stored} == {
            probe_video(folder / "a.mov").content_hash,
            probe_video(folder / "b.mp4").content_hash,
        }
