"""The local cluster an ingest starts early and warms up (flows.ingest_cluster)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from flows.ingest import ingest, make_task_runner
from flows.ingest_cluster import cluster_kwargs, current_cluster, warm_cluster
from tasks.settings import Settings
from tests.video_search.conftest import Library


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(
        data_dir=tmp_path,
        lancedb_uri=str(tmp_path / "lancedb"),
        thumbnail_dir=tmp_path / "thumbnails",
        **kw,  # type: ignore[arg-type]
    )


class TestLayout:
    def test_defaults_are_one_in_process_worker_with_preload(self) -> None:
        kwargs = cluster_kwargs(Settings())
        assert (kwargs["processes"], kwargs["n_workers"], kwargs["threads_per_worker"]) == (
            False,
            1,
            2,
        )
        assert Settings().preload_models

    def test_worker_processes_when_asked(self) -> None:
        kwargs = cluster_kwargs(Settings(local_workers=2, local_threads=1))
        assert (kwargs["processes"], kwargs["n_workers"], kwargs["threads_per_worker"]) == (
            True,
            2,
            1,
        )

    def test_a_remote_cluster_is_left_alone(self) -> None:
        settings = Settings(dask_address="tcp://10.0.0.5:8786")
        with warm_cluster(settings) as warm:
            assert warm is None
            assert current_cluster() is None
            assert make_task_runner(settings).address == "tcp://10.0.0.5:8786"

    def test_without_preload_the_flow_starts_its_own_cluster(self) -> None:
        settings = Settings(preload_models=False, local_workers=2, local_threads=1)
        with warm_cluster(settings) as warm:
            assert warm is None
            runner = make_task_runner(settings)
        assert runner.address is None
        assert runner.cluster_kwargs["n_workers"] == 2


def test_face_detection_from_two_worker_threads() -> None:
    """Two files described at once on one worker of 2 threads: portrait and landscape frames
    through the face cascade together (one shared classifier failed an OpenCV assertion)."""
    from tasks.video.visual import find_faces

    rng = np.random.default_rng(0)
    shapes = [(360, 640, 3), (640, 360, 3)]
    frames = [rng.integers(0, 255, shapes[i % 2], dtype=np.uint8) for i in range(16)]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            assert all(isinstance(f, list) for f in pool.map(find_faces, frames))


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
class TestWarmIngest:
    def test_flow_runs_on_the_warm_in_process_cluster(
        self, library: Library, tmp_path: Path
    ) -> None:
        settings = _settings(tmp_path, local_workers=0, local_threads=2, preload_models=True)
        with warm_cluster(settings) as warm:
            assert warm is not None and current_cluster() is warm
            assert make_task_runner(settings).address == warm.address
            [report] = ingest([str(library.narrated)], settings=settings)
        assert current_cluster() is None
        assert report.status == "written", report.error
        assert report.scenes >= 5 and report.video_s > 20
        assert warm.warmup_error == ""
        assert warm.models_ready_s is not None and warm.models_ready_s > 0

    def test_flow_runs_on_warm_worker_processes(self, library: Library, tmp_path: Path) -> None:
        settings = _settings(tmp_path, local_workers=1, local_threads=2, preload_models=True)
        with warm_cluster(settings) as warm:
            [report] = ingest([str(library.narrated)], settings=settings)
        assert report.status == "written", report.error
        assert warm is not None and warm.models_ready_s is not None
