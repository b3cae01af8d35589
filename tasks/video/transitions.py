"""Frame checks behind :mod:`tasks.video.scenes`: camera motion, dissolves and slide changes.

PySceneDetect's detectors compare colour statistics of consecutive frames, so they fire on
fast camera motion (a pan over a photograph) and animation, at one or both ends of a
cross-dissolve, and not at all when a slide on one template gets new text.
:class:`CutWatcher` wraps those detectors in the same downscaled decode pass and keeps a
few seconds of frames, so every cut they propose is checked before it is kept:

* **change profile** (:func:`classify_change`): coarse block means of each frame from
  1.5 s before to 1.5 s after the cut are fitted as blends ``(1 - a) * A + a * B`` of the
  two ends. One abrupt step of ``a`` is a cut; a ramp of good blends is a dissolve, cut
  where ``a`` crosses 0.5 (the detector firing at its other end is absorbed); steady
  change that is no blend (animation, a moving shot) is no cut;
* **camera motion** (:func:`is_camera_motion`): when the frame after the cut is a
  shifted/scaled/rotated copy of the frame before (affine ECC, started from phase
  correlation, leaves a small residual), the "cut" is a pan or zoom and is dropped;
* **slide change** (:func:`is_layout_change`): between two still runs (no pixel moves for
  ``min_still_s``) joined by an abrupt step or a dissolve, a cut is added when content was
  *replaced* (edges inside the changed region both before and after) rather than added to
  empty space (a title or bullet appearing mid-scene is not a cut), unless the change stays
  in the caption band.

The change profile lives in :mod:`tasks.video.change_profile`, the camera-motion check in
:mod:`tasks.video.camera_motion`; both are re-exported here.

Example:
    >>> watcher = CutWatcher([ContentDetector()], fps=12.5)  # doctest: +SKIP
    >>> manager.add_detector(watcher); manager.detect_scenes(video)  # doctest: +SKIP
    >>> watcher.cuts  # doctest: +SKIP
    [5.0, 19.04]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from tasks.video.camera_motion import is_camera_motion
from tasks.video.change_profile import Change, blend_midpoint, classify_change

__all__ = [
    "Change",
    "CutWatcher",
    "blend_midpoint",
    "classify_change",
    "is_camera_motion",
    "is_layout_change",
]

# Colour thumbnails for the blend model: small enough to ignore noise and compression.
_THUMB = (32, 18)
# Pixels (detect-size luma) that moved by more than this count as changed; x264 noise on a
# still frame stays well under it.
_PIXEL_STEP = 24
# A frame is still when fewer than this share of its pixels changed since the last frame.
_STILL_SHARE = 0.003


@dataclass
class _Frame:
    index: int
    time_s: float
    gray: np.ndarray
    thumb: np.ndarray
    moved: float  # share of luma pixels changed from the previous frame


def is_layout_change(before: np.ndarray, after: np.ndarray, *, min_share: float = 0.02) -> bool:
    """Whether a still frame's content was replaced (new slide), not added to or moved.

    Args:
        before: luma of the last still frame before the change (uint8, detect size).
        after: luma of the first still frame after it.
        min_share: least share of the frame that must change.

    Example:
        >>> blank = np.full((90, 160), 40, np.uint8)
        >>> one, two = blank.copy(), blank.copy()
        >>> one[20:30, 20:120:4] = 250; two[20:30, 22:122:6] = 250
        >>> is_layout_change(one, two), is_layout_change(blank, two)
        (True, False)
    """
    a = cv2.GaussianBlur(before, (3, 3), 0)
    b = cv2.GaussianBlur(after, (3, 3), 0)
    changed = cv2.absdiff(a, b) > 30
    share = float(changed.mean())
    if share < min_share:
        return False
    rows = np.flatnonzero(changed.any(axis=1))
    if rows[0] >= 0.72 * changed.shape[0]:
        return False  # a caption or lower third changing over a still shot
    kernel = np.ones((3, 3), np.uint8)
    edges_a = cv2.morphologyEx(a, cv2.MORPH_GRADIENT, kernel) > 40
    edges_b = cv2.morphologyEx(b, cv2.MORPH_GRADIENT, kernel) > 40
    # Content appearing on an empty area (a title fading in) has no edges before; content
    # replaced has edges in the changed region on both sides.
    removed = float((edges_a & changed).mean())
    added = float((edges_b & changed).mean())
    least = max(0.003, 0.2 * share)
    return removed >= least and added >= least


class CutWatcher:
    """A PySceneDetect detector that checks the cuts of inner detectors and adds slide cuts.

    It behaves as a ``SceneDetector`` (``process_frame``, ``post_process``) but returns no
    cuts to the scene manager: the checked cut times, in seconds, collect in :attr:`cuts`.

    Args:
        detectors: PySceneDetect detectors whose cuts are checked.
        fps: frames per second *processed* (after frame skipping).
        max_dissolve_s: longest gradual transition treated as one cut.
        min_still_s: how long a frame must stay still on both sides of a slide change.

    Example:
        >>> watcher = CutWatcher([], fps=12.5)
        >>> watcher.post_process(None)
        []
        >>> watcher.cuts
        []
    """

    def __init__(
        self,
        detectors: list[Any],
        *,
        fps: float,
        max_dissolve_s: float = 2.5,
        min_still_s: float = 1.5,
    ) -> None:
        self._detectors = detectors
        self._max_dissolve_s = max_dissolve_s
        self._min_still_s = min_still_s
        # Decide a cut once its far side is in view; keep frames long enough to look back
        # over a dissolve from a cut a detector reported late (up to its minimum scene).
        self._window_s = 1.5
        self._lookahead_s = self._window_s + 0.1
        self._keep = max(8, round((2 * self._window_s + 5.0) * fps))
        self._frames: deque[_Frame] = deque(maxlen=self._keep)
        self._pending: list[float] = []
        self._spans: list[tuple[float, float]] = []
        self._still_start: _Frame | None = None  # first frame of the current still run
        self._still_end: _Frame | None = None  # last frame of the previous long still run
        self._checked_run = False
        self.cuts: list[float] = []
        self._stats_manager = None

    # -- SceneDetector interface -------------------------------------------------------

    @property
    def stats_manager(self) -> Any:
        return self._stats_manager

    @stats_manager.setter
    def stats_manager(self, value: Any) -> None:
        self._stats_manager = value

    @property
    def event_buffer_length(self) -> int:
        return 0

    def get_metrics(self) -> list[str]:
        return []

    def process_frame(self, timecode: Any, frame_img: np.ndarray) -> list[Any]:
        """Record the frame, feed the inner detectors, decide cuts now far enough behind."""
        gray = cv2.cvtColor(frame_img, cv2.COLOR_BGR2GRAY)
        # Bilinear, not area, sampling: 5x cheaper, and a sampled dissolve is still a blend.
        thumb = cv2.resize(frame_img, _THUMB, interpolation=cv2.INTER_LINEAR)
        prev = self._frames[-1] if self._frames else None
        moved = 0.0
        if prev is not None:
            moved = np.count_nonzero(cv2.absdiff(gray, prev.gray) > _PIXEL_STEP) / gray.size
        frame = _Frame(
            index=prev.index + 1 if prev else 0,
            time_s=float(timecode.seconds),
            gray=gray,
            thumb=thumb,
            moved=moved,
        )
        self._frames.append(frame)
        for detector in self._detectors:
            self._pending += [float(t.seconds) for t in detector.process_frame(timecode, frame_img)]
        self._track_stills(frame, prev)
        self._decide(frame.time_s - self._lookahead_s)
        return []

    def post_process(self, timecode: Any) -> list[Any]:
        """Take the inner detectors' last cuts and decide everything still pending."""
        if timecode is not None:
            for detector in self._detectors:
                self._pending += [float(t.seconds) for t in detector.post_process(timecode)]
        self._decide(float("inf"))
        self.cuts.sort()
        return []

    # -- cut checks --------------------------------------------------------------------

    def _decide(self, until_s: float) -> None:
        self._pending.sort()
        while self._pending and self._pending[0] <= until_s:
            t = self._pending.pop(0)
            # The other detectors' report of the same cut: one check is enough.
            while self._pending and self._pending[0] - t <= 0.15:
                self._pending.pop(0)
            if any(a - 0.1 <= t <= b + 0.1 for a, b in self._spans):
                continue  # the other end of a dissolve already placed
            cut = self._check(t)
            if cut is not None and not any(abs(cut - c) < 0.3 for c in self.cuts[-3:]):
                self.cuts.append(cut)

    def _check(self, t: float) -> float | None:
        frames = list(self._frames)
        at = next((i for i, f in enumerate(frames) if f.time_s >= t - 1e-6), None)
        if at is None or at == 0:
            return round(t, 3)  # outside what is kept: trust the detector
        # Look far enough either side to see a whole dissolve, not past the last cut.
        since = self.cuts[-1] if self.cuts else -1.0
        window = [
            f for f in frames if max(since, t - self._window_s) <= f.time_s <= t + self._window_s
        ]
        change = Change("unclear")
        if len(window) >= 5 and window[0].time_s <= t - 0.3 and window[-1].time_s >= t + 0.3:
            change = classify_change(
                [f.thumb for f in window],
                [f.time_s for f in window],
                max_dissolve_s=self._max_dissolve_s,
            )
        if change.kind == "dissolve" and change.span is not None:
            # Checked before camera motion: a dissolve between moving shots looks like
            # motion from one frame to the next.
            self._spans.append(change.span)
            return change.time_s
        if change.kind == "gradual":
            return None  # steady change that is no blend: motion or animation, not a cut
        if is_camera_motion(frames[at - 1].gray, frames[at].gray):
            return None
        if change.kind == "cut" and change.time_s is not None and abs(change.time_s - t) <= 0.5:
            return change.time_s
        return round(t, 3)

    def _track_stills(self, frame: _Frame, prev: _Frame | None) -> None:
        if prev is None:
            return
        if frame.moved >= _STILL_SHARE:
            run = self._still_start
            if run is not None and prev.time_s - run.time_s >= self._min_still_s:
                self._still_end = prev
            self._still_start = None
            return
        if self._still_start is None:
            self._still_start = prev
            self._checked_run = False
        run, before = self._still_start, self._still_end
        if self._checked_run or before is None:
            return
        if frame.time_s - run.time_s < self._min_still_s:
            return
        self._checked_run = True
        gap = run.index - before.index
        if gap > 1 and run.time_s - before.time_s > self._max_dissolve_s:
            return
        if not is_layout_change(before.gray, run.gray):
            return
        if gap <= 2:
            self._pending.append(run.time_s)
            return
        span = [f for f in self._frames if before.index <= f.index <= run.index]
        mid = None
        if len(span) == gap + 1:
            mid = blend_midpoint(
                [f.thumb.astype(np.float32) for f in span], [f.time_s for f in span]
            )
        # A wipe or push between two stills is no blend, but still one cut in its middle.
        self._pending.append(mid if mid is not None else (before.time_s + run.time_s) / 2)
