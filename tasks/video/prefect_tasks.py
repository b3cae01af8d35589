"""Thin Prefect task wrappers around the video stage functions, for the ingest flow.

Every wrapper calls the plain stage function with the same arguments. Results are neither
cached nor persisted: keyframes are large arrays and every stage is cheap to redo relative
to storing it. Stages that can use a GPU carry the tag :data:`GPU_TAG`; :data:`GPU_STAGES`
names them, so a flow running on a Dask cluster with GPU workers can submit them inside
``dask.annotate(resources={"GPU": 1})``:

Example:
    >>> import dask  # doctest: +SKIP
    >>> with dask.annotate(resources={"GPU": 1}):  # doctest: +SKIP
    ...     words = transcribe_task.submit(info, model=settings.whisper_model)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from prefect import task
from prefect.cache_policies import NONE

from tasks.video.captions import captions_for_scenes
from tasks.video.keyframes import extract_keyframes
from tasks.video.ocr import SceneText, ocr_for_scenes
from tasks.video.probe import probe_video
from tasks.video.records import SceneSpan, VideoInfo
from tasks.video.scenes import split_scenes
from tasks.video.speech import Transcript, load_asr, transcribe_video
from tasks.video.visual import visual_tags_for_scenes, write_thumbnails

__all__ = [
    "GPU_STAGES",
    "GPU_TAG",
    "captions_task",
    "is_gpu_task",
    "keyframes_task",
    "ocr_task",
    "probe_task",
    "split_scenes_task",
    "thumbnails_task",
    "transcribe_task",
    "visual_task",
]

GPU_TAG = "gpu"
GPU_STAGES: frozenset[str] = frozenset({"speech", "captions"})

_OPTS: dict[str, Any] = {"cache_policy": NONE, "persist_result": False}


@task(name="probe", tags={"video", "cpu"}, **_OPTS)
def probe_task(path: Path) -> VideoInfo:
    """Prefect task: :func:`tasks.video.probe.probe_video`."""
    return probe_video(path)


@task(name="split-scenes", tags={"video", "cpu"}, **_OPTS)
def split_scenes_task(
    info: VideoInfo, max_window_s: float = 30.0, min_scene_s: float = 1.0
) -> list[SceneSpan]:
    """Prefect task: :func:`tasks.video.scenes.split_scenes`."""
    return split_scenes(info, max_window_s=max_window_s, min_scene_s=min_scene_s)


@task(name="keyframes", tags={"video", "cpu"}, **_OPTS)
def keyframes_task(
    info: VideoInfo, spans: list[SceneSpan], per_scene: int = 3
) -> list[list[np.ndarray]]:
    """Prefect task: :func:`tasks.video.keyframes.extract_keyframes`."""
    return extract_keyframes(info, spans, per_scene)


@task(name="speech", tags={"video", GPU_TAG}, **_OPTS)
def transcribe_task(
    info: VideoInfo, model: str, language: str | None = "auto", align: bool = False
) -> Transcript:
    """Prefect task: transcribe the whole audio (the model is cached per worker process).

    Assign the words to scenes with :func:`tasks.video.speech.assign_to_scenes` once the
    scenes are known; transcription does not wait for scene splitting. The transcript's
    ``language`` (detected when ``language`` is ``"auto"``) goes on every scene.
    """
    asr = load_asr(model, language=language, pipeline=align) if info.has_audio else None
    return transcribe_video(info, asr=asr, language=language, align=align)


@task(name="ocr", tags={"video", "cpu"}, **_OPTS)
def ocr_task(keyframes: list[list[np.ndarray]]) -> list[SceneText]:
    """Prefect task: :func:`tasks.video.ocr.ocr_for_scenes` (text and confidence per scene)."""
    return ocr_for_scenes(keyframes)


@task(name="visual-tags", tags={"video", "cpu"}, **_OPTS)
def visual_task(keyframes: list[list[np.ndarray]]) -> list[list[str]]:
    """Prefect task: :func:`tasks.video.visual.visual_tags_for_scenes`."""
    return visual_tags_for_scenes(keyframes)


@task(name="thumbnails", tags={"video", "cpu"}, **_OPTS)
def thumbnails_task(keyframes: list[list[np.ndarray]], out_dir: Path, stem: str) -> list[str]:
    """Prefect task: :func:`tasks.video.visual.write_thumbnails`."""
    return write_thumbnails(keyframes, out_dir, stem=stem)


@task(name="captions", tags={"video", GPU_TAG}, **_OPTS)
def captions_task(keyframes: list[list[np.ndarray]], model: str | None) -> list[str]:
    """Prefect task: :func:`tasks.video.captions.captions_for_scenes` (off when no model)."""
    return captions_for_scenes(keyframes, model=model)


def is_gpu_task(task_obj: Any) -> bool:
    """Whether a stage task can use a GPU (and should get the Dask resource ``GPU=1``).

    Example:
        >>> is_gpu_task(transcribe_task), is_gpu_task(ocr_task)
        (True, False)
    """
    return GPU_TAG in set(getattr(task_obj, "tags", ()) or ())
