"""Tesseract readers, kept as measured alternatives to PP-OCR (``bench/bench_ocr.py``).

Two ways to give tesseract a frame:

- :func:`read_frame_tesseract`: the whole frame, grey, upscaled so small type is ~2x,
  light-on-dark frames inverted, with a page segmentation mode (11 = sparse text, 6 = one
  block, 3 = automatic);
- :func:`read_frame_regions`: text-like regions (morphological gradient, a threshold and a
  horizontal close as wide as a word gap, so a region covers a whole line), padded by half a
  line, binarised with polarity detection and stacked into one image for one call.

Both return ``(word, confidence 0-1)`` pairs, unfiltered.

Example:
    >>> import numpy as np
    >>> read_frame_regions(np.zeros((90, 160, 3), np.uint8))
    []
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["TessWord", "read_frame_regions", "read_frame_tesseract", "tesseract", "text_regions"]

_WORK_WIDTH = 640
_GAP = 16


@dataclass(frozen=True)
class TessWord:
    """One word of tesseract's TSV output (confidence 0-1, box top and height in px)."""

    text: str
    conf: float
    top: int
    height: int


def tesseract(image: np.ndarray, *, psm: int = 6) -> list[TessWord]:
    """Run ``tesseract`` once on ``image`` and parse its TSV words.

    Example:
        >>> tesseract(np.full((40, 200), 255, np.uint8))
        []
    """
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("ocr: could not encode image for tesseract")
    # One thread per call: tesseract's OpenMP start-up costs more than it gains on small images.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "--psm", str(psm), "--oem", "1", "tsv"],
            input=png.tobytes(),
            capture_output=True,
            env=env,
            timeout=120,
        )
    except FileNotFoundError as exc:
        raise RuntimeError("tesseract not found on PATH (make setup installs it)") from exc
    if done.returncode != 0:
        raise RuntimeError(f"tesseract failed: {done.stderr.decode(errors='replace').strip()}")
    words: list[TessWord] = []
    for line in done.stdout.decode(errors="replace").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 12 or not cols[11].strip():
            continue
        words.append(TessWord(cols[11], float(cols[10]) / 100.0, int(cols[7]), int(cols[9])))
    return words


def read_frame_tesseract(frame: np.ndarray, *, psm: int = 11) -> list[tuple[str, float]]:
    """Tesseract on the whole frame, grey, scaled to 1280 px wide, dark frames inverted.

    Example:
        >>> read_frame_tesseract(np.full((360, 640, 3), 255, np.uint8))
        []
    """
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    # ~2x for 640-px keyframes: lower-third type (12-16 px) is below tesseract's comfort.
    factor = 1280 / gray.shape[1]
    if abs(factor - 1.0) > 0.05:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    if gray.mean() < 110:
        gray = 255 - gray  # tesseract reads dark text on a light page best
    return [(w.text, w.conf) for w in tesseract(gray, psm=psm)]


def text_regions(frame: np.ndarray, *, close_width: int = 31) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x, y, w, h)`` in ``frame`` coordinates that look like whole lines of text.

    ``close_width`` (px at 640 wide) joins the letters and words of a line; padding of half
    a line keeps descenders and the first and last letters inside the box.

    Example:
        >>> text_regions(np.zeros((90, 160, 3), np.uint8))
        []
    """
    height, width = frame.shape[:2]
    scale = min(1.0, _WORK_WIDTH / width)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    if scale < 1.0:
        gray = cv2.resize(gray, (round(width * scale), round(height * scale)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, kernel)
    # A fixed floor keeps flat or noisy frames (Otsu on near-zero gradients) from lighting up.
    _, edges = cv2.threshold(grad, 60, 255, cv2.THRESH_BINARY)
    joined = cv2.morphologyEx(
        edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (close_width, 5))
    )
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[tuple[int, int, int, int]] = []
    small_h, small_w = gray.shape[:2]
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if h < 8 or w < 16 or h > small_h * 0.6 or w < h * 0.8:
            continue
        density = cv2.countNonZero(edges[y : y + h, x : x + w]) / float(w * h)
        if density < 0.08 or density > 0.9:
            continue
        pad = max(3, h // 2)
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(small_w, x + w + pad), min(small_h, y + h + pad)
        boxes.append(
            (int(x0 / scale), int(y0 / scale), int((x1 - x0) / scale), int((y1 - y0) / scale))
        )
    boxes.sort(key=lambda b: (b[1], b[0]))
    return boxes


def _binarised(crop: np.ndarray) -> np.ndarray:
    """Dark text on white, ~48 px glyphs: Otsu after inverting light-on-dark text.

    The crop's border is background (the box is padded), so a dark border means light text.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    factor = min(4.0, max(0.5, 96 / gray.shape[0]))
    if abs(factor - 1.0) > 0.1:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    border = np.concatenate(
        [bw[:2].ravel(), bw[-2:].ravel(), bw[:, :2].ravel(), bw[:, -2:].ravel()]
    )
    if border.mean() < 127:
        bw = 255 - bw
    return cv2.copyMakeBorder(bw, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)


def _stack(parts: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    width = max(p.shape[1] for p in parts)
    rows: list[tuple[int, int]] = []
    padded: list[np.ndarray] = []
    top = 0
    for part in parts:
        height = part.shape[0] + _GAP
        padded.append(
            cv2.copyMakeBorder(
                part, 0, _GAP, 0, width - part.shape[1], cv2.BORDER_CONSTANT, value=255
            )
        )
        rows.append((top, top + height))
        top += height
    return np.vstack(padded), rows


def read_frame_regions(frame: np.ndarray, *, close_width: int = 31) -> list[tuple[str, float]]:
    """Tesseract (psm 6) on the frame's merged, padded text regions, stacked into one image.

    Example:
        >>> read_frame_regions(np.full((360, 640, 3), 128, np.uint8))
        []
    """
    parts = [
        _binarised(frame[y : y + h, x : x + w])
        for x, y, w, h in text_regions(frame, close_width=close_width)
    ]
    if not parts:
        return []
    image, _ = _stack(parts)
    return [(w.text, w.conf) for w in tesseract(image, psm=6)]
