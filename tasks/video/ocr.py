"""On-screen text: tesseract on the text regions of each scene's keyframes.

Full-frame tesseract costs about 0.44 s per 640x360 frame and reads little on coloured
backgrounds. Instead, per keyframe:

1. find text-like regions with a morphological gradient, a threshold and a horizontal close
   (OpenCV, about 1 ms); a frame without such regions is skipped;
2. crop each region, binarise it (Otsu; dark text on white) and scale its height so the
   glyphs are about 30-60 px, which tesseract reads best;
3. skip crops already read (same binarised thumbnail) - static titles repeat across frames;
4. stack the remaining crops of a scene into one image: one tesseract call per scene.

Words are then cleaned of OCR noise: low confidence, single characters, tokens without a
letter or digit, or mostly punctuation. Each scene keeps its distinct words in reading order.

Example:
    >>> ocr_for_scenes(keyframes)  # doctest: +SKIP
    ['', 'EXIT GATE', 'WELCOME', 'PIZZA MENU', '', '']
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

import cv2
import numpy as np

from tasks.video.stagelog import stage_logger

__all__ = ["clean_words", "ocr_for_scenes", "read_text", "text_regions"]

MIN_CONFIDENCE = 60.0
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.\-]*[A-Za-z0-9]|[0-9]")
_WORK_WIDTH = 640
_TARGET_HEIGHT = 48


def text_regions(frame: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x, y, w, h)`` in ``frame`` coordinates that look like lines of text.

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
        edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (17, 3))
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
        pad = max(2, h // 4)
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(small_w, x + w + pad), min(small_h, y + h + pad)
        boxes.append(
            (
                int(x0 / scale),
                int(y0 / scale),
                int((x1 - x0) / scale),
                int((y1 - y0) / scale),
            )
        )
    boxes.sort(key=lambda b: (b[1], b[0]))
    return boxes


def _binarised(crop: np.ndarray) -> np.ndarray:
    """Dark text on white: adaptive threshold, after inverting light-on-dark text.

    A global (Otsu) threshold fails on a text box over a coloured background (three grey
    levels); a local threshold the size of a glyph reads the box's inside correctly.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    factor = min(3.0, max(0.5, (_TARGET_HEIGHT * 2) / gray.shape[0]))
    if abs(factor - 1.0) > 0.1:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    h, w = gray.shape
    band = gray[h // 4 : h - h // 4, w // 10 : w - w // 10]
    level, _ = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Text is the minority class of the middle band: bright minority means light text.
    if np.count_nonzero(band > level) < band.size / 2:
        gray = 255 - gray
    bw = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 15)
    # Drop ink as tall or wide as the crop: the frame of a text box, not a glyph. Tesseract
    # treats boxed text as a picture and reads nothing from it.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(255 - bw, connectivity=8)
    frames = [
        label
        for label in range(1, count)
        if stats[label, cv2.CC_STAT_WIDTH] > 0.8 * w or stats[label, cv2.CC_STAT_HEIGHT] > 0.85 * h
    ]
    if frames:
        bw[np.isin(labels, frames)] = 255
    return cv2.copyMakeBorder(bw, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)


def _signature(bw: np.ndarray) -> bytes:
    small = cv2.resize(bw, (48, 12), interpolation=cv2.INTER_AREA)
    return (small > 127).tobytes()


def clean_words(words: list[str], confidences: list[float]) -> list[str]:
    """Keep words tesseract is sure of that look like words, without repeats.

    Example:
        >>> clean_words(["EXIT", "|", "G@", "GATE", "a", "EXIT"], [96, 90, 30, 95, 95, 91])
        ['EXIT', 'GATE']
    """
    kept: list[str] = []
    seen: set[str] = set()
    for raw, conf in zip(words, confidences, strict=True):
        if conf < MIN_CONFIDENCE:
            continue
        match = _WORD.search(raw.strip())
        if not match:
            continue
        word = match.group(0)
        if len(word) < 2 and not word.isdigit():
            continue
        if sum(c.isalnum() for c in word) < 0.7 * len(word):
            continue
        if word.isalpha() and len(word) > 3 and not re.search(r"[aeiouyAEIOUY]", word):
            continue  # letter salad from textures, e.g. "Xkcdrt"
        if word.lower() in seen:
            continue
        seen.add(word.lower())
        kept.append(word)
    return kept


@dataclass(frozen=True)
class _Word:
    text: str
    conf: float
    top: int
    height: int


def _tesseract(image: np.ndarray, *, psm: int = 6) -> list[_Word]:
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
    words: list[_Word] = []
    for line in done.stdout.decode(errors="replace").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 12 or not cols[11].strip():
            continue
        words.append(_Word(cols[11], float(cols[10]), int(cols[7]), int(cols[9])))
    return words


def read_text(image: np.ndarray, *, psm: int = 6) -> list[str]:
    """Run tesseract once on a prepared (binarised) image and return the clean words.

    Example:
        >>> read_text(np.full((40, 200), 255, np.uint8))
        []
    """
    words = _tesseract(image, psm=psm)
    return clean_words([w.text for w in words], [w.conf for w in words])


def ocr_for_scenes(keyframes: list[list[np.ndarray]]) -> list[str]:
    """The cleaned on-screen text of each scene from its keyframes.

    Every distinct text crop of the whole video is stacked into as few images as possible
    (tesseract's start-up, about 0.1 s, dominates reading one short line), and each word
    read is mapped back to its crop, and so to its scene, by its vertical position.

    Args:
        keyframes: per scene, its keyframes (BGR), as from ``extract_keyframes``.

    Returns:
        One string per scene: its distinct words in reading order ("" when none).

    Example:
        >>> ocr_for_scenes([[np.zeros((90, 160, 3), np.uint8)]])
        ['']
    """
    log = stage_logger()
    owners: dict[bytes, list[int]] = {}
    crops: dict[bytes, np.ndarray] = {}
    for scene, frames in enumerate(keyframes):
        for frame in frames:
            for x, y, w, h in text_regions(frame):
                bw = _binarised(frame[y : y + h, x : x + w])
                sig = _signature(bw)
                crops.setdefault(sig, bw)
                if scene not in owners.setdefault(sig, []):
                    owners[sig].append(scene)
    raw: list[list[tuple[str, float]]] = [[] for _ in keyframes]
    sigs = list(crops)
    calls = 0
    for batch in _batches([crops[s] for s in sigs], _MAX_STACK_HEIGHT):
        parts = [crops[sigs[i]] for i in batch]
        image, rows = _stack(parts)
        calls += 1
        for word in _tesseract(image):
            middle = word.top + word.height // 2
            for k, (y0, y1) in enumerate(rows):
                if y0 <= middle < y1:
                    for scene in owners[sigs[batch[k]]]:
                        raw[scene].append((word.text, word.conf))
                    break
    texts = [" ".join(clean_words([w for w, _ in words], [c for _, c in words])) for words in raw]
    log.info("ocr: %d scenes, %d text crops, %d tesseract calls", len(keyframes), len(sigs), calls)
    return texts


_MAX_STACK_HEIGHT = 8000
_GAP = 16


def _batches(parts: list[np.ndarray], max_height: int) -> list[list[int]]:
    batches: list[list[int]] = []
    height = max_height + 1
    for i, part in enumerate(parts):
        if height + part.shape[0] + _GAP > max_height:
            batches.append([])
            height = 0
        batches[-1].append(i)
        height += part.shape[0] + _GAP
    return batches


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
