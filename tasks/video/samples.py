"""Narrated sample videos with known cuts, words and colours.

Each scene is an ffmpeg ``lavfi`` colour source with optional on-screen text (``drawtext``,
black on a white box so tesseract reads it) and optional speech (``espeak-ng``, mixed in at a
known time). Tests, ``make demo`` and the benchmarks build their inputs with these functions,
so every expected cut, word and colour is known exactly.

Example:
    >>> from pathlib import Path
    >>> spans = make_sample_video(  # doctest: +SKIP
    ...     Path("/tmp/a.mp4"),
    ...     [SampleScene(3, "red", spoken="hello world"), SampleScene(3, "blue", on_screen="EXIT")],
    ... )
    >>> spans  # doctest: +SKIP
    [(0.0, 3.0), (3.0, 6.0)]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SampleScene",
    "long_scenes",
    "make_sample_video",
    "make_truncated_copy",
    "make_zero_length",
    "standard_scenes",
]

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
)


@dataclass(frozen=True)
class SampleScene:
    """One shot of a sample video.

    Attributes:
        duration_s: length of the shot.
        color: an ffmpeg colour name or ``0xRRGGBB``.
        spoken: words espeak-ng says, starting ``speech_at_s`` into the shot.
        on_screen: words drawn on the frame from ``text_at_s`` into the shot to its end.
        speech_at_s: when the speech starts, relative to the shot.
        text_at_s: when the text appears, relative to the shot (> 0 = appears mid-scene).
    """

    duration_s: float
    color: str
    spoken: str = ""
    on_screen: str = ""
    speech_at_s: float = 0.3
    text_at_s: float = 0.0


def _font() -> str:
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    found = subprocess.run(
        ["fc-match", "-f", "%{file}", "DejaVu Sans:bold"], capture_output=True, text=True
    )
    if found.returncode == 0 and found.stdout.strip():
        return found.stdout.strip()
    raise RuntimeError("no TrueType font found for ffmpeg drawtext (install fonts-dejavu-core)")


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        raise RuntimeError(f"{tool} not found on PATH (make setup installs it)")


def _speak(text: str, wav: Path) -> None:
    # 150 wpm and a clear voice: tiny.en recognises espeak best when it is not rushed.
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text],
        check=True,
        capture_output=True,
    )


def _scene_source(scene: SampleScene, size: tuple[int, int], fps: int, tmp: Path, i: int) -> str:
    width, height = size
    src = f"color=c={scene.color}:s={width}x{height}:r={fps}:d={scene.duration_s:.3f}"
    if scene.on_screen:
        text_file = tmp / f"text{i}.txt"
        text_file.write_text(scene.on_screen)
        fontsize = max(16, height // 9)
        src += (
            f",drawtext=fontfile={_font()}:textfile={text_file}:fontsize={fontsize}"
            f":fontcolor=black:box=1:boxcolor=white:boxborderw={fontsize // 3}"
            f":x=(w-text_w)/2:y=(h-text_h)/2"
        )
        if scene.text_at_s > 0:
            src += f":enable='gte(t\\,{scene.text_at_s:.3f})'"
    return src


def make_sample_video(
    path: Path,
    scenes: list[SampleScene],
    *,
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
    audio: bool = True,
) -> list[tuple[float, float]]:
    """Render ``scenes`` back to back into an H.264 MP4 (with AAC speech when ``audio``).

    The file is written to a temporary name and renamed, so a failed render leaves nothing.

    Args:
        path: output ``.mp4`` path; parent folders are created.
        scenes: the shots, in order.
        size: frame width and height.
        fps: frame rate.
        audio: include an audio track with the spoken words (silence elsewhere).

    Returns:
        Each shot's true ``(start_s, end_s)``; the cuts are the starts of all but the first.

    Example:
        >>> make_sample_video(Path("/tmp/x.mp4"), [SampleScene(2, "red"), SampleScene(2, "blue")])
        [(0.0, 2.0), (2.0, 4.0)]
    """
    if not scenes:
        raise ValueError("make_sample_video: scenes must not be empty")
    _require("ffmpeg")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    starts: list[float] = []
    t = 0.0
    for scene in scenes:
        starts.append(t)
        t += scene.duration_s
    total = t
    with tempfile.TemporaryDirectory(prefix="tessera-sample-") as tmpdir:
        tmp = Path(tmpdir)
        args = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error"]
        for i, scene in enumerate(scenes):
            args += ["-f", "lavfi", "-i", _scene_source(scene, size, fps, tmp, i)]
        n = len(scenes)
        graph = "".join(f"[{i}:v]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]"
        maps = ["-map", "[v]"]
        if audio:
            _require("espeak-ng")
            args += ["-f", "lavfi", "-t", f"{total:.3f}", "-i", "anullsrc=r=16000:cl=mono"]
            mix = [f"[{n}:a]"]
            voices: list[int] = []
            for start, scene in zip(starts, scenes, strict=True):
                if not scene.spoken:
                    continue
                wav = tmp / f"speech{len(voices)}.wav"
                _speak(scene.spoken, wav)
                args += ["-i", str(wav)]
                voices.append(round((start + scene.speech_at_s) * 1000))
            for k, delay_ms in enumerate(voices):
                graph += f";[{n + 1 + k}:a]aresample=16000,adelay={delay_ms}[s{k}]"
                mix.append(f"[s{k}]")
            graph += (
                f";{''.join(mix)}amix=inputs={len(mix)}:duration=first"
                ":dropout_transition=0:normalize=0[a]"
            )
            maps += ["-map", "[a]", "-c:a", "aac", "-b:a", "64k", "-ar", "16000"]
        partial = tmp / ("out" + path.suffix)
        args += ["-filter_complex", graph, *maps]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        args += ["-t", f"{total:.3f}", str(partial)]
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"ffmpeg failed for {path}: {done.stderr.strip()[-500:]}")
        shutil.move(str(partial), path.with_name(path.name + ".part"))
        os.replace(path.with_name(path.name + ".part"), path)
    ends = [*starts[1:], total]
    return [(round(a, 3), round(b, 3)) for a, b in zip(starts, ends, strict=True)]


def make_truncated_copy(src: Path, dst: Path, *, keep: float = 0.4) -> Path:
    """Copy the first ``keep`` fraction of ``src``'s bytes to ``dst`` (an undecodable video).

    An MP4 written by ffmpeg keeps its index (``moov``) at the end, so the cut copy has no
    index and no decoder can read it, as after an interrupted download.

    Example:
        >>> make_truncated_copy(Path("/tmp/x.mp4"), Path("/tmp/cut.mp4"))  # doctest: +SKIP
        PosixPath('/tmp/cut.mp4')
    """
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data[: max(1, int(len(data) * keep))])
    return dst


def make_zero_length(dst: Path) -> Path:
    """Create an empty file named like a video.

    Example:
        >>> make_zero_length(Path("/tmp/empty.mp4")).stat().st_size
        0
    """
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(b"")
    return dst


def standard_scenes() -> list[SampleScene]:
    """The short narrated reference video used by tests and ``make demo`` (28 s, 6 shots).

    The last cut (gray to silver: no hue, no saturation, a small brightness step) is the
    kind a plain ContentDetector misses; shot 4's text appears mid-scene.

    Example:
        >>> [s.color for s in standard_scenes()]
        ['red', 'blue', 'white', 'olive', 'gray', 'silver']
    """
    return [
        SampleScene(5.0, "red", spoken="The rocket launch is scheduled for tomorrow morning."),
        SampleScene(5.0, "blue", on_screen="EXIT GATE"),
        SampleScene(
            5.0, "white", spoken="Please bring your umbrella, it will rain.", on_screen="WELCOME"
        ),
        SampleScene(4.0, "olive", on_screen="PIZZA MENU", text_at_s=2.0),
        SampleScene(5.0, "gray", spoken="The kitchen is closed for cleaning."),
        SampleScene(4.0, "silver"),
    ]


_LONG_LINES = (
    ("red", "The rocket launch is scheduled for tomorrow morning.", "LAUNCH PAD"),
    ("blue", "Please bring your umbrella because it will rain.", "WEATHER"),
    ("green", "The kitchen is closed for cleaning today.", "KITCHEN"),
    ("yellow", "Our train leaves from platform nine at noon.", "PLATFORM"),
    ("purple", "The museum opens a new dinosaur exhibit.", "MUSEUM"),
    ("orange", "Remember to water the garden every evening.", "GARDEN"),
    ("white", "The football match ended in a draw.", "STADIUM"),
    ("black", "Turn off the lights before you leave the office.", "OFFICE"),
)


def long_scenes(total_s: float = 120.0, shot_s: float = 6.0) -> list[SampleScene]:
    """A narrated video of at least ``total_s`` seconds for benchmarks (every shot speaks).

    Example:
        >>> sum(s.duration_s for s in long_scenes(60)) >= 60
        True
    """
    scenes: list[SampleScene] = []
    t = 0.0
    i = 0
    while t < total_s:
        color, spoken, text = _LONG_LINES[i % len(_LONG_LINES)]
        scenes.append(SampleScene(shot_s, color, spoken=spoken, on_screen=text))
        t += shot_s
        i += 1
    return scenes
