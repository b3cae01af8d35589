"""PP-OCR (the ONNX models RapidOCR ships) reading whole frames: text lines, then words.

The detector (DB, PP-OCRv4) finds text lines on the whole frame at 360 px on its short side,
so a title over a photograph or a busy texture is found whole instead of cut apart by
edge-based crops. Each line is cropped from the full-resolution frame and read by the
recogniser (CRNN + CTC, PP-OCRv4) at 48 px high; the CTC output is decoded here rather than
by RapidOCR, because its batched decode pads lines to one width and then runs words together
("Glacierscarved"), while one line per call keeps the spaces the model predicts. Each
word's confidence is the mean probability of its characters (0-1).

The weights ship inside the ``rapidocr-onnxruntime`` wheel: nothing is downloaded, and the
models are loaded once per process (``functools.cache``).

Example:
    >>> import numpy as np
    >>> read_frame_ppocr(np.zeros((90, 160, 3), np.uint8))
    []
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

__all__ = ["DET_SIDE", "load_ppocr", "read_frame_ppocr"]

# Short side the detector sees: 360 keeps 640x360 frames at their size (det ~0.1 s on one
# core) and halves 720p ones; lines are still read from the full-resolution frame.
DET_SIDE = 360
_REC_HEIGHT = 48
_lock = threading.Lock()


@functools.cache
def load_ppocr(threads: int = 1) -> Any:
    """RapidOCR's detector and recogniser sessions, loaded once per process.

    One intra-op thread by default: OCR runs beside speech recognition on the same cores,
    and lines are small, so more threads mostly add contention.

    Example:
        >>> engine = load_ppocr()  # doctest: +SKIP
    """
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(
        use_cls=False,
        det_limit_side_len=DET_SIDE,
        det_limit_type="min",
        intra_op_num_threads=threads,
        inter_op_num_threads=1,
    )


def _line_boxes(engine: Any, frame: np.ndarray) -> list[tuple[int, int, int, int]]:
    boxes, _ = engine.text_det(frame)
    out: list[tuple[int, int, int, int]] = []
    height, width = frame.shape[:2]
    for box in boxes if boxes is not None else []:
        x0, y0 = np.floor(box.min(axis=0)).astype(int)
        x1, y1 = np.ceil(box.max(axis=0)).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        if y1 - y0 >= 6 and x1 - x0 >= 6:
            out.append((x0, y0, x1, y1))
    # Reading order: top to bottom, then left to right within a band of half a line.
    out.sort(key=lambda b: (round(b[1] / max(4, (b[3] - b[1]) / 2)), b[0]))
    return out


def _inside_box(crop: np.ndarray) -> tuple[int, int, int, int]:
    """The crop without the edge of a text box it hugs (the recogniser reads such edges).

    The detector's line box often ends on the edge of a caption box ("Wildlife guide" on a
    white box over green came out "Wildifeuidepa"); rows and columns at the crop's border
    that are uniform and differ from the crop's median grey by more than 40 are trimmed, at most a
    fifth of the height and a tenth of the width per side. Returns ``(top, bottom, left,
    right)`` of what is kept.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    median = float(np.median(gray))
    height, width = gray.shape

    def edge(line: np.ndarray) -> bool:
        # A box edge is a uniform line unlike the inside; a photo's rows are not uniform.
        return abs(float(line.mean()) - median) > 40 and float(line.std()) < 20

    top, bottom, left, right = 0, height, 0, width
    while top < height // 5 and edge(gray[top]):
        top += 1
    while height - bottom < height // 5 and edge(gray[bottom - 1]):
        bottom -= 1
    while left < width // 10 and edge(gray[top:bottom, left]):
        left += 1
    while width - right < width // 10 and edge(gray[top:bottom, right - 1]):
        right -= 1
    return top, bottom, left, right


