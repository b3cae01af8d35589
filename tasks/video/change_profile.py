"""Change profile: tell an abrupt cut from a dissolve, a fade, a wipe and steady motion.

Coarse block means of each frame around a proposed cut are fitted as blends
``(1 - a) * A + a * B`` of the two ends (:func:`classify_change`). One abrupt step of ``a``
is a cut; a ramp of good blends is a dissolve, cut where ``a`` crosses 0.5; two ramps are
a fade through a colour, cut at the turn; still ends with a short change between are a
wipe or push, cut at its middle; steady change that is no blend (animation, a moving shot)
is no cut. :func:`blend_midpoint` finds where a dissolve between two still frames is half
done. Used by :class:`tasks.video.transitions.CutWatcher`.

Example:
    >>> a, b = np.zeros((6, 8, 3)), np.full((6, 8, 3), 120.0)
    >>> classify_change([a, a, b, b], [0, 1, 2, 3])
    Change(kind='cut', time_s=2, span=None)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Change", "blend_midpoint", "classify_change"]

# Block means (colour) the change profile is measured on: coarse enough that a pan or the
# motion inside each shot barely moves them, and a blend of two frames stays a blend.
_BLOCKS = (8, 6)


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
