"""Keyframes: one sequential decode pass that keeps a few frames per scene.

The frames are spread evenly inside each scene (at 1/6, 1/2 and 5/6 of it for three), so
text that appears halfway through a shot is still seen. OCR, visual tags, thumbnails and
captions all read these frames; nothing else decodes the video again.

Example:
    >>> frames = extract_keyframes(info, spans, per_scene=3)  # doctest: +SKIP
    >>> len(frames) == len(spans), frames[0][0].shape  # doctest: +SKIP
    (True, (360, 640, 3))
"""

from __future__ import annotations

import cv2
import numpy as np

from tasks.video.records import BadVideoError, SceneSpan, VideoInfo

__all__ = ["extract_keyframes", "keyframe_times"]

# Keep frames at most this wide: enough for OCR of subtitles, bounded memory for 4K input.
MAX_WIDTH = 1280


def keyframe_times(span: SceneSpan, per_scene: int = 3) -> list[float]:
    """Times (seconds) of the keyframes of one scene, evenly spread inside it.

    Example:
        >>> keyframe_times(SceneSpan(0, 0.0, 6.0), 3)
        [1.0, 3.0, 5.0]
    """
    if per_scene < 1:
        raise ValueError(f"per_scene must be at least 1, got {per_scene}")
    step = span.duration_s / per_scene
    return [round(span.start_s + (k + 0.5) * step, 3) for k in range(per_scene)]


def extract_keyframes(
    info: VideoInfo, spans: list[SceneSpan], per_scene: int = 3
) -> list[list[np.ndarray]]:
    """Decode the video once and return ``per_scene`` BGR frames for each span.

    Frames are grabbed sequentially (cheap: no colour conversion) and only the wanted ones
    are retrieved, which is faster than seeking for more than a handful of frames.

    Args:
        info: the probed video.
        spans: its scenes, in order.
        per_scene: frames per scene.

    Returns:
        One list of frames (``uint8``, ``H x W x 3``, BGR) per span; a scene whose frames
        lie past the last decodable frame gets the last frame seen.

    Raises:
        BadVideoError: the video cannot be opened or yields no frame.

    Example:
        >>> [len(f) for f in extract_keyframes(info, spans, 2)]  # doctest: +SKIP
        [2, 2, 2]
    """
    fps = info.fps or 25.0
    wanted: dict[int, list[tuple[int, int]]] = {}
    for s, span in enumerate(spans):
        for k, t in enumerate(keyframe_times(span, per_scene)):
            frame_no = min(int(t * fps), max(0, int(info.duration_s * fps) - 1))
            wanted.setdefault(frame_no, []).append((s, k))
    out: list[list[np.ndarray | None]] = [[None] * per_scene for _ in spans]
    cap = cv2.VideoCapture(str(info.path))
    if not cap.isOpened():
        raise BadVideoError(f"{info.path}: cannot open for decoding")
    last: np.ndarray | None = None
    try:
        frame_no = 0
        remaining = len(wanted)
        while remaining and cap.grab():
            if frame_no in wanted:
                ok, frame = cap.retrieve()
                if ok:
                    frame = _bounded(frame)
                    last = frame
                    for s, k in wanted[frame_no]:
                        out[s][k] = frame
                remaining -= 1
            frame_no += 1
    finally:
        cap.release()
    if last is None:
        raise BadVideoError(f"{info.path}: no decodable frames")
    # Spans past the last decodable frame (a duration longer than the stream) reuse it.
    previous: np.ndarray = last
    filled: list[list[np.ndarray]] = []
    for frames in out:
        row: list[np.ndarray] = []
        for kept in frames:
            if kept is not None:
                previous = kept
            row.append(previous)
        filled.append(row)
    return filled


def _bounded(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    if width <= MAX_WIDTH:
        return frame
    size = (MAX_WIDTH, round(height * MAX_WIDTH / width))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
