"""Speech: transcribe the whole audio once, then give each scene the words spoken in it.

The default ``mode="words"`` runs faster-whisper (CTranslate2, int8 on CPU) directly, with
Silero VAD (shipped in faster-whisper) and word timestamps from the decoder's
cross-attention: every word gets its own time and no alignment model is needed. Loading it
takes seconds and about 0.3 GiB; whisperx's pipeline (loaded only for ``mode="segments"``
or ``align=True``) imports pyannote and Lightning for its own VAD: 20-35 s and 1 GiB more.
``mode="segments"`` keeps whisperx's VAD-batched transcription (the better choice on a GPU)
with a short chunk size, assigning whole segments by time overlap.

The model is a setting (``whisper_model``: ``"base"``, ``"tiny.en"`` or a folder, see
:mod:`tasks.video.whisper_models`); so is the language (``asr_language``: a code such as
``"en"``, or ``"auto"`` to detect it per video on its first 30 s of speech). The decoding
defaults (:class:`DecodeOptions`) are the ones ``bench/bench_speech.py`` measured best at
the speed ingest needs.

Example:
    >>> asr = load_asr(settings.whisper_model)  # doctest: +SKIP
    >>> transcript = transcribe_video(info, asr=asr, language="auto")  # doctest: +SKIP
    >>> transcript.language, assign_to_scenes(transcript, spans)  # doctest: +SKIP
    ('en', ['the rocket launch is scheduled for tomorrow morning', '', ...])
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tasks.video.records import BadVideoError, SceneSpan, VideoInfo
from tasks.video.stagelog import stage_logger
from tasks.video.whisper_models import DecodeOptions, check_model_folder, whisper_language

__all__ = [
    "DecodeOptions",
    "SpeechMode",
    "TimedText",
    "Transcript",
    "assign_to_scenes",
    "load_asr",
    "speech_for_scenes",
    "transcribe",
    "transcribe_video",
    "whisper_language",
    "words_by_scene",
]

SpeechMode = Literal["words", "segments"]

_CACHE: dict[tuple[str, str, str, str | None, int, bool], Any] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class TimedText:
    """A word or segment with its time in the video."""

    start_s: float
    end_s: float
    text: str


class Transcript(list[TimedText]):
    """The timed words (or segments) of one recording, in order, and its spoken language.

    A list, so every caller that assigns words to scenes takes it as it is.

    Attributes:
        language: the language spoken ("" when nothing was heard).
        language_probability: Whisper's probability of it (1.0 when it was given, not detected).

    Example:
        >>> t = Transcript([TimedText(0.1, 0.4, "hello")], language="en", language_probability=1)
        >>> t[0].text, t.language
        ('hello', 'en')
    """

    def __init__(
        self,
        items: Iterable[TimedText] = (),
        *,
        language: str = "",
        language_probability: float = 0.0,
    ) -> None:
        super().__init__(items)
        self.language = language
        self.language_probability = language_probability

    @property
    def text(self) -> str:
        """All the words, space-separated."""
        return " ".join(item.text for item in self)


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
    pipeline: bool = False,
) -> Any:
    """Load (once per process and argument set) the Whisper model ``model``.

    Args:
        model: a CTranslate2 Whisper folder (``settings.whisper_model``) or a size name
            already in the Hugging Face cache.
        language: spoken language for whisperx's pipeline; ``None`` or ``"auto"`` detects it
            (the plain model takes the language per call instead).
        device: ``"cpu"`` or ``"cuda"``; default: a GPU when CTranslate2 sees one.
        compute_type: CTranslate2 compute type; default ``int8`` (``int8_float16`` on GPU).
        threads: CPU threads for CTranslate2; 0 uses every core.
        pipeline: load whisperx's pipeline (for ``mode="segments"`` or alignment) rather
            than the plain faster-whisper model.

    Raises:
        WhisperModelMissingError: ``model`` is a folder without a model in it.

    Example:
        >>> asr = load_asr(Settings().whisper_model)  # doctest: +SKIP
    """
    if os.sep in model or Path(model).exists():
        check_model_folder(model)
    auto_device, auto_type = default_device()
    device = device or auto_device
    compute_type = compute_type or (auto_type if device == auto_device else "int8")
    threads = threads or os.cpu_count() or 1
    language = whisper_language(language) if pipeline else None
    key = (model, device, compute_type, language, threads, pipeline)
    with _CACHE_LOCK:
        if key not in _CACHE:
            if pipeline:
                import whisperx

                _CACHE[key] = whisperx.load_model(
                    model,
                    device,
                    compute_type=compute_type,
                    language=language,
                    threads=threads,
                    local_files_only=True,
                )
            else:
                from faster_whisper import WhisperModel

                _CACHE[key] = WhisperModel(
                    model,
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=threads,
                    local_files_only=True,
                )
        return _CACHE[key]


def _whisper_model(asr: Any) -> Any:
    from faster_whisper import WhisperModel

    # whisperx's pipeline keeps the faster-whisper model it wraps in ``.model``.
    return asr if isinstance(asr, WhisperModel) else asr.model


def transcribe(
    audio: Any,
    asr: Any,
    *,
    language: str | None = "en",
    mode: SpeechMode = "words",
    options: DecodeOptions | None = None,
    batch_size: int = 8,
    chunk_size: int = 10,
) -> Transcript:
    """Transcribe 16 kHz mono audio into timed words (``"words"``) or segments.

    Args:
        audio: float32 samples at 16 kHz (``whisperx.load_audio``).
        asr: a model from :func:`load_asr` (``pipeline=True`` for ``"segments"``).
        language: spoken language; ``None`` or ``"auto"`` detects it.
        mode: ``"words"`` (word timestamps) or ``"segments"`` (whisperx VAD batches).
        options: decoding options (``"words"`` mode); default :class:`DecodeOptions`.
        batch_size: whisperx batch size (``"segments"`` mode).
        chunk_size: longest whisperx VAD chunk in seconds (``"segments"`` mode).

    Example:
        >>> transcribe(whisperx.load_audio("clip.mp4"), asr)[:2]  # doctest: +SKIP
        [TimedText(start_s=0.4, end_s=0.62, text='The'), ...]
    """
    lang = whisper_language(language)
    if mode == "segments":
        if not hasattr(asr, "transcribe") or not hasattr(asr, "vad_model"):
            raise TypeError("mode='segments' needs whisperx's pipeline: load_asr(pipeline=True)")
        result = asr.transcribe(audio, batch_size=batch_size, chunk_size=chunk_size, language=lang)
        segments = [
            TimedText(float(s["start"]), float(s["end"]), s["text"].strip())
            for s in result["segments"]
            if s["text"].strip()
        ]
        return Transcript(
            segments,
            language=result.get("language", lang or "") if segments else "",
            language_probability=1.0 if lang else 0.0,
        )
    segments_iter, info = _whisper_model(asr).transcribe(
        audio, language=lang, word_timestamps=True, **(options or DecodeOptions()).kwargs()
    )
    words: list[TimedText] = []
    for segment in segments_iter:
        first = len(words)
        for word in segment.words or []:
            text = word.word.strip()
            if not text:
                continue
            # Whisper splits "2,000" and "10-15" into "2" + ",000": a piece starting with
            # punctuation and no space belongs to the word before it.
            if len(words) > first and not word.word[:1].isspace() and not text[0].isalnum():
                prev = words.pop()
                words.append(TimedText(prev.start_s, float(word.end), prev.text + text))
            else:
                words.append(TimedText(float(word.start), float(word.end), text))
    # A language "detected" in silence is noise: only speech that was heard has one.
    return Transcript(
        words,
        language=info.language if words else "",
        language_probability=float(info.language_probability) if words else 0.0,
    )


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
    return [" ".join(item.text for item in words) for words in words_by_scene(items, spans)]


def words_by_scene(items: Sequence[TimedText], spans: Sequence[SceneSpan]) -> list[list[TimedText]]:
    """The timed items of each scene: each goes to the scene it overlaps most.

    Example:
        >>> spans = [SceneSpan(0, 0.0, 5.0), SceneSpan(1, 5.0, 10.0)]
        >>> [[w.text for w in ws] for ws in words_by_scene([TimedText(4.8, 5.6, "big")], spans)]
        [[], ['big']]
    """
    out: list[list[TimedText]] = [[] for _ in spans]
    for item in items:
        best, best_overlap = -1, -1.0
        for i, span in enumerate(spans):
            overlap = min(item.end_s, span.end_s) - max(item.start_s, span.start_s)
            if overlap > best_overlap:
                best, best_overlap = i, overlap
        if best >= 0 and best_overlap > -0.5:  # zero-length words at an edge still count
            out[best].append(item)
    return out


def transcribe_video(
    info: VideoInfo,
    *,
    asr: Any = None,
    model: str | None = None,
    language: str | None = "en",
    mode: SpeechMode = "words",
    align: bool = False,
    options: DecodeOptions | None = None,
) -> Transcript:
    """Transcribe a video's whole audio once; empty (and one log line) when it has none.

    Args:
        info: the probed video.
        asr: a loaded model (:func:`load_asr`); loaded from ``model`` when missing.
        model: Whisper model folder or size, used when ``asr`` is missing.
        language: spoken language; ``None`` or ``"auto"`` detects it.
        mode: see :func:`transcribe`.
        align: refine times with whisperx's wav2vec2 alignment (needs its weights locally).
        options: decoding options for ``"words"`` mode.

    Example:
        >>> transcribe_video(info, model=settings.whisper_model)[:1]  # doctest: +SKIP
        [TimedText(start_s=0.42, end_s=0.6, text='The')]
    """
    log = stage_logger()
    if not info.has_audio:
        log.info("speech: %s has no audio track; transcripts left empty", info.path.name)
        return Transcript()
    if asr is None:
        if model is None:
            raise ValueError("transcribe_video needs asr or model")
        asr = load_asr(model, language=language, pipeline=mode == "segments" or align)
    import whisperx

    try:
        audio = whisperx.load_audio(str(info.path))
    except RuntimeError as exc:  # ffmpeg could not decode the audio track
        cause = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise BadVideoError(f"{info.path}: cannot decode audio ({cause})") from exc
    items = (
        _aligned(audio, asr, language)
        if align
        else transcribe(audio, asr, language=language, mode=mode, options=options)
    )
    log.info(
        "speech: %d %s in %s (language %s, p=%.2f)",
        len(items),
        mode,
        info.path.name,
        items.language or "-",
        items.language_probability,
    )
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


def _aligned(audio: Any, asr: Any, language: str | None) -> Transcript:
    import whisperx

    lang = whisper_language(language)
    result = asr.transcribe(audio, batch_size=8, chunk_size=10, language=lang)
    align_model, meta = whisperx.load_align_model(language_code=result["language"], device="cpu")
    aligned = whisperx.align(result["segments"], align_model, meta, audio, "cpu")
    words = [
        TimedText(float(w["start"]), float(w["end"]), w["word"].strip())
        for w in aligned.get("word_segments", [])
        if "start" in w and w["word"].strip()
    ]
    return Transcript(words, language=result["language"] if words else "")
