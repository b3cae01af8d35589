"""Split a video into scenes a viewer would cut, then cut long shots into search windows.

Three PySceneDetect detectors watch one downscaled decode pass:

* ``ContentDetector`` (HSV + edges, threshold lowered from 27 to 20) for ordinary cuts;
* ``AdaptiveDetector`` for cuts inside fast motion, where a fixed threshold fires too often;
* ``HistogramDetector`` on luma, which sees cuts between flat colours of similar hue and
  saturation (gray to silver, white to cream) that the HSV mean difference misses.

:class:`tasks.video.transitions.CutWatcher` runs them and checks each cut they propose:
camera motion (pans, zooms) and animation are dropped, a dissolve is cut once at its
midpoint, and slide changes on one template (new text, same background) are added. Cuts
closer than ``min_scene_s`` collapse into the first. Every shot longer than
``max_window_s`` is split into windows, each boundary moved into a nearby speech pause when
there is one, so each part of a long take is its own searchable scene, and a video with
no cut still yields scenes.

Example:
    >>> spans = split_scenes(probe_video(Path("clip.mp4")))  # doctest: +SKIP
    >>> [(s.start_s, s.end_s) for s in spans][:2]  # doctest: +SKIP
    [(0.0, 5.0), (5.0, 10.0)]
"""

from __future__ import annotations

import itertools
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from tasks.video.records import BadVideoError, SceneSpan, VideoInfo
from tasks.video.transitions import CutWatcher

__all__ = ["Loudness", "detect_cuts", "read_loudness", "split_scenes", "window_spans"]

# Decode at about this width: a 640-wide frame downscaled 4x still shows every hard cut and
# makes the detectors about 3x cheaper.
_DETECT_WIDTH = 160


def _share_frame_score(first: Any, second: Any) -> None:
    """Let ``second`` reuse the HSV frame score ``first`` computed for the same frame.

    The adaptive detector is a content detector with the same weights: both converted
    every frame to HSV and compared it with the last, a quarter of the pass's CPU. This
    leans on ``_calculate_frame_score`` (PySceneDetect 0.7, pinned); without it, each
    detector scores its own frames as before.

    Example:
        >>> _share_frame_score(ContentDetector(), AdaptiveDetector())  # doctest: +SKIP
    """
    own = getattr(first, "_calculate_frame_score", None)
    theirs = getattr(second, "_calculate_frame_score", None)
    if own is None or theirs is None or first._weights != second._weights:
        return
    last: dict[str, Any] = {}

    def scored(timecode: Any, frame_img: Any) -> float:
        last["frame"], last["score"] = timecode.frame_num, own(timecode, frame_img)
        return float(last["score"])

    def reused(timecode: Any, frame_img: Any) -> float:
        if last.get("frame") == timecode.frame_num:
            return float(last["score"])
        return float(theirs(timecode, frame_img))

    first._calculate_frame_score = scored
    second._calculate_frame_score = reused


