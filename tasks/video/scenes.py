"""Split a video into scenes with PySceneDetect, then cut long shots into search windows.

Three detectors watch one downscaled decode pass:

* ``ContentDetector`` (HSV + edges, threshold lowered from 27 to 20) for ordinary cuts;
* ``AdaptiveDetector`` for cuts inside fast motion, where a fixed threshold fires too often;
* ``HistogramDetector`` on luma, which sees cuts between flat colours of similar hue and
  saturation (gray to silver, white to cream) that the HSV mean difference misses.

Their cut lists are merged; cuts closer than ``min_scene_s`` collapse into the first. Every
shot longer than ``max_window_s`` is split into equal windows so each part of a long take
is its own searchable scene, and a video with no cut still yields scenes.

Example:
    >>> spans = split_scenes(probe_video(Path("clip.mp4")))  # doctest: +SKIP
    >>> [(s.start_s, s.end_s) for s in spans][:2]  # doctest: +SKIP
    [(0.0, 5.0), (5.0, 10.0)]
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from tasks.video.records import BadVideoError, SceneSpan, VideoInfo
from tasks.video.transitions import CutWatcher

__all__ = ["detect_cuts", "split_scenes", "window_spans"]

# Decode at about this width: a 640-wide frame downscaled 4x still shows every hard cut and
# makes the detectors about 3x cheaper.
_DETECT_WIDTH = 160


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
    watcher = CutWatcher(
        [
            ContentDetector(threshold=20.0, min_scene_len=min_len),
            AdaptiveDetector(min_scene_len=min_len, min_content_val=12.0),
            HistogramDetector(threshold=0.15, bins=64, min_scene_len=min_len),
        ],
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


def window_spans(
    bounds: list[float], duration_s: float, *, max_window_s: float = 30.0
) -> list[SceneSpan]:
    """Turn cut times into scenes, splitting any shot longer than ``max_window_s`` evenly.

    Args:
        bounds: cut times in seconds, ascending.
        duration_s: the video's length.
        max_window_s: the longest scene allowed.

    Example:
        >>> [(s.start_s, s.end_s) for s in window_spans([10.0], 70.0, max_window_s=30)]
        [(0.0, 10.0), (10.0, 30.0), (30.0, 50.0), (50.0, 70.0)]
    """
    if max_window_s <= 0:
        raise ValueError(f"max_window_s must be positive, got {max_window_s}")
    edges = [0.0, *[b for b in bounds if 0.0 < b < duration_s], duration_s]
    spans: list[SceneSpan] = []
    for start, end in itertools.pairwise(edges):
        pieces = max(1, math.ceil((end - start) / max_window_s - 1e-9))
        step = (end - start) / pieces
        for k in range(pieces):
            a = start + k * step
            b = end if k == pieces - 1 else start + (k + 1) * step
            spans.append(SceneSpan(index=len(spans), start_s=round(a, 3), end_s=round(b, 3)))
    return spans


def split_scenes(
    info: VideoInfo, *, max_window_s: float = 30.0, min_scene_s: float = 1.0
) -> list[SceneSpan]:
    """Split a probed video into scenes no longer than ``max_window_s``.

    Args:
        info: the probed video.
        max_window_s: longest scene; longer shots are cut into equal windows.
        min_scene_s: shortest scene a cut may create.

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
    return window_spans(cuts, info.duration_s, max_window_s=max_window_s)


def _main(path: str) -> None:  # pragma: no cover - manual check
    from tasks.video.probe import probe_video

    for span in split_scenes(probe_video(Path(path))):
        print(span)


if __name__ == "__main__":  # pragma: no cover
    import sys

    _main(sys.argv[1])