def _word_gaps(crop: np.ndarray) -> list[float]:
    """Centres (0-1 of the crop's width) of blank column runs wide enough to be word spaces.

    PP-OCR's recogniser often runs words of a title together ("FRESHHERBS"); the pixels
    still show the space. Ink is the Otsu class the crop's border is not (the crop is the
    line box grown by a quarter of its height); when the border is itself mixed (a band's
    edge, a photo) ink is the minority class of the middle rows. A blank run at least 0.28
    of the ink's height wide is a space (letter gaps are ~0.1 of it). Over a busy
    background no column is blank, so nothing is added there.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    _, bw = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    border = float(np.concatenate([bw[0], bw[-1], bw[:, 0], bw[:, -1]]).mean())
    if 0.25 < border < 0.75:
        height = bw.shape[0]
        border = float(bw[height // 3 : height - height // 3].mean())
    return _blank_runs(bw if border < 0.5 else 1 - bw)


def _blank_runs(ink: np.ndarray) -> list[float]:
    rows = np.flatnonzero(ink.sum(axis=1))
    cols = ink.sum(axis=0) > 0
    if rows.size == 0 or not cols.any():
        return []
    height = rows[-1] - rows[0] + 1
    first, last = np.flatnonzero(cols)[[0, -1]]
    gaps: list[float] = []
    run = 0
    for x in range(first, last + 1):
        if cols[x]:
            if run >= max(2, 0.28 * height):
                gaps.append((x - run / 2) / len(cols))
            run = 0
        else:
            run += 1
    return gaps


def _decode(
    preds: np.ndarray, charset: list[str], gaps: Sequence[float] = ()
) -> list[tuple[str, float]]:
    """Greedy CTC decode of one line into ``(word, mean char probability)``.

    ``gaps`` (0-1 of the line's width, from :func:`_word_gaps`) split words the model ran
    together: a space goes between two characters whose positions straddle a gap.
    """
    idx = preds.argmax(axis=1)
    prob = preds.max(axis=1)
    steps = len(idx)
    words: list[tuple[str, float]] = []
    chars: list[str] = []
    probs: list[float] = []
    previous = -1
    last_t = -1
    pending = sorted(gaps)
    for t, k in enumerate(idx):
        if k != 0 and k != previous:
            ch = charset[k]
            here = (t + 0.5) / steps
            split = any(last_t >= 0 and (last_t + 0.5) / steps < g < here for g in pending)
            pending = [g for g in pending if g >= here]
            if (ch == " " or split) and chars:
                words.append(("".join(chars), float(np.mean(probs))))
                chars, probs = [], []
            if ch != " ":
                chars.append(ch)
                probs.append(float(prob[t]))
                last_t = t
            else:
                last_t = -1
        previous = int(k)
    if chars:
        words.append(("".join(chars), float(np.mean(probs))))
    return words


def read_frame_ppocr(frame: np.ndarray, *, threads: int = 1) -> list[tuple[str, float]]:
    """Every word PP-OCR reads on ``frame`` (BGR), in reading order, with confidence 0-1.

    Args:
        frame: ``uint8`` BGR (or grey) image of any size.
        threads: ONNX Runtime intra-op threads for the (cached) sessions.

    Returns:
        ``(word, confidence)`` pairs, unfiltered (see :func:`tasks.video.ocr.clean_words`).

    Example:
        >>> read_frame_ppocr(np.full((360, 640, 3), 255, np.uint8))
        []
    """
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    engine = load_ppocr(threads)
    charset: list[str] = engine.text_rec.postprocess_op.character
    # RapidOCR's detector keeps per-call state on itself (its resize op), so threads of one
    # process (Dask worker threads) take turns there; ONNX Runtime sessions themselves are
    # thread-safe, so recognition runs concurrently.
    with _lock:
        boxes = _line_boxes(engine, frame)
    words: list[tuple[str, float]] = []
    for x0, y0, x1, y1 in boxes:
        top, bottom, left, right = _inside_box(frame[y0:y1, x0:x1])
        crop = frame[y0 + top : y0 + bottom, x0 + left : x0 + right]
        # Spaces are measured on the line box grown by a quarter of its height, so its
        # border is background (big titles touch their tight box), then placed in the
        # trimmed crop's coordinates.
        pad = (y1 - y0) // 4
        ex0, ey0 = max(0, x0 - pad), max(0, y0 - pad)
        grown = frame[ey0 : min(frame.shape[0], y1 + pad), ex0 : min(frame.shape[1], x1 + pad)]
        shift = x0 + left - ex0
        gaps = [(g * grown.shape[1] - shift) / crop.shape[1] for g in _word_gaps(grown)]
        width = max(8, round(_REC_HEIGHT * crop.shape[1] / crop.shape[0]))
        line = cv2.resize(crop, (width, _REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
        blob = (line.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0)[None]
        preds = engine.text_rec.session(blob)[0][0]
        words.extend(_decode(preds, charset, gaps))
    return words