def detect_cuts(info: VideoInfo, *, min_scene_s: float = 1.0) -> list[float]:
    """Return the cut times (seconds) that any of the three detectors finds.

    Args:
        info: the probed video.
        min_scene_s: no two cuts closer than this; also each detector's minimum scene.

    Raises:
        BadVideoError: the video cannot be decoded.

    Example:
        >>> detect_cuts(probe_video(Path("clip.mp4")))  # doctest: +SKIP
        [5.0, 10.0]
    """
    from scenedetect import (
        AdaptiveDetector,
        ContentDetector,
        HistogramDetector,
        SceneManager,
        open_video,
    )

    try:
        video = open_video(str(info.path), backend="opencv")
    except Exception as exc:
        raise BadVideoError(f"{info.path}: cannot decode ({type(exc).__name__}: {exc})") from exc
    fps = info.fps or video.frame_rate or 25.0
    min_len = max(1, round(min_scene_s * fps))
    # About 12 frames a second whatever the source rate: cuts stay within 1/10 s, and a
    # 60 fps file costs no more to check than a 25 fps one.
    frame_skip = max(0, round(fps / 12.5) - 1)
    content = ContentDetector(threshold=20.0, min_scene_len=min_len)
    adaptive = AdaptiveDetector(min_scene_len=min_len, min_content_val=12.0)
    _share_frame_score(content, adaptive)
    watcher = CutWatcher(
        [content, adaptive, HistogramDetector(threshold=0.15, bins=64, min_scene_len=min_len)],
        fps=fps / (frame_skip + 1),
    )
    manager = SceneManager()
    manager.auto_downscale = False
    manager.downscale = max(1, info.width // _DETECT_WIDTH)
    manager.add_detector(watcher)
    try:
        manager.detect_scenes(video=video, frame_skip=frame_skip)
    except Exception as exc:
        raise BadVideoError(f"{info.path}: cannot decode ({type(exc).__name__}: {exc})") from exc
    raw = watcher.cuts
    merged: list[float] = []
    for t in raw:
        if t < min_scene_s or t > info.duration_s - min_scene_s / 2:
            continue
        if merged and t - merged[-1] < min_scene_s:
            continue
        merged.append(round(t, 3))
    return merged


class Loudness:
    """Audio level over time, to put window boundaries of long shots in speech pauses.

    Args:
        rms: root-mean-square level (int16 scale) of each ``hop_s`` of audio.
        hop_s: seconds per level.

    Example:
        >>> levels = np.array([900.0] * 40 + [3.0] * 10 + [900.0] * 40)
        >>> Loudness(levels, 0.1).quietest(2.0, 8.0)
        4.5
    """

    def __init__(self, rms: np.ndarray, hop_s: float) -> None:
        self.rms = rms
        self.hop_s = hop_s
        voiced = rms[rms > 0]
        # Quiet is relative to the loud parts, so a recording's noise floor is still quiet.
        self.quiet = max(20.0, 0.12 * float(np.percentile(voiced, 90))) if voiced.size else 20.0

    def quietest(self, lo_s: float, hi_s: float) -> float | None:
        """Middle of the longest quiet stretch (>= 0.2 s) within ``[lo_s, hi_s]``, if any."""
        i0, i1 = max(0, math.ceil(lo_s / self.hop_s)), int(hi_s / self.hop_s)
        if i1 - i0 < 1:
            return None
        quiet = np.concatenate([[False], self.rms[i0:i1] <= self.quiet, [False]])
        edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
        if not edges.size:
            return None
        starts, ends = edges[::2], edges[1::2]
        best = int(np.argmax(ends - starts))
        if (ends[best] - starts[best]) * self.hop_s < 0.2:
            return None
        return round(float(i0 + (starts[best] + ends[best]) / 2) * self.hop_s, 3)


def read_loudness(info: VideoInfo, *, hop_s: float = 0.05) -> Loudness | None:
    """Decode the audio track at 8 kHz mono and measure its level; ``None`` without audio.

    Example:
        >>> read_loudness(probe_video(Path("clip.mp4"))).quiet  # doctest: +SKIP
        38.1
    """
    if not info.has_audio:
        return None
    rate = 8000
    cmd = ["ffmpeg", "-v", "error", "-i", str(info.path), "-vn", "-ac", "1", "-ar", str(rate)]
    done = subprocess.run([*cmd, "-f", "s16le", "-"], capture_output=True, timeout=120)
    hop = round(hop_s * rate)
    samples = np.frombuffer(done.stdout, dtype=np.int16)
    if done.returncode != 0 or samples.size < hop:
        return None  # windows fall back to even splits; speech reports its own errors
    frames = samples[: samples.size // hop * hop].reshape(-1, hop).astype(np.float32)
    return Loudness(np.sqrt((frames**2).mean(axis=1)), hop / rate)


def window_spans(
    bounds: list[float],
    duration_s: float,
    *,
    max_window_s: float = 30.0,
    loudness: Loudness | None = None,
) -> list[SceneSpan]:
    """Turn cut times into scenes, splitting any shot longer than ``max_window_s``.

    A long shot is cut into as many equal windows as it needs; with ``loudness``, each
    window boundary moves (by up to 3 s or 15% of a window) into the longest speech pause
    nearby, so a window does not end mid-sentence, and no window exceeds ``max_window_s``.

    Args:
        bounds: cut times in seconds, ascending.
        duration_s: the video's length.
        max_window_s: the longest scene allowed.
        loudness: the audio level, when window boundaries should follow pauses.

    Example:
        >>> [(s.start_s, s.end_s) for s in window_spans([10.0], 70.0, max_window_s=30)]
        [(0.0, 10.0), (10.0, 40.0), (40.0, 70.0)]
    """
    if max_window_s <= 0:
        raise ValueError(f"max_window_s must be positive, got {max_window_s}")
    edges = [0.0, *[b for b in bounds if 0.0 < b < duration_s], duration_s]
    spans: list[SceneSpan] = []
    for start, end in itertools.pairwise(edges):
        pieces = max(1, math.ceil((end - start) / max_window_s - 1e-9))
        cuts = [start]
        for k in range(1, pieces):
            ideal = cuts[-1] + (end - cuts[-1]) / (pieces - k + 1)
            cut = ideal
            if loudness is not None:
                slack = min(3.0, 0.15 * (end - start) / pieces)
                lo = max(ideal - slack, end - (pieces - k) * max_window_s, cuts[-1] + 1.0)
                hi = min(ideal + slack, cuts[-1] + max_window_s)
                cut = loudness.quietest(lo, hi) or ideal
            cuts.append(cut)
        cuts.append(end)
        for a, b in itertools.pairwise(cuts):
            spans.append(SceneSpan(index=len(spans), start_s=round(a, 3), end_s=round(b, 3)))
    return spans


def split_scenes(
    info: VideoInfo,
    *,
    max_window_s: float = 30.0,
    min_scene_s: float = 1.0,
    pause_windows: bool = True,
) -> list[SceneSpan]:
    """Split a probed video into scenes no longer than ``max_window_s``.

    Args:
        info: the probed video.
        max_window_s: longest scene; longer shots are cut into windows.
        min_scene_s: shortest scene a cut may create.
        pause_windows: move window boundaries of long shots into nearby speech pauses.

    Returns:
        Consecutive spans covering ``[0, duration]``, indexed from 0.

    Raises:
        BadVideoError: the video cannot be decoded.

    Example:
        >>> spans = split_scenes(probe_video(Path("clip.mp4")))  # doctest: +SKIP
        >>> spans[0].start_s, spans[-1].end_s  # doctest: +SKIP
        (0.0, 24.0)
    """
    cuts = detect_cuts(info, min_scene_s=min_scene_s)
    edges = [0.0, *cuts, info.duration_s]
    # Only a shot that needs windows pays for decoding the audio (about 0.1 s a minute).
    long_shot = any(b - a > max_window_s for a, b in itertools.pairwise(edges))
    loudness = read_loudness(info) if long_shot and pause_windows else None
    return window_spans(cuts, info.duration_s, max_window_s=max_window_s, loudness=loudness)


def _main(path: str) -> None:  # pragma: no cover - manual check
    from tasks.video.probe import probe_video

    for span in split_scenes(probe_video(Path(path))):
        print(span)


if __name__ == "__main__":  # pragma: no cover
    import sys

    _main(sys.argv[1])
