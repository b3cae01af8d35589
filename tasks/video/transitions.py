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

Example:
    >>> watcher = CutWatcher([ContentDetector()], fps=12.5)  # doctest: +SKIP
    >>> manager.add_detector(watcher); manager.detect_scenes(video)  # doctest: +SKIP
    >>> watcher.cuts  # doctest: +SKIP
    [5.0, 19.04]
"""

from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

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
# Block means (colour) the change profile is measured on: coarse enough that a pan or the
# motion inside each shot barely moves them, and a blend of two frames stays a blend.
_BLOCKS = (8, 6)
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


def _warp_residual(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean absolute luma difference of ``b`` to ``a`` before and after global alignment."""
    fa = a.astype(np.float32)
    fb = b.astype(np.float32)
    raw = float(np.mean(np.abs(fa - fb)))
    # ECC is most of the cost (about 20 ms at 160 px): fit it at half size, where a pan
    # or zoom is as clear, and scale the shift back up.
    half_a, half_b = cv2.pyrDown(fa), cv2.pyrDown(fb)
    (dx, dy), _ = cv2.phaseCorrelate(half_a, half_b)
    warp = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    # Flat or unrelated frames: ECC cannot converge, keep the phase-correlation shift.
    with contextlib.suppress(cv2.error):
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-4)
        _, found = cv2.findTransformECC(half_a, half_b, warp, cv2.MOTION_AFFINE, criteria, None)
        warp = np.asarray(found, dtype=np.float32)
    scale = np.array([fa.shape[1] / half_a.shape[1], fa.shape[0] / half_a.shape[0]], np.float32)
    warp[:, 2] *= scale
    h, w = fa.shape
    aligned = cv2.warpAffine(fb, warp, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    valid = cv2.warpAffine(
        np.ones_like(fb), warp, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    )
    # Ignore a border where the warp pulled in pixels from outside either frame.
    inside = valid > 0.5
    inside[:2, :] = inside[-2:, :] = inside[:, :2] = inside[:, -2:] = False
    if inside.mean() < 0.4:
        return raw, raw
    return raw, float(np.mean(np.abs(aligned - fa)[inside]))


def _palette_kept(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two luma frames share most of their level histogram (as a pan's frames do)."""
    ha = cv2.calcHist([a], [0], None, [32], [0, 256])
    hb = cv2.calcHist([b], [0], None, [32], [0, 256])
    return float(np.minimum(ha, hb).sum() / max(1.0, float(ha.sum()))) >= 0.6


def is_camera_motion(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether ``after`` is ``before`` moved by the camera (pan, zoom, tilt), not a new shot.

    Args:
        before: luma frame (uint8, detect size) just before the proposed cut.
        after: luma frame at the proposed cut.

    Example:
        >>> img = np.random.default_rng(0).integers(0, 255, (90, 160)).astype(np.uint8)
        >>> img = cv2.GaussianBlur(img, (9, 9), 3) * 4
        >>> is_camera_motion(img, np.roll(img, 3, axis=1))
        True
    """
    if not _palette_kept(before, after):
        return False  # new levels everywhere: no warp of the old frame makes this one
    raw, aligned = _warp_residual(before, after)
    # Real cuts between unrelated frames stay far apart after any warp; a pan, once
    # aligned, leaves only interpolation and compression noise.
    return raw >= 4.0 and aligned <= max(4.0, 0.3 * raw)


def blend_midpoint(
    frames: list[np.ndarray], times: list[float], *, max_residual: float = 0.25
) -> float | None:
    """The time a cross-dissolve from ``frames[0]`` to ``frames[-1]`` is half done, if it is one.

    Each interior frame is fitted as ``(1 - a) * first + a * last``; the transition is a
    dissolve when every fit leaves under ``max_residual`` of the first-to-last difference
    and ``a`` rises through the span.

    Args:
        frames: float thumbnails, the still frame before the transition first, the one after
            it last.
        times: each frame's time in seconds.
        max_residual: largest allowed fit residual, relative to ``|last - first|``.

    Example:
        >>> a, b = np.zeros((2, 2)), np.full((2, 2), 100.0)
        >>> blend_midpoint([a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b], [0, 1, 2, 3])
        1.5
    """
    if len(frames) < 3:
        return None
    first, last = frames[0].ravel(), frames[-1].ravel()
    span = last - first
    norm = float(span @ span)
    if norm <= 0 or np.sqrt(norm / span.size) < 8.0:
        return None
    alphas = [0.0]
    for frame in frames[1:-1]:
        off = frame.ravel() - first
        a = float(off @ span) / norm
        if np.sqrt(float(((off - a * span) ** 2).sum()) / norm) > max_residual:
            return None
        if a < alphas[-1] - 0.1:
            return None
        alphas.append(a)
    alphas.append(1.0)
    for k in range(1, len(alphas)):
        if alphas[k] >= 0.5:
            lo, hi = alphas[k - 1], alphas[k]
            part = 0.5 if hi <= lo else (0.5 - lo) / (hi - lo)
            return round(times[k - 1] + min(1.0, max(0.0, part)) * (times[k] - times[k - 1]), 3)
    return None  # pragma: no cover - alphas ends at 1.0


@dataclass(frozen=True)
class Change:
    """How the picture changes around a proposed cut (see :func:`classify_change`).

    Attributes:
        kind: ``"cut"`` (one abrupt step), ``"dissolve"`` (a gradual blend), ``"gradual"``
            (steady change that is no blend: motion, animation) or ``"unclear"`` (the two
            sides look too alike to tell).
        time_s: where to cut: the abrupt step, or where a dissolve is half done.
        span: a dissolve's first and last frame times.
    """

    kind: str
    time_s: float | None = None
    span: tuple[float, float] | None = None


def classify_change(
    frames: list[np.ndarray],
    times: list[float],
    *,
    max_dissolve_s: float = 2.5,
    max_residual: float = 0.35,
) -> Change:
    """Tell an abrupt cut from a dissolve and from steady motion across ``frames``.

    Every frame is fitted as ``(1 - a) * first + a * last`` on coarse block means. A cut is
    one step of ``a`` of at least 0.4, or one frame-to-frame change four times those next to
    it (a cut between moving shots); a dissolve is ``a`` rising from 0.15 to 0.85 over 3 or
    more frames, at most ``max_dissolve_s``, each fit leaving under ``max_residual`` of the
    first-to-last difference; anything else that changes is motion or animation.

    Args:
        frames: colour thumbnails from well before to well after the proposed cut.
        times: each frame's time in seconds.
        max_dissolve_s: longest ramp taken for a dissolve.
        max_residual: largest fit residual in a dissolve, relative to ``|last - first|``.

    Example:
        >>> a, b = np.zeros((6, 8, 3)), np.full((6, 8, 3), 120.0)
        >>> ramp = [a, a, 0.8 * a + 0.2 * b, 0.4 * a + 0.6 * b, 0.1 * a + 0.9 * b, b, b]
        >>> classify_change(ramp, [0, 1, 2, 3, 4, 5, 6], max_dissolve_s=9)
        Change(kind='dissolve', time_s=2.75, span=(1, 4))
        >>> classify_change([a, a, b, b], [0, 1, 2, 3]).kind
        'cut'
    """
    feats = np.stack(
        [
            cv2.resize(f.astype(np.float32), _BLOCKS, interpolation=cv2.INTER_AREA).ravel()
            for f in frames
        ]
    ).astype(np.float64)
    span = feats[-1] - feats[0]
    norm = float(span @ span)
    if len(frames) < 3 or np.sqrt(norm / span.size) < 6.0:
        return Change("unclear")
    off = feats - feats[0]
    alpha = off @ span / norm
    resid = np.sqrt(((off - alpha[:, None] * span) ** 2).sum(axis=1) / norm)
    steps = np.diff(alpha)
    jump = int(np.argmax(steps))
    if steps[jump] >= 0.4:
        return Change("cut", round(times[jump + 1], 3))
    # A cut between two moving shots may move ``a`` less, but its step still stands out
    # from the steady change of the frames next to it (in a dissolve, they change alike).
    moves = np.sqrt(((feats[1:] - feats[:-1]) ** 2).mean(axis=1))
    spike = int(np.argmax(moves))
    near = np.concatenate([moves[max(0, spike - 2) : spike], moves[spike + 1 : spike + 3]])
    moving = float(np.median(moves)) >= 1.0
    if moving and near.size and moves[spike] >= max(8.0, 4.0 * float(np.median(near))):
        return Change("cut", round(times[spike + 1], 3))
    half = int(np.argmax(alpha >= 0.5))
    low = np.flatnonzero(alpha[:half] <= 0.15)
    high = np.flatnonzero(alpha[half:] >= 0.85)
    if half == 0 or not len(low) or not len(high):
        return _transition(feats, times, resid, max_residual, max_dissolve_s)
    i0, i1 = int(low[-1]), half + int(high[0])
    ramp = alpha[i0 : i1 + 1]
    dissolve = (
        i1 - i0 >= 3
        and times[i1] - times[i0] <= max_dissolve_s
        and float(resid[i0 : i1 + 1].max()) <= max_residual
        and bool(np.all(ramp >= np.maximum.accumulate(ramp) - 0.1))
        and float(alpha[:i0].max(initial=0.0)) <= 0.3
        and float(alpha[i1:].min()) >= 0.7
    )
    if not dissolve:
        return _transition(feats, times, resid, max_residual, max_dissolve_s)
    lo, hi = float(alpha[half - 1]), float(alpha[half])
    part = (0.5 - lo) / (hi - lo) if hi > lo else 0.5
    mid = times[half - 1] + part * (times[half] - times[half - 1])
    return Change("dissolve", round(mid, 3), (times[i0], times[i1]))


def _through_colour(
    feats: np.ndarray, times: list[float], resid: np.ndarray, max_residual: float
) -> Change | None:
    """A fade out to a colour (black, white) and in from it: two blend ramps, cut between.

    Only asked once a change looked gradual, so that it can never undo a cut or dissolve.
    """
    turn = int(np.argmax(resid))
    if turn in (0, len(feats) - 1) or float(resid[turn]) <= max_residual:
        return None
    for part in (feats[: turn + 1], feats[turn:]):
        span = part[-1] - part[0]
        norm = float(span @ span)
        if norm <= 0:
            return None
        off = part - part[0]
        alpha = off @ span / norm
        fit = np.sqrt(((off - alpha[:, None] * span) ** 2).sum(axis=1) / norm)
        if float(fit.max()) > max_residual or np.any(alpha < np.maximum.accumulate(alpha) - 0.1):
            return None
    return Change("dissolve", round(times[turn], 3), (times[0], times[-1]))


def _transition(
    feats: np.ndarray,
    times: list[float],
    resid: np.ndarray,
    max_residual: float,
    max_dissolve_s: float,
) -> Change:
    """A change that is no single blend: a fade through a colour, a wipe or push, or motion.

    A fade through a colour is two blend ramps, cut where they meet. A wipe or push is
    still before and after with a short change between, cut at its middle. Anything else
    changes steadily across the window: motion or animation, no cut.
    """
    dip = _through_colour(feats, times, resid, max_residual)
    if dip is not None:
        return dip
    moves = np.sqrt(((feats[1:] - feats[:-1]) ** 2).mean(axis=1))
    changing = np.flatnonzero(moves >= 1.0)
    if changing.size:
        first, last = int(changing[0]), int(changing[-1]) + 1
        still_ends = first >= 3 and last <= len(feats) - 4
        if still_ends and times[last] - times[first] <= max_dissolve_s:
            mid = round((times[first] + times[last]) / 2, 3)
            return Change("dissolve", mid, (times[first], times[last]))
    return Change("gradual")


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
