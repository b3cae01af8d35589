"""Describe a video: every descriptor stage in order, timed, without Prefect.

``describe_video`` is what tests, the benchmark and single-process callers use; the ingest
flow runs the same stage functions as Prefect tasks (:mod:`tasks.video.prefect_tasks`).

Speech needs only the audio, not the scenes, so it is transcribed on a background thread
while the video is split and its keyframes are read, OCRed and tagged (CTranslate2, OpenCV
and the tesseract subprocess all release the GIL); its words are assigned to scenes at the
end. The per-stage seconds are each stage's own wall time; ``total`` is the whole call, less
than their sum when speech overlaps.

Example:
    >>> info = probe_video(Path("clip.mp4"))  # doctest: +SKIP
    >>> scenes, seconds = describe_video(info, Settings())  # doctest: +SKIP
    >>> scenes[0].transcript, seconds["speech"]  # doctest: +SKIP
    ('The rocket launch is scheduled for tomorrow morning.', 0.9)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from tasks.settings import Settings
from tasks.video.captions import captions_for_scenes
from tasks.video.keyframes import extract_keyframes
from tasks.video.ocr import SceneText, ocr_for_scenes
from tasks.video.passages import passages_for_scenes
from tasks.video.records import Scene, SceneSpan, VideoInfo
from tasks.video.scenes import split_scenes
from tasks.video.speech import Transcript, assign_to_scenes, load_asr, transcribe_video
from tasks.video.stagelog import stage_logger
from tasks.video.store import thumbnail_location
from tasks.video.visual import visual_tags_for_scenes, write_thumbnails

__all__ = ["STAGES", "assemble_scenes", "describe_video", "load_models"]

# Stage names in pipeline order; the keys of the timing dict (plus "total").
STAGES: tuple[str, ...] = (
    "scenes",
    "keyframes",
    "speech",
    "ocr",
    "visual",
    "thumbnails",
    "captions",
)

T = TypeVar("T")


StageCallback = Callable[[str, float], None]


@contextmanager
def _timed(seconds: dict[str, float], name: str, on_stage: StageCallback | None) -> Iterator[None]:
    start = time.perf_counter()
    yield
    seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
    if on_stage is not None:
        on_stage(name, seconds[name])


def load_models(settings: Settings) -> dict[str, Any]:
    """Load every model the stages use, once, so that timing and serving exclude it.

    Returns:
        ``{"asr": pipeline, "captioner": pipeline or None}`` to pass to :func:`describe_video`.

    Example:
        >>> models = load_models(Settings())  # doctest: +SKIP
    """
    from tasks.video.captions import load_captioner
    from tasks.video.ocr_ppocr import load_ppocr
    from tasks.video.visual import load_cascades

    load_cascades()
    load_ppocr()  # OCR's ONNX sessions (~150 MB), cached per process
    return {
        "asr": load_asr(settings.whisper_model, language=settings.asr_language),
        "captioner": load_captioner(settings.caption_model) if settings.caption_model else None,
    }


def _ocr_text(value: SceneText | str) -> SceneText:
    return value if isinstance(value, SceneText) else SceneText(value, 1.0 if value else 0.0)


def assemble_scenes(
    info: VideoInfo,
    spans: list[SceneSpan],
    *,
    transcripts: list[str],
    ocr: Sequence[SceneText | str],
    tags: list[list[str]],
    captions: list[str],
    thumbnails: list[str],
    language: str = "",
) -> list[Scene]:
    """Zip the per-scene stage outputs into :class:`Scene` records.

    ``language`` is the video's spoken language (one per video): every scene carries it.

    Example:
        >>> from pathlib import Path
        >>> info = VideoInfo(Path("a.mp4"), "ab", 5.0, 25.0, 64, 36, False)
        >>> assemble_scenes(info, [SceneSpan(0, 0.0, 5.0)], transcripts=["hi"], ocr=[""],
        ...                 tags=[["red"]], captions=[""], thumbnails=["t.jpg"])[0].key
        'ab:0'
    """
    n = len(spans)
    for name, values in (
        ("transcripts", transcripts),
        ("ocr", ocr),
        ("tags", tags),
        ("captions", captions),
        ("thumbnails", thumbnails),
    ):
        if len(values) != n:
            raise ValueError(f"{info.path}: {name} has {len(values)} entries for {n} scenes")
    # A plain string (tests, older callers) is text of unknown confidence.
    texts = [_ocr_text(value) for value in ocr]
    return [
        Scene(
            video=str(info.path),
            video_hash=info.content_hash,
            index=span.index,
            start_s=span.start_s,
            end_s=span.end_s,
            transcript=transcripts[i],
            ocr=texts[i].text,
            ocr_confidence=texts[i].confidence,
            tags=tags[i],
            caption=captions[i],
            thumbnail=thumbnails[i],
            language=language,
        )
        for i, span in enumerate(spans)
    ]


def describe_video(
    info: VideoInfo,
    settings: Settings,
    *,
    asr: Any = None,
    captioner: Any = None,
    keyframes_per_scene: int = 3,
    overlap_speech: bool = True,
    on_stage: StageCallback | None = None,
) -> tuple[list[Scene], dict[str, float]]:
    """Split a probed video into scenes and fill in every descriptor.

    Args:
        info: the probed video (:func:`tasks.video.probe.probe_video`).
        settings: model paths, language, scene window, thumbnail folder.
        asr: a loaded whisperx pipeline; loaded (and cached) from settings when missing.
        captioner: a loaded image-to-text pipeline; from ``settings.caption_model`` when
            missing, and the stage is off when neither is given.
        keyframes_per_scene: frames read per scene for OCR, tags and captions.
        overlap_speech: transcribe on a background thread while the other stages run.
        on_stage: called as ``on_stage(name, seconds)`` when a stage finishes, e.g. to
            advance a rich progress bar; the speech call comes from its own thread.

    Returns:
        The scenes with their descriptors, and seconds per stage in :data:`STAGES` plus
        ``"total"``.

    Raises:
        BadVideoError: the video cannot be decoded.

    Example:
        >>> scenes, seconds = describe_video(info, Settings())  # doctest: +SKIP
        >>> sorted(seconds)  # doctest: +SKIP
        ['captions', 'keyframes', 'ocr', 'scenes', 'speech', 'thumbnails', 'total', 'visual']
    """
    log = stage_logger()
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    if asr is None and info.has_audio:
        asr = load_asr(settings.whisper_model, language=settings.asr_language)

    def timed(name: str, fn: Callable[[], T]) -> T:
        with _timed(seconds, name, on_stage):
            return fn()

    def speech() -> Transcript:
        return timed(
            "speech", lambda: transcribe_video(info, asr=asr, language=settings.asr_language)
        )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech") as pool:
        words_future = pool.submit(speech) if overlap_speech else None
        spans = timed("scenes", lambda: split_scenes(info, max_window_s=settings.scene_window_s))
        frames = timed("keyframes", lambda: extract_keyframes(info, spans, keyframes_per_scene))
        ocr = timed("ocr", lambda: ocr_for_scenes(frames))
        tags = timed("visual", lambda: visual_tags_for_scenes(frames))
        captions = timed(
            "captions",
            lambda: captions_for_scenes(frames, model=settings.caption_model, captioner=captioner),
        )
        words = words_future.result() if words_future is not None else speech()
    transcripts = assign_to_scenes(words, spans)
    # Last, so that a video failing in any stage leaves no thumbnails behind.
    thumbs = timed(
        "thumbnails",
        lambda: write_thumbnails(
            frames,
            # Beside the scenes on object storage, so a searcher on another host sees them.
            thumbnail_location(settings.lancedb_uri, settings.thumbnail_dir),
            stem=info.content_hash[:16],
            storage_options=settings.lancedb_storage_options,
        ),
    )
    scenes = assemble_scenes(
        info,
        spans,
        transcripts=transcripts,
        ocr=ocr,
        tags=tags,
        captions=captions,
        thumbnails=thumbs,
        language=words.language,
    )
    # Long scenes also get passages (sentence groups with their own times) for search.
    for scene, passages in zip(scenes, passages_for_scenes(words, spans), strict=True):
        scene.passages = passages
    seconds["total"] = time.perf_counter() - start
    log.info(
        "described %s: %d scenes in %.1f s (%.1fx real time)",
        info.path.name,
        len(scenes),
        seconds["total"],
        info.duration_s / max(seconds["total"], 1e-9),
    )
    return scenes, seconds
