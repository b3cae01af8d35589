"""Speech: transcribe the whole audio once, then give each scene the words spoken in it.

whisperx loads the model (any CTranslate2 Whisper folder or size name, int8) with its bundled
pyannote VAD. Its batched ``transcribe`` merges speech into chunks of up to 30 s, too coarse
to place words in 5-second scenes, and its word alignment needs wav2vec2 weights that cannot
be downloaded here. So the default ``mode="words"`` runs the faster-whisper model inside the
whisperx pipeline with Silero VAD (shipped in faster-whisper) and word timestamps from the
decoder's cross-attention: every word gets its own time, no alignment model needed, and it is
faster on CPU (NOTES.md: 36.8x vs 20.7x real time). ``mode="segments"`` keeps whisperx's
VAD-batched transcription (the better choice on a GPU) with a short chunk size, assigning
whole segments by time overlap. Alignment (``align=True``) is optional and off by default.

Example:
    >>> asr = load_asr(settings.whisper_model, language="en")  # doctest: +SKIP
    >>> speech_for_scenes(info, spans, asr=asr, language="en")  # doctest: +SKIP
    ['the rocket launch is scheduled for tomorrow morning', '', ...]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from tasks.video.records import BadVideoError, SceneSpan, VideoInfo
from tasks.video.stagelog import stage_logger

__all__ = [
    "SpeechMode",
    "TimedText",
    "assign_to_scenes",
    "load_asr",
    "speech_for_scenes",
    "transcribe",
    "transcribe_video",
]

SpeechMode = Literal["words", "segments"]

_CACHE: dict[tuple[str, str, str, str | None, int], Any] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class TimedText:
    """A word or segment with its time in the video."""

    start_s: float
    end_s: float
    text: str


def default_device() -> tuple[str, str]:
    """The device and CTranslate2 compute type to run Whisper with: a GPU when there is one.

    Example:
        >>> default_device()  # doctest: +SKIP
        ('cpu', 'int8')
    """
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", "int8_float16"
    except Exception:  # no CUDA runtime: CPU is the answer, not an error
        pass
    return "cpu", "int8"


def load_asr(
    model: str,
    *,
    language: str | None = "en",
    device: str | None = None,
    compute_type: str | None = None,
    threads: int = 0,
) -> Any:
    """Load (once per process and argument set) the whisperx pipeline for ``model``.

    Args:
        model: a CTranslate2 Whisper folder (default: the packaged tiny.en) or a size name.
        language: spoken language; ``None`` lets Whisper detect it.
        device: ``"cpu"`` or ``"cuda"``; default: a GPU when CTranslate2 sees one.
        compute_type: CTranslate2 compute type; default ``int8`` (``int8_float16`` on GPU).
        threads: CPU threads for CTranslate2; 0 uses every core.

    Example:
        >>> asr = load_asr(Settings().whisper_model)  # doctest: +SKIP
    """
    auto_device, auto_type = default_device()
    device = device or auto_device
    compute_type = compute_type or (auto_type if device == auto_device else "int8")
    if not threads:
        import os

        threads = os.cpu_count() or 1
    key = (model, device, compute_type, language, threads)
    with _CACHE_LOCK:
        if key not in _CACHE:
            import whisperx

            _CACHE[key] = whisperx.load_model(
                model,
                device,
                compute_type=compute_type,
                language=language,
                threads=threads,
                local_files_only=True,
            )
        return _CACHE[key]


def transcribe(
    audio: Any,
    asr: Any,
    *,
    language: str | None = "en",
    mode: SpeechMode = "words",
    batch_size: int = 8,
    chunk_size: int = 10,
) -> list[TimedText]:
    """Transcribe 16 kHz mono audio into timed words (``"words"``) or segments.

    Args:
        audio: float32 samples at 16 kHz (``whisperx.load_audio``).
        asr: a pipeline from :func:`load_asr`.
        language: spoken language.
        mode: ``"words"`` (word timestamps) or ``"segments"`` (whisperx VAD batches).
        batch_size: whisperx batch size (``"segments"`` mode).
        chunk_size: longest whisperx VAD chunk in seconds (``"segments"`` mode).

    Example:
        >>> transcribe(whisperx.load_audio("clip.mp4"), asr)[:2]  # doctest: +SKIP
        [TimedText(start_s=0.4, end_s=0.62, text='The'), ...]
    """
    if mode == "segments":
        result = asr.transcribe(
            audio, batch_size=batch_size, chunk_size=chunk_size, language=language
        )
        return [
            TimedText(float(s["start"]), float(s["end"]), s["text"].strip())
            for s in result["segments"]
            if s["text"].strip()
        ]
    segments, _ = asr.model.transcribe(
        audio,
        language=language,
        beam_size=1,
        vad_filter=True,
        word_timestamps=True,
        condition_on_previous_text=False,
    )
    words: list[TimedText] = []
    for segment in segments:
        for word in segment.words or []:
            text = word.word.strip()
            if text:
                words.append(TimedText(float(word.start), float(word.end), text))
    return words


def assign_to_scenes(items: list[TimedText], spans: list[SceneSpan]) -> list[str]:
    """Join the words/segments of each scene: each item goes to the scene it overlaps most.

    Args:
        items: timed words or segments, in time order.
        spans: the scenes, in order.

    Example:
        >>> spans = [SceneSpan(0, 0.0, 5.0), SceneSpan(1, 5.0, 10.0)]
        >>> assign_to_scenes(
        ...     [TimedText(1, 2, "hello"), TimedText(4.8, 5.6, "big"), TimedText(6, 7, "world")],
        ...     spans,
        ... )
        ['hello', 'big world']
    """
    texts: list[list[str]] = [[] for _ in spans]
    for item in items:
        best, best_overlap = -1, -1.0
        for i, span in enumerate(spans):
            overlap = min(item.end_s, span.end_s) - max(item.start_s, span.start_s)
            if overlap > best_overlap:
                best, best_overlap = i, overlap
        if best >= 0 and best_overlap > -0.5:  # zero-length words at an edge still count
            texts[best].append(item.text)
    return [" ".join(words) for words in texts]


def transcribe_video(
    info: VideoInfo,
    *,
    asr: Any = None,
    model: str | None = None,
    language: str | None = "en",
    mode: SpeechMode = "words",
    align: bool = False,
) -> list[TimedText]:
    """Transcribe a video's whole audio once; ``[]`` (and one log line) when it has none.

    Args:
        info: the probed video.
        asr: a loaded pipeline (:func:`load_asr`); loaded from ``model`` when missing.
        model: Whisper model folder or size, used when ``asr`` is missing.
        language: spoken language.
        mode: see :func:`transcribe`.
        align: refine times with whisperx's wav2vec2 alignment (needs its weights locally).

    Example:
        >>> transcribe_video(info, model=settings.whisper_model)[:1]  # doctest: +SKIP
        [TimedText(start_s=0.42, end_s=0.6, text='The')]
    """
    log = stage_logger()
    if not info.has_audio:
        log.info("speech: %s has no audio track; transcripts left empty", info.path.name)
        return []
    if asr is None:
        if model is None:
            raise ValueError("transcribe_video needs asr or model")
        asr = load_asr(model, language=language)
    import whisperx

    try:
        audio = whisperx.load_audio(str(info.path))
    except RuntimeError as exc:  # ffmpeg could not decode the audio track
        cause = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise BadVideoError(f"{info.path}: cannot decode audio ({cause})") from exc
    items = (
        _aligned(audio, asr, language)
        if align
        else transcribe(audio, asr, language=language, mode=mode)
    )
    log.info("speech: %d %s in %s", len(items), mode, info.path.name)
    return items


def speech_for_scenes(
    info: VideoInfo,
    spans: list[SceneSpan],
    *,
    asr: Any = None,
    model: str | None = None,
    language: str | None = "en",
    mode: SpeechMode = "words",
    align: bool = False,
) -> list[str]:
    """The transcript of each scene; empty strings for a video without audio.

    Arguments as for :func:`transcribe_video`, plus the scenes ``spans``.

    Example:
        >>> speech_for_scenes(info, spans, model=settings.whisper_model)  # doctest: +SKIP
        ['the rocket launch is scheduled for tomorrow morning', '', ...]
    """
    items = transcribe_video(info, asr=asr, model=model, language=language, mode=mode, align=align)
    return assign_to_scenes(items, spans)


def _aligned(audio: Any, asr: Any, language: str | None) -> list[TimedText]:
    import whisperx

    result = asr.transcribe(audio, batch_size=8, chunk_size=10, language=language)
    align_model, meta = whisperx.load_align_model(language_code=result["language"], device="cpu")
    aligned = whisperx.align(result["segments"], align_model, meta, audio, "cpu")
    return [
        TimedText(float(w["start"]), float(w["end"]), w["word"].strip())
        for w in aligned.get("word_segments", [])
        if "start" in w and w["word"].strip()
    ]
