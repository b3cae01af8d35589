"""Camera-motion check: is the frame after a proposed cut the frame before, moved?

PySceneDetect's detectors fire on fast camera motion (a pan over a photograph, a zoom).
:func:`is_camera_motion` drops such a "cut" when the frame after it is a
shifted/scaled/rotated copy of the frame before: the level histograms agree, and an affine
ECC warp (started from phase correlation, fitted at half size) leaves a small residual.
Used by :class:`tasks.video.transitions.CutWatcher`.

Example:
    >>> flat = np.full((90, 160), 40, np.uint8)
    >>> is_camera_motion(flat, np.full((90, 160), 220, np.uint8))
    False
"""

from __future__ import annotations

import contextlib

import cv2
import numpy as np

__all__ = ["is_camera_motion"]


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
